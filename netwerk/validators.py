"""Checks on Dutch identifiers and names, shared by forms, the API and operations."""

from __future__ import annotations

import re
from datetime import date, datetime

# Lower-case name parts (tussenvoegsels) that initials skip: "de Vries" gives "V".
PREFIXES = {"van", "de", "der", "den", "het", "ter", "ten", "te", "in", "'t", "la", "le", "du", "da", "op"}


def bsn_valid(bsn: str) -> bool:
    """The elfproef: nine digits (eight with an implied leading zero), weights 9..2 and -1,
    sum divisible by 11, and not all zeros."""
    digits = bsn.strip()
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not (digits.isascii() and digits.isdigit()) or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def normalise_bsn(bsn: str) -> str:
    digits = bsn.strip()
    return digits.zfill(9) if len(digits) == 8 else digits


def initials(first_name: str, last_name: str) -> str:
    main = [part for part in last_name.split() if part.lower() not in PREFIXES] or last_name.split()
    letters = [first_name.strip()[:1], main[0][:1] if main else ""]
    return "".join(f"{letter.upper()}." for letter in letters if letter)


def pseudonym(first_name: str, last_name: str, birth_year: int) -> str:
    """What lists show instead of a name, e.g. "J.B. (2009)"."""
    return f"{initials(first_name, last_name)} ({birth_year})"


_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]{5,19}")
# Letters and digits (a badge number), spaces and . ' - ( ) & /: no markup, no line breaks.
_CONTACT_NAME = re.compile(r"[\w .'()&/\-]+")


def phone_valid(value: str) -> bool:
    """A phone number: digits with spaces, dashes, brackets and a leading +; nothing else,
    so the "that" layer cannot carry words about a case in a contact field."""
    return bool(_PHONE.fullmatch(value.strip()))


def contact_name_valid(value: str) -> bool:
    value = value.strip()
    return (2 <= len(value) <= 100 and bool(_CONTACT_NAME.fullmatch(value))
            and any(ch.isalpha() for ch in value))


FIRST_YEAR, LAST_YEAR = 2000, 2200  # a date filter outside this is a typing error


def parse_day(raw: str) -> date:
    """ISO (what a date input sends) or the Dutch dd-mm-jjjj someone types; ValueError else."""
    raw = raw.strip()
    return datetime.strptime(raw, "%d-%m-%Y").date() if "-" in raw[:3] else date.fromisoformat(raw)


def day_field(raw: str | None, what: str, errors: list[str]) -> date | None:
    """A date typed in a filter (:func:`parse_day`). Empty is None; anything unreadable or
    out of range adds a Dutch message naming ``what`` to ``errors`` and gives None."""
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        day = parse_day(raw)
    except ValueError:
        errors.append(f"De datum bij '{what}' is geen geldige datum (gebruik dd-mm-jjjj).")
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors.append(f"De datum bij '{what}' moet tussen {FIRST_YEAR} en {LAST_YEAR} liggen.")
        return None
    return day


def small_number(value: object, digits: int = 9) -> int | None:
    """A whole number typed or posted as text (a form's version, an id in a query string):
    ASCII digits only ("²".isdigit() is true, int("²") fails) and at most ``digits`` of them
    (a database integer holds 9 safely); None for anything else."""
    text = str(value).strip() if value is not None else ""
    if not text or len(text) > digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
