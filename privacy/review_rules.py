"""The review queue's rules, pure: audit entries (as :class:`Event`) in, candidate flags out.

No database and no app here, so the thresholds are tested on events in memory; the
rules themselves are described in :mod:`privacy.review`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

LOOKUP_ACTIONS = ("person.lookup_throttled", "person.identity_conflict", "family.member_added")
OUTSIDE_CONTEXT = (None, "noodtoegang")


# --- the rules (pure: events in, episodes out) ---------------------------------------------

@dataclass(slots=True)
class Event:
    """The fields of an audit entry the rules read."""

    seq: int
    at: datetime
    user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    action: str
    outcome: str
    subjects: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    burst_families: int = 15
    burst_window: timedelta = timedelta(minutes=10)
    denials: int = 20
    denials_window: timedelta = timedelta(minutes=10)
    group_window: timedelta = timedelta(minutes=60)

    @classmethod
    def from_config(cls, config: Any) -> Settings:
        return cls(config["REVIEW_BURST_FAMILIES"], timedelta(minutes=config["REVIEW_BURST_MINUTES"]),
                   config["REVIEW_DENIALS"], timedelta(minutes=config["REVIEW_DENIALS_MINUTES"]),
                   timedelta(minutes=config["REVIEW_GROUP_MINUTES"]))

    @property
    def short_lookback(self) -> timedelta:
        """What the threshold rules (bursts, denials) need to see before a new entry."""
        return max(self.burst_window, self.denials_window)


@dataclass(frozen=True)
class Candidate:
    kind: str
    user_id: uuid.UUID
    events: tuple[Event, ...]
    measure: int


def is_emergency(e: Event) -> bool:
    return e.action == "content.emergency_access"


def is_outside_context(e: Event) -> bool:
    return (e.action == "content.read" and e.outcome == "allowed" and e.meta.get("reason") != "own_organisation"
            and e.meta.get("context") in OUTSIDE_CONTEXT)


def is_view(e: Event) -> bool:
    # decide_many's entries ("objects" in meta) are list views of the user's own work list.
    return e.action == "content.read" and "objects" not in e.meta


def is_lookup(e: Event) -> bool:
    return e.action in LOOKUP_ACTIONS and (e.action != "family.member_added" or e.meta.get("flag") == "review")


def is_denial(e: Event) -> bool:
    return e.outcome == "denied" and not (e.action == "content.read" and e.meta.get("reason") == "no_purpose")


def raw_units(e: Event) -> frozenset[str]:
    """The households an entry is about, as far as the entry says: its family subjects, or
    else its persons (each counted as a household until resolved, so never too few)."""
    families = frozenset(s for s in e.subjects if s.startswith("family:"))
    return families or frozenset(s for s in e.subjects if s.startswith("person:"))


def episodes(events: list[Event], window: timedelta, threshold: int,
             units: Callable[[Event], Iterable[str]]) -> list[tuple[list[Event], int]]:
    """Runs of events in which some window (t - ``window``, t] holds at least ``threshold``
    distinct units; overlapping hot windows form one episode. Returns (events, the largest
    count seen) per episode. ``events`` must be sorted by time."""
    found: list[tuple[list[Event], int]] = []
    counts: Counter[str] = Counter()
    start, current = 0, None  # current: [first index, last index, measure]
    for i, e in enumerate(events):
        counts.update(units(e))
        while events[start].at <= e.at - window:
            for unit in units(events[start]):
                counts[unit] -= 1
                if not counts[unit]:
                    del counts[unit]
            start += 1
        if len(counts) < threshold:
            continue
        if current is not None and start <= current[1]:
            current[1], current[2] = i, max(current[2], len(counts))
        else:
            if current is not None:
                found.append((events[current[0]:current[1] + 1], current[2]))
            current = [start, i, len(counts)]
    if current is not None:
        found.append((events[current[0]:current[1] + 1], current[2]))
    return found


def _by_user(events: Iterable[Event], keep: Callable[[Event], bool]) -> dict[uuid.UUID, list[Event]]:
    grouped: dict[uuid.UUID, list[Event]] = {}
    for e in events:
        if e.user_id is not None and keep(e):
            grouped.setdefault(e.user_id, []).append(e)
    for items in grouped.values():
        items.sort(key=lambda e: (e.at, e.seq))
    return grouped


def detect(events: Iterable[Event], settings: Settings,
           household: Callable[[str], str] | None = None) -> list[Candidate]:
    """Every candidate flag in ``events``. ``household`` maps a blinded person to its
    family's blinded id; it is asked only when the unresolved count already reaches the
    burst threshold (building it blinds every household member)."""
    events = list(events)
    found = [Candidate("noodtoegang", e.user_id, (e,), 1) for e in events if is_emergency(e) and e.user_id]

    def each(e: Event) -> tuple[int]:
        return (e.seq,)

    for kind, keep, window, threshold in (
            ("buiten_context", is_outside_context, settings.group_window, 1),
            ("opzoeken", is_lookup, settings.group_window, 1),
            ("weigeringen", is_denial, settings.denials_window, settings.denials)):
        for user, items in _by_user(events, keep).items():
            found += [Candidate(kind, user, tuple(run), len(run) if threshold == 1 else m)
                      for run, m in episodes(items, window, threshold, each)]
    for user, items in _by_user(events, is_view).items():
        runs = episodes(items, settings.burst_window, settings.burst_families, raw_units)
        if runs and household is not None:
            runs = episodes(items, settings.burst_window, settings.burst_families, _resolved(household))
        found += [Candidate("piek", user, tuple(run), m) for run, m in runs]
    return found


def _resolved(household: Callable[[str], str]) -> Callable[[Event], frozenset[str]]:
    def units(e: Event) -> frozenset[str]:
        return frozenset(household(u) for u in raw_units(e))
    return units
