"""The quarterly escalation report of an overleg: how many cases stalled, by which rule, up
to which level of the ladder, and the median time from raising to resolution — figures
only, never a family. Shown as a page with a server-rendered SVG chart (no JavaScript, no
CDN) and exported as CSV through ``privacy.csvsafe`` (safe against formula injection).

The arithmetic (:func:`parse_quarter`, :func:`summarise`, :func:`bar_chart`) is pure so it
is tested without a database; :func:`quarter_report` loads one overleg's quarter.
"""

from __future__ import annotations

import re
import statistics
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from html import escape

from sqlalchemy import select

from escalation.models import OPEN_STATUSES, RULE_CODES, Escalation, EscalationStep, LadderLevel
from netwerk.db import db

QUARTER_RE = re.compile(r"^\s*(\d{4})\s*-?\s*[KkQq](\d{1,2})\s*$", re.ASCII)  # ASCII: "२०२६" is no year
FIRST_YEAR, LAST_YEAR = 2000, 2100
BAD_QUARTER = "Geen bestaand kwartaal: kies een jaar en kwartaal 1 tot en met 4, bijvoorbeeld {example}."
MANUAL = "handmatig"
RESOLVED = ("opgelost", "afgeschaald")  # a case that came loose, by a decision or by stepping down
LEVEL_NAMES = {0: "Niveau 0", 1: "Niveau 1", 2: "Niveau 2", 3: "Niveau 3"}


class QuarterError(ValueError):
    """An impossible quarter; ``message`` is Dutch and safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @property
    def label(self) -> str:
        return f"{self.year}-K{self.number}"

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The first day after the quarter."""
        return date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)

    def bounds(self) -> tuple[datetime, datetime]:
        return (datetime.combine(self.start, time(), tzinfo=UTC), datetime.combine(self.end, time(), tzinfo=UTC))


def quarter_of(day: date) -> Quarter:
    return Quarter(day.year, (day.month - 1) // 3 + 1)


def parse_quarter(value: str | None, today: date) -> Quarter:
    """``2026-K4`` (or ``2026-Q4``, ``2026K4``); empty: the current quarter."""
    if value is None or not value.strip():
        return quarter_of(today)
    example = quarter_of(today).label
    found = QUARTER_RE.match(value)
    if found is None:
        raise QuarterError(BAD_QUARTER.format(example=example))
    year, number = int(found.group(1)), int(found.group(2))
    if not 1 <= number <= 4 or not FIRST_YEAR <= year <= LAST_YEAR:
        raise QuarterError(BAD_QUARTER.format(example=example))
    return Quarter(year, number)


@dataclass(frozen=True)
class Case:
    """What the report needs of one escalation (no family, no text)."""

    rule_code: str | None
    status: str
    level_reached: int
    proposed_at: datetime
    raised_at: datetime | None
    closed_at: datetime | None


@dataclass
class Summary:
    quarter: Quarter
    proposed: int = 0  # cases that stalled: every proposal of the quarter
    raised: int = 0  # of which actually escalated
    resolved: int = 0
    open: int = 0
    per_rule: dict[str, int] = field(default_factory=dict)  # rule code (or "handmatig") -> proposals
    per_level: dict[int, int] = field(default_factory=dict)  # highest level reached -> raised cases
    median_days: float | None = None  # raising -> resolution, of the resolved ones

    def rows(self, overleg_name: str) -> list[list[object]]:
        """The CSV lines: one figure per row, so a spreadsheet can pivot them."""
        q = self.quarter.label
        rows: list[list[object]] = [
            [overleg_name, q, "vastgelopen zaken", "", self.proposed],
            [overleg_name, q, "opgeschaald", "", self.raised],
            [overleg_name, q, "opgelost of afgeschaald", "", self.resolved],
            [overleg_name, q, "nog open", "", self.open],
        ]
        rows += [[overleg_name, q, "per regel", rule_label(code), n] for code, n in self.per_rule.items()]
        rows += [[overleg_name, q, "hoogste niveau", LEVEL_NAMES[level], n] for level, n in self.per_level.items()]
        median = "" if self.median_days is None else round(self.median_days, 1)
        rows.append([overleg_name, q, "mediane doorlooptijd (dagen)", "", median])
        return rows


CSV_HEADER = ("overleg", "kwartaal", "maatstaf", "onderdeel", "waarde")


def rule_label(code: str) -> str:
    return RULE_CODES.get(code, "Handmatig opgeschaald" if code == MANUAL else code)


def summarise(quarter: Quarter, cases: Iterable[Case]) -> Summary:
    """The quarter's figures over the cases proposed in it."""
    summary = Summary(quarter)
    rules: Counter[str] = Counter()
    levels: Counter[int] = Counter({level: 0 for level in LEVEL_NAMES})
    durations = []
    for case in cases:
        summary.proposed += 1
        rules[case.rule_code or MANUAL] += 1
        if case.raised_at is not None:
            summary.raised += 1
            levels[case.level_reached] += 1
        if case.status in RESOLVED and case.closed_at is not None:
            summary.resolved += 1
            start = case.raised_at or case.proposed_at
            durations.append((case.closed_at - start).total_seconds() / 86400)
        elif case.status in OPEN_STATUSES:
            summary.open += 1
    order = [*RULE_CODES, MANUAL]
    summary.per_rule = {code: rules[code] for code in sorted(rules, key=lambda c: order.index(c) if c in order
                                                               else len(order))}
    summary.per_level = dict(sorted(levels.items()))
    summary.median_days = statistics.median(durations) if durations else None
    return summary


def quarter_report(overleg_id: uuid.UUID, quarter: Quarter) -> Summary:
    """One overleg's quarter: two statements whatever the number of cases."""
    start, end = quarter.bounds()
    escalations = db.session.scalars(select(Escalation).where(
        Escalation.overleg_id == overleg_id, Escalation.proposed_at >= start, Escalation.proposed_at < end)).all()
    reached: dict[uuid.UUID, int] = {}
    if escalations:
        for esc_id, level in db.session.execute(select(EscalationStep.escalation_id, EscalationStep.to_level).where(
                EscalationStep.escalation_id.in_([e.id for e in escalations]), EscalationStep.to_level.is_not(None))):
            reached[esc_id] = max(reached.get(esc_id, 0), level)
    return summarise(quarter, (Case(e.rule_code, e.status, max(e.level, reached.get(e.id, 0)), _aware(e.proposed_at),
                                    _aware(e.raised_at), _aware(e.closed_at)) for e in escalations))


def level_names(overleg_id: uuid.UUID) -> dict[int, str]:
    names = dict(LEVEL_NAMES)
    for level in db.session.scalars(select(LadderLevel).where(LadderLevel.overleg_id == overleg_id)):
        names[level.level] = f"{level.level} · {level.name}"
    return names


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


# --- the chart ----------------------------------------------------------------------------

BAR_HEIGHT, GAP, LABEL_WIDTH, BAR_WIDTH = 22, 8, 300, 320


def bar_chart(title: str, bars: Sequence[tuple[str, int]]) -> str:
    """A horizontal bar chart as inline SVG: labels, bars scaled to the largest value, the
    value after each bar. Presentation attributes only (the CSP forbids inline styles)."""
    peak = max((value for _, value in bars), default=0) or 1
    height = GAP + len(bars) * (BAR_HEIGHT + GAP)
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" aria-label="{escape(title)}">', f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(bars):
        y = GAP + i * (BAR_HEIGHT + GAP)
        length = round(BAR_WIDTH * value / peak)
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" font-size="14" '
                     f'fill="#1a1a1a">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" fill="#1f5f8b">'
                     f"<title>{escape(label)}: {value}</title></rect>")
        parts.append(f'<text x="{LABEL_WIDTH + length + 6}" y="{y + 16}" font-size="14" fill="#1a1a1a">{value}</text>')
    parts.append("</svg>")
    return "".join(parts)
