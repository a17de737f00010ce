"""An iCalendar (RFC 5545) feed of a user's meetings: name, time, place — nothing about a
family. Written by hand: the format is small, and times are given in UTC (converted from
the meeting's Amsterdam wall-clock time), so no VTIMEZONE block is needed."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from meetings.models import TIMEZONE, Meeting

PRODUCT = "-//Netwerk//Overleggen//NL"


def escape(value: str) -> str:
    """TEXT escaping (RFC 5545 3.3.11); control characters are dropped."""
    value = "".join(ch for ch in value if ch == "\n" or ord(ch) >= 32)
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after CRLF and a space,
    without splitting a UTF-8 character."""
    out, current = [], b""
    for ch in line:
        encoded = ch.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current)
            current = b""
        current += encoded
    out.append(current)
    return "\r\n ".join(part.decode() for part in out)


def _utc(meeting: Meeting, minutes: int = 0) -> str:
    local = datetime.combine(meeting.date, meeting.start_time, tzinfo=ZoneInfo(TIMEZONE))
    return (local + timedelta(minutes=minutes)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(meetings: Iterable[Meeting], name: str, now: datetime) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODUCT}", "CALSCALE:GREGORIAN",
             f"X-WR-CALNAME:{escape(name)}"]
    for meeting in meetings:
        lines += [
            "BEGIN:VEVENT",
            f"UID:meeting-{meeting.id}@netwerk",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(meeting)}",
            f"DTEND:{_utc(meeting, meeting.duration_minutes)}",
            f"SUMMARY:{escape(meeting.overleg.name)}",
            f"LOCATION:{escape(meeting.place)}",
            "STATUS:CONFIRMED",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
