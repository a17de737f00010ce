"""Dutch working days: Monday to Friday except the national public holidays.

Deadlines in Netwerk are counted in working days (reminders, the SMART checker's "binnen 5
werkdagen", escalation response times), and a meeting rhythm skips holidays, so all of
them use this one calendar.

The holidays are the ones the Algemene termijnenwet and most collective agreements in the
public sector observe: Nieuwjaarsdag, Goede Vrijdag, Eerste en Tweede Paasdag, Koningsdag
(27 April, or 26 April when the 27th is a Sunday), Bevrijdingsdag (5 May, observed as a
day off in lustrum years only: 2025, 2030, …), Hemelvaartsdag, Eerste en Tweede
Pinksterdag, Eerste en Tweede Kerstdag. Goede Vrijdag is included because youth-care and
municipal offices close on it in practice.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter (the anonymous "Meeus/Jones/Butcher" computation)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_shift = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_shift) // 451
    month, day = divmod(h + weekday_shift - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def dutch_holidays(year: int) -> dict[date, str]:
    easter = easter_sunday(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day = date(year, 4, 26)
    days = {
        date(year, 1, 1): "Nieuwjaarsdag",
        easter - timedelta(days=2): "Goede Vrijdag",
        easter: "Eerste Paasdag",
        easter + timedelta(days=1): "Tweede Paasdag",
        kings_day: "Koningsdag",
        easter + timedelta(days=39): "Hemelvaartsdag",
        easter + timedelta(days=49): "Eerste Pinksterdag",
        easter + timedelta(days=50): "Tweede Pinksterdag",
        date(year, 12, 25): "Eerste Kerstdag",
        date(year, 12, 26): "Tweede Kerstdag",
    }
    if year % 5 == 0:
        days[date(year, 5, 5)] = "Bevrijdingsdag"
    return days


def holiday_name(day: date) -> str | None:
    return dutch_holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in dutch_holidays(day.year)


def add_working_days(start: date, count: int) -> date:
    """The date ``count`` working days after ``start`` (``start`` itself never counts)."""
    day, left = start, max(count, 0)
    while left:
        day += timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        count += is_working_day(day)
    return count
