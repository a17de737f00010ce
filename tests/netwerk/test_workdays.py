"""The Dutch working-day calendar: holidays checked against published dates, and counting
across weekends and holidays."""

from __future__ import annotations

from datetime import date

import pytest

from netwerk.workdays import (
    add_working_days,
    dutch_holidays,
    easter_sunday,
    holiday_name,
    is_working_day,
    working_days_between,
)


@pytest.mark.parametrize(("year", "easter"), [
    (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)),
    (2027, date(2027, 3, 28)), (2028, date(2028, 4, 16)), (2030, date(2030, 4, 21)),
    (2038, date(2038, 4, 25)), (2285, date(2285, 3, 22)),
])
def test_easter_matches_the_published_dates(year, easter):
    assert easter_sunday(year) == easter


def test_the_2026_holidays():
    assert dutch_holidays(2026) == {
        date(2026, 1, 1): "Nieuwjaarsdag", date(2026, 4, 3): "Goede Vrijdag", date(2026, 4, 5): "Eerste Paasdag",
        date(2026, 4, 6): "Tweede Paasdag", date(2026, 4, 27): "Koningsdag", date(2026, 5, 14): "Hemelvaartsdag",
        date(2026, 5, 24): "Eerste Pinksterdag", date(2026, 5, 25): "Tweede Pinksterdag",
        date(2026, 12, 25): "Eerste Kerstdag", date(2026, 12, 26): "Tweede Kerstdag",
    }


def test_kings_day_moves_to_saturday_when_the_27th_is_a_sunday_and_liberation_day_counts_in_lustrum_years():
    assert holiday_name(date(2025, 4, 26)) == "Koningsdag" and holiday_name(date(2025, 4, 27)) is None
    assert holiday_name(date(2025, 5, 5)) == "Bevrijdingsdag"
    assert holiday_name(date(2026, 5, 5)) is None


@pytest.mark.parametrize(("start", "count", "expected"), [
    (date(2026, 11, 20), 1, date(2026, 11, 23)),  # Friday + 1 → Monday
    (date(2026, 11, 23), 5, date(2026, 11, 30)),  # a whole week
    (date(2026, 12, 23), 3, date(2026, 12, 29)),  # over Christmas (Fri 25, Sat 26) and a weekend
    (date(2026, 4, 2), 1, date(2026, 4, 7)),  # Thursday before Easter: Good Friday, weekend, Easter Monday
    (date(2026, 5, 13), 1, date(2026, 5, 15)),  # over Ascension Day
    (date(2026, 11, 23), 0, date(2026, 11, 23)),
    (date(2026, 11, 23), -3, date(2026, 11, 23)),
])
def test_adding_working_days_skips_weekends_and_holidays(start, count, expected):
    assert add_working_days(start, count) == expected


def test_counting_working_days_between_two_dates():
    assert working_days_between(date(2026, 12, 23), date(2026, 12, 29)) == 3
    assert working_days_between(date(2026, 12, 29), date(2026, 12, 23)) == 0
    assert working_days_between(date(2026, 11, 23), date(2026, 11, 23)) == 0
    for start in (date(2026, 1, 2), date(2026, 4, 1), date(2026, 12, 20)):
        for count in range(0, 30):
            assert working_days_between(start, add_working_days(start, count)) == count


def test_weekends_and_holidays_are_not_working_days():
    assert not is_working_day(date(2026, 11, 21))  # Saturday
    assert not is_working_day(date(2026, 12, 25))
    assert is_working_day(date(2026, 11, 23))
