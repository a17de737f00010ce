"""The privacy officer's review queue: flags computed from the audit log, and decisions.

Five rules read the audit log, never case content:

- ``noodtoegang``: every emergency access claim (``content.emergency_access``), one flag each.
- ``buiten_context``: content disclosed for a purpose that no context gave — the gate's
  entry names the context the purpose came from (``meta.context``: match, plan, overleg,
  ...); "noodtoegang" (a claim) or none at all is outside any context. Content of the
  viewer's own organisation needs no purpose and is not flagged.
- ``piek``: one user viewing at least REVIEW_BURST_FAMILIES distinct families within
  REVIEW_BURST_MINUTES (a sliding window). Persons count as their household; list views
  (Mijn acties: one gate entry naming every household on the user's own work list) do not count.
- ``opzoeken``: identification attempts the writer marked for review — the look-up limit
  reached, a BSN known with other details, an existing person added to a household: each
  can tell someone who is not involved that a person is known.
- ``weigeringen``: at least REVIEW_DENIALS refusals by one user within REVIEW_DENIALS_MINUTES,
  not counting the gate's routine withholding of content the viewer had no purpose for.

Flags of one user and kind whose entries follow each other within the window form one
flag (an episode). The job reads the log incrementally from a cursor, looking back one
window for context; a flag is stored once by its key and an episode that continues is
added to its open flag (a decided flag is never changed: the continuation is a new flag).
Running it twice over the same entries changes nothing.
"""

from __future__ import annotations

import functools
import json
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import String, Text, and_, cast, func, or_, select, update

from netwerk.db import db, utcnow
from netwerk.jobqueue import connection
from netwerk.models import FamilyMember, PurposeClaim
from netwerk.validators import small_number
from privacy.audit import Actor, blind, record
from privacy.models import REVIEW_DECISIONS, REVIEW_KINDS, AuditEntry, ReviewCursor, ReviewDecision, ReviewFlag
from privacy.review_rules import LOOKUP_ACTIONS, OUTSIDE_CONTEXT, Candidate, Event, Settings, detect

KIND_LABELS = {
    "noodtoegang": "Noodtoegang", "buiten_context": "Inzage buiten overleg of plan",
    "piek": "Veel gezinnen in korte tijd", "opzoeken": "Opzoeken zonder betrokkenheid",
    "weigeringen": "Herhaalde weigeringen",
}
DECISION_LABELS = {"in_orde": "In orde", "navragen": "Navragen", "incident": "Incident"}
assert set(KIND_LABELS) == set(REVIEW_KINDS) and set(DECISION_LABELS) == set(REVIEW_DECISIONS)

CURSOR = "flags"
BATCH = 20_000
RUN_LOCK = "netwerk:lock:review-flags"
RUN_LOCK_SECONDS = 3600
JOB = "privacy.jobs.compute_review_flags"
NOTE_MAX = 2000


# --- computing flags from the log ----------------------------------------------------------

RELEVANT = or_(AuditEntry.action.in_(("content.read", "content.emergency_access", *LOOKUP_ACTIONS)),
               AuditEntry.outcome == "denied")
META_KEYS = ("reason", "context", "flag")
_CONTEXT = AuditEntry.meta["context"].as_string()
# The entries the grouping window applies to (review_rules.is_outside_context, is_lookup);
# a superset is harmless, the rules decide.
GROUPED = or_(AuditEntry.action.in_(LOOKUP_ACTIONS),
              and_(AuditEntry.action == "content.read", AuditEntry.outcome == "allowed",
                   or_(_CONTEXT.is_(None), _CONTEXT.in_(tuple(c for c in OUTSIDE_CONTEXT if c)))))
# Ids and JSON are read as text and the meta keys the rules need are extracted by the
# database: decoding UUID and JSON columns row by row costs ten times more than the rest.
COLUMNS = (AuditEntry.seq, AuditEntry.occurred_at, cast(AuditEntry.actor_user_id, String),
           cast(AuditEntry.actor_org_id, String), AuditEntry.action, AuditEntry.outcome,
           cast(AuditEntry.subject_ids, Text), AuditEntry.meta["objects"].as_string(),
           *(AuditEntry.meta[key].as_string() for key in META_KEYS))


@functools.lru_cache(maxsize=4096)
def _uuid(text: str | None) -> uuid.UUID | None:
    return uuid.UUID(text) if text else None


def _event(row: Any) -> Event:
    meta = {key: value for key, value in zip(META_KEYS, row[8:], strict=True) if value is not None}
    if row[7] is not None:
        meta["objects"] = True
    subjects = tuple(json.loads(row[6])) if row[6] and row[4] == "content.read" else ()
    return Event(row[0], row[1], _uuid(row[2]), _uuid(row[3]), row[4], row[5], subjects, meta)


def _events(*conditions: Any) -> list[Event]:
    rows = db.session.execute(select(*COLUMNS).where(RELEVANT, *conditions).order_by(AuditEntry.seq)).all()
    return [_event(row) for row in rows]


class Households:
    """Blinded person → blinded family, built once per run and only when asked."""

    def __init__(self) -> None:
        self._map: dict[str, str] | None = None

    def __call__(self, unit: str) -> str:
        if not unit.startswith("person:"):
            return unit
        if self._map is None:
            rows = db.session.execute(select(FamilyMember.person_id, FamilyMember.family_id)).all()
            self._map = {blind("person", p): blind("family", f) for p, f in rows}
        return self._map.get(unit, unit)


@dataclass
class RunResult:
    """``state``: "ok", "busy" (another run holds the lock), "too_many" (the tail is left to
    the job), or "empty" (nothing new)."""

    state: str
    processed_to: int = 0
    created: int = 0
    extended: int = 0


def cursor() -> ReviewCursor:
    row = db.session.get(ReviewCursor, CURSOR)
    if row is None:
        row = ReviewCursor(name=CURSOR, last_seq=0)
        db.session.add(row)
        db.session.flush()
    return row


def processed_to() -> int:
    row = db.session.get(ReviewCursor, CURSOR)
    return row.last_seq if row else 0


def compute(now: datetime | None = None, limit: int | None = None) -> RunResult:
    """Read the audit log after the cursor and store the flags it gives (not committed).
    With ``limit``, a tail longer than that is left for the job."""
    now = now or utcnow()
    settings = Settings.from_config(current_app.config)
    state = cursor()
    head = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
    result = RunResult("empty", state.last_seq)
    if head <= state.last_seq:
        return result
    if limit is not None and head - state.last_seq > limit:
        result.state = "too_many"
        return result
    households = Households()
    while state.last_seq < head:
        upto = min(head, state.last_seq + BATCH)
        _process(state.last_seq, upto, settings, households, now, result)
        state.last_seq, state.updated_at = upto, now
    db.session.flush()
    result.state, result.processed_to = "ok", head
    return result


def _process(after: int, upto: int, settings: Settings, households: Households, now: datetime,
             result: RunResult) -> None:
    new = _events(AuditEntry.seq > after, AuditEntry.seq <= upto)
    users = {e.user_id for e in new if e.user_id is not None}
    if not users:
        return
    # Look back one window: the short one for every rule, the longer grouping window only
    # for the rare entries it groups (most of a tail's lookback is plain reads).
    first = min(e.at for e in new)
    since, long_since = first - settings.short_lookback, first - settings.group_window
    floor = _floor(after, min(since, long_since))
    mine = (AuditEntry.seq > floor, AuditEntry.seq <= after, AuditEntry.actor_user_id.in_(users))
    earlier = _events(*mine, AuditEntry.occurred_at > since)
    if long_since < since:
        earlier = _events(*mine, AuditEntry.occurred_at > long_since, AuditEntry.occurred_at <= since, GROUPED) \
            + earlier
    # Episodes wholly before ``after`` were stored by an earlier run.
    fresh = [c for c in detect(earlier + new, settings, households) if max(e.seq for e in c.events) > after]
    outcomes = store_all(fresh, now)
    result.created += outcomes["created"]
    result.extended += outcomes["extended"]


def _floor(after: int, since: datetime) -> int:
    """The newest seq at or before ``after`` written before ``since``: the lookback then is
    a primary-key range. Entries are appended in time order under the chain lock, so the
    backward index scan stops after one window's worth of entries (``occurred_at`` has no
    index of its own, and a per-user scan would read a busy user's whole history)."""
    return db.session.scalar(select(AuditEntry.seq).where(AuditEntry.seq <= after, AuditEntry.occurred_at <= since)
                             .order_by(AuditEntry.seq.desc()).limit(1)) or 0


def store_all(candidates: list[Candidate], now: datetime) -> Counter[str]:
    """Store a batch of candidates: one statement finds the flags they may continue, one
    flush writes them (not a query per candidate)."""
    if not candidates:
        return Counter()
    lowest = min(e.seq for c in candidates for e in c.events)
    near: dict[tuple[str, uuid.UUID], list[ReviewFlag]] = {}
    for flag in db.session.scalars(select(ReviewFlag).where(
            ReviewFlag.user_id.in_({c.user_id for c in candidates}), ReviewFlag.last_seq >= lowest)
            .order_by(ReviewFlag.id)):
        near.setdefault((flag.kind, flag.user_id), []).append(flag)
    outcomes = Counter(store(c, now, near.setdefault((c.kind, c.user_id), [])) for c in candidates)
    db.session.flush()
    return outcomes


def store(candidate: Candidate, now: datetime, near: list[ReviewFlag] | None = None) -> str:
    """Store a candidate once: "created", "extended" (added to the open flag it continues)
    or "known" (every entry is already in a flag of this kind and user). ``near``: this
    kind and user's flags that may overlap (looked up when not given); a new flag is
    appended to it."""
    seqs = sorted({e.seq for e in candidate.events})
    if near is None:
        near = list(db.session.scalars(select(ReviewFlag).where(
            ReviewFlag.kind == candidate.kind, ReviewFlag.user_id == candidate.user_id,
            ReviewFlag.last_seq >= seqs[0]).order_by(ReviewFlag.id)))
    wanted = set(seqs)
    overlapping = [f for f in near if f.first_seq <= seqs[-1] and f.last_seq >= seqs[0] and wanted & set(f.seqs)]
    covered = set().union(*(f.seqs for f in overlapping)) if overlapping else set()
    if wanted <= covered:
        return "known"
    times = [e.at for e in candidate.events]
    open_flag = next((f for f in overlapping if f.decision is None and candidate.kind != "noodtoegang"), None)
    if open_flag is not None:
        merged = sorted(set(open_flag.seqs) | set(seqs))
        open_flag.seqs, open_flag.first_seq, open_flag.last_seq = merged, merged[0], merged[-1]
        open_flag.period_start = min(open_flag.period_start, *times)
        open_flag.period_end = max(open_flag.period_end, *times)
        open_flag.measure = max(open_flag.measure, candidate.measure) if candidate.kind in ("piek", "weigeringen") \
            else len(merged)
        return "extended"
    first_new = min(s for s in seqs if s not in covered)
    flag = ReviewFlag(
        key=f"{candidate.kind}:{candidate.user_id.hex}:{first_new}", kind=candidate.kind, user_id=candidate.user_id,
        organisation_id=candidate.events[-1].org_id, period_start=min(times), period_end=max(times),
        first_seq=seqs[0], last_seq=seqs[-1], seqs=seqs, measure=candidate.measure, created_at=now,
        revisions=0)
    db.session.add(flag)
    near.append(flag)
    return "created"


def run_locked(now: datetime | None = None, limit: int | None = None) -> RunResult:
    """:func:`compute` under the cross-process lock, committed before the lock is released
    (the job and a queue page never compute the same tail twice at once)."""
    conn = connection()
    token = secrets.token_hex(8)
    if not conn.set(RUN_LOCK, token, nx=True, ex=RUN_LOCK_SECONDS):
        return RunResult("busy", processed_to())
    try:
        result = compute(now, limit)
        db.session.commit()
        return result
    except BaseException:
        db.session.rollback()
        raise
    finally:
        if conn.get(RUN_LOCK) == token.encode():
            conn.delete(RUN_LOCK)


# --- decisions -------------------------------------------------------------------------------

class ReviewError(ValueError):
    """A refused decision; ``message`` is Dutch, ``status`` the HTTP answer."""

    def __init__(self, message: str, status: int = 422, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def decide_flag(flag: ReviewFlag, decision: str, note: str, seen: str | int | None, actor: Actor,
                now: datetime | None = None) -> ReviewDecision:
    """Record a decision on ``flag`` (a later one revises the earlier; both stay) and audit
    it. ``seen`` is the number of decisions the officer saw: a decision taken meanwhile by
    someone else is not silently overwritten. Validates everything before writing."""
    now = now or utcnow()
    if decision not in REVIEW_DECISIONS:
        raise ReviewError("Kies een besluit: in orde, navragen of incident.", field="besluit")
    note = (note or "").strip()
    if not note:
        raise ReviewError("Schrijf een toelichting bij het besluit.", field="toelichting")
    if len(note) > NOTE_MAX:
        raise ReviewError(f"De toelichting is hoogstens {NOTE_MAX} tekens.", field="toelichting")
    if small_number(seen) is None:
        raise ReviewError("Het formulier is onvolledig. Open het signaal opnieuw en beoordeel het daar.")
    if small_number(seen) != flag.revisions:
        raise ReviewError("Dit signaal is intussen (opnieuw) beoordeeld. Bekijk het laatste besluit hieronder en "
                          "beoordeel het zo nodig opnieuw.", status=409)
    if actor.user_id == flag.user_id:
        raise ReviewError("U kunt een signaal over uw eigen handelingen niet zelf beoordelen.", status=403)
    previous = flag.decision
    flag.revisions += 1
    row = ReviewDecision(flag_id=flag.id, revision=flag.revisions, decision=decision, note=note,
                         decided_by_user_id=actor.user_id, decided_at=now)
    flag.decision, flag.decided_at, flag.decided_by_user_id = decision, now, actor.user_id
    db.session.add(row)
    if flag.kind == "noodtoegang":
        _mark_claims_reviewed(flag)
    db.session.flush()
    # The note is the officer's free text: it stays in its table, the log gets codes only.
    record("review.revised" if previous else "review.decided", actor=actor,
           summary="review decision revised" if previous else "review flag decided",
           subjects=[blind("user", flag.user_id)], object_type="review_flag", object_id=flag.id,
           meta={"kind": flag.kind, "decision": decision, "previous": previous, "revision": flag.revisions})
    return row


def _mark_claims_reviewed(flag: ReviewFlag) -> None:
    """The emergency access claims the flag rests on have been reviewed (whatever the
    decision: "reviewed" says an officer looked, the decision says what they found)."""
    claims = select(AuditEntry.object_id).where(AuditEntry.seq.in_(flag.seqs),
                                                AuditEntry.object_type == "purpose_claim")
    ids = [uuid.UUID(str(i)) for i in db.session.scalars(claims) if i]
    if ids:
        db.session.execute(update(PurposeClaim).where(PurposeClaim.id.in_(ids)).values(reviewed=True))


# --- what the screens read -----------------------------------------------------------------

def open_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReviewFlag).where(ReviewFlag.decision.is_(None))) or 0


def history(flag: ReviewFlag) -> list[ReviewDecision]:
    return list(db.session.scalars(select(ReviewDecision).where(ReviewDecision.flag_id == flag.id)
                                   .order_by(ReviewDecision.revision.desc())))


def entries_of(flag: ReviewFlag, limit: int) -> list[AuditEntry]:
    """The entries the flag rests on, oldest first, at most ``limit``."""
    seqs = sorted(flag.seqs)[:limit]
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.seq.in_(seqs)).order_by(AuditEntry.seq)))
