"""The daily stagnation scan: evaluate every enabled rule of every overleg over the
households on its agendas, and *propose* an escalation for each firing (never raise one:
a chair or coordinator decides whether it goes up the ladder).

A run has three steps, each a fixed number of set-based statements whatever the number of
households: (1) remember new plan actions with the due date they were first seen with;
(2) join a re-created action to the line of work of the failed action it replaces;
(3) load the facts and run the evaluators (``escalation.rules``), then propose. The scan
reads ids, dates, statuses and flags only, never a text: whether a completion note covers
its criterion and which action a new one re-creates are judged by the plan operations when
they are written (``netwerk.operations.plans``), from the writer's own text.

Safe to run twice: ``operations.propose`` is idempotent per household, overleg and rule,
and a rule whose proposal was closed recently does not propose again at once. Locked
against double runs: a transaction-level advisory lock on PostgreSQL; on SQLite (where
every transaction already takes the write lock up front) a committed claim row that a
second run finds taken. The daily job also skips a day that was already scanned.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Date, and_, bindparam, exists, func, insert, literal, or_, select, text, update
from sqlalchemy.orm import aliased

from escalation import ladder, operations
from escalation.models import CLOSED_STATUSES, OPEN_STATUSES, Escalation, ScanAction, ScanLock, StagnationRule
from escalation.rules import Context, Facts, Firing, evaluate, load_facts
from meetings.models import AgendaItem, Meeting, Overleg
from netwerk.db import db, utcnow
from netwerk.models.plans import Plan, PlanAction
from privacy.audit import Actor, record

JOB = "escalation.scan.run_daily_scan"
LOCK_NAME = "daily-scan"
LOCK_KEY = 0x65736361  # "esca": the PostgreSQL advisory lock of the scan
CLAIM_FOR = timedelta(hours=1)  # a claim left by a crashed run expires
# After a proposal of a rule was closed (dismissed, resolved, de-escalated) the same rule
# does not propose again for the household within this many days.
REPROPOSE_AFTER = timedelta(days=28)
ACTOR = Actor.system("job:escalation-scan")


@dataclass
class ScanResult:
    """What a run did. ``state``: "ok", "busy" (another run holds the lock) or "done"
    (this day was scanned already; the daily job does nothing)."""

    state: str
    day: date
    overleggen: int = 0
    firings: int = 0  # new firings: a (household, rule) with an open proposal is not evaluated
    proposed: int = 0
    already_open: int = 0  # open (or recently closed) rule proposals, left alone
    refused: int = 0  # firings the proposal refused (reported, never fatal)
    registered: int = 0
    lines_linked: int = 0
    seconds: float = 0.0
    propose_seconds: float = 0.0  # of ``seconds``: the proposals themselves (audit, notifications)
    per_rule: dict[str, int] = field(default_factory=dict)


# --- scan state -----------------------------------------------------------------------------

def register_new_actions(today: date) -> int:
    """Remember every action not seen before, with its current due date (one statement)."""
    s, a = ScanAction.__table__, PlanAction.__table__
    new = select(a.c.id, a.c.due, a.c.id, literal(today, Date)).where(~exists().where(s.c.action_id == a.c.id))
    before = db.session.scalar(select(func.count()).select_from(s))
    db.session.execute(insert(s).from_select(["action_id", "first_due", "line_root_id", "seen_on"], new))
    # Counted, not taken from rowcount: psycopg reports none for INSERT ... SELECT here.
    return db.session.scalar(select(func.count()).select_from(s)) - before


def link_lines() -> int:
    """A re-created action joins the line of work of the action it does again once that
    one failed (lapsed, not achieved, or "gereed" without its criterion). The plan
    operations recorded which action it re-creates (``continues_action_id``), judged from
    the writer's text when it was written; here only ids, statuses and flags are read."""
    a, b = aliased(PlanAction), aliased(PlanAction)
    sa, sb = aliased(ScanAction), aliased(ScanAction)
    failed = or_(b.status.in_(("vervallen", "niet_gelukt")), and_(b.status == "gereed", b.criterion_met.is_(False)))
    rows = db.session.execute(
        select(a.id, sb.line_root_id)
        .join(sa, sa.action_id == a.id).join(Plan, Plan.id == a.plan_id)
        .join(b, b.id == a.continues_action_id).join(sb, sb.action_id == b.id)
        .where(Plan.status != "afgesloten", sa.line_root_id == a.id, failed, sb.line_root_id != a.id)
        .order_by(a.created_at)).all()
    # Oldest first, so that a chain linked in the same run (c <- b <- a) ends at one root.
    roots: dict[uuid.UUID, uuid.UUID] = {}
    for a_id, b_root in rows:
        roots[a_id] = roots.get(b_root, b_root)
    if roots:
        t = ScanAction.__table__
        db.session.execute(update(t).where(t.c.line_root_id == bindparam("b_old")).values(
            line_root_id=bindparam("b_new")), [{"b_old": k, "b_new": v} for k, v in roots.items()])
    return len(roots)


# --- locking --------------------------------------------------------------------------------

def _claim(token: str, now: datetime) -> bool:
    """SQLite: take the claim row in a short transaction of its own, so a second run sees it."""
    t = ScanLock.__table__
    with db.engine.begin() as conn:
        if conn.execute(select(t.c.name).where(t.c.name == LOCK_NAME)).first() is None:
            conn.execute(insert(t).values(name=LOCK_NAME))
        taken = conn.execute(update(t).where(t.c.name == LOCK_NAME, or_(t.c.holder.is_(None), t.c.expires_at < now))
                             .values(holder=token, expires_at=now + CLAIM_FOR))
        return taken.rowcount == 1


def _unclaim(token: str) -> None:
    t = ScanLock.__table__
    with db.engine.begin() as conn:
        conn.execute(update(t).where(t.c.name == LOCK_NAME, t.c.holder == token).values(holder=None, expires_at=None))


@contextmanager
def scan_lock(now: datetime) -> Iterator[bool]:
    """Yields whether this run may scan. PostgreSQL: an advisory lock held by the run's
    own transaction (released by its commit or rollback). SQLite: the claim row."""
    if db.engine.dialect.name == "postgresql":
        yield bool(db.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}).scalar())
        return
    token = secrets.token_hex(8)
    got = _claim(token, now)
    try:
        yield got
    finally:
        if got:
            _unclaim(token)


def _scanned_on(day: date) -> bool:
    last = db.session.scalar(select(ScanLock.last_finished_at).where(ScanLock.name == LOCK_NAME))
    return last is not None and last.date() >= day


def _finished(now: datetime) -> None:
    row = db.session.get(ScanLock, LOCK_NAME)
    if row is None:
        db.session.add(ScanLock(name=LOCK_NAME, last_finished_at=now))
    else:
        row.last_finished_at = now


# --- the scan -------------------------------------------------------------------------------

def _scopes() -> dict[uuid.UUID, set[uuid.UUID]]:
    """Each overleg's households: every family on one of its agendas."""
    scopes: dict[uuid.UUID, set[uuid.UUID]] = {}
    for overleg_id, family_id in db.session.execute(
            select(Meeting.overleg_id, AgendaItem.family_id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
            .distinct()):
        scopes.setdefault(overleg_id, set()).add(family_id)
    return scopes


def _known(now: datetime) -> set[tuple[uuid.UUID, uuid.UUID, str]]:
    """(overleg, household, rule) with an open proposal or one closed recently."""
    rows = db.session.execute(select(Escalation.overleg_id, Escalation.household_id, Escalation.rule_code).where(
        Escalation.rule_code.is_not(None),
        or_(Escalation.status.in_(OPEN_STATUSES),
            and_(Escalation.status.in_(CLOSED_STATUSES), Escalation.closed_at >= now - REPROPOSE_AFTER))))
    return {(o, h, r) for o, h, r in rows}


def evaluate_overleg(overleg: Overleg, rules: list[StagnationRule], households: set[uuid.UUID],
                     facts: Facts, known: set[tuple[uuid.UUID, uuid.UUID, str]] | None = None) -> list[Firing]:
    """Every enabled rule of ``overleg`` over ``households``, except for the (household,
    rule) pairs ``known`` to have an open proposal in this overleg."""
    skip = frozenset((h, r) for o, h, r in known or () if o == overleg.id)
    ctx = Context(overleg.id, overleg.organisation_id, frozenset(households), facts, skip)
    return [f for rule in rules if rule.enabled for f in evaluate(rule.code, ctx, rule.params, rule.explanation)]


def scan(now: datetime | None = None, overleg_id: uuid.UUID | None = None) -> ScanResult:
    """Evaluate the rules (of one overleg, or all) and propose what fires. Does not commit
    and takes no lock: :func:`run_daily_scan` and the CLI do both."""
    started = time.perf_counter()
    now = now or utcnow()
    today = now.astimezone(UTC).date()
    result = ScanResult("ok", today)
    result.registered = register_new_actions(today)
    result.lines_linked = link_lines()
    scopes = _scopes()
    overleggen = db.session.scalars(select(Overleg).where(Overleg.id.in_(list(scopes)) if overleg_id is None
                                                          else Overleg.id == overleg_id)).all()
    for overleg in overleggen:
        ladder.ensure_default(overleg, ACTOR)  # an overleg without rules gets the defaults (idempotent)
    rules: dict[uuid.UUID, list[StagnationRule]] = {}
    for rule in db.session.scalars(select(StagnationRule).where(
            StagnationRule.overleg_id.in_([o.id for o in overleggen])).order_by(StagnationRule.code)):
        rules.setdefault(rule.overleg_id, []).append(rule)
    facts = load_facts(today)
    known = _known(now)
    result.already_open = len(known)
    for overleg in overleggen:
        result.overleggen += 1
        firings = evaluate_overleg(overleg, rules.get(overleg.id, []), scopes.get(overleg.id, set()), facts, known)
        result.firings += len(firings)
        for firing in firings:
            result.per_rule[firing.rule_code] = result.per_rule.get(firing.rule_code, 0) + 1
        t0 = time.perf_counter()
        proposed, refused = operations.propose_found(overleg, firings, now)
        result.propose_seconds += time.perf_counter() - t0
        result.proposed += proposed
        result.refused += refused
        result.already_open += len(firings) - proposed - refused
    result.seconds = round(time.perf_counter() - started, 3)
    result.propose_seconds = round(result.propose_seconds, 3)
    record("escalation.scanned", actor=ACTOR, summary="stagnation scan", object_type="escalation_scan",
           meta={"day": today.isoformat(), "overleggen": result.overleggen, "firings": result.firings,
                 "proposed": result.proposed, "refused": result.refused, "lines_linked": result.lines_linked,
                 "per_rule": result.per_rule})
    return result


def run_scan(now: datetime | None = None, overleg_id: uuid.UUID | None = None, *, force: bool = True) -> ScanResult:
    """A locked run that commits its own work. ``force=False`` (the daily job) skips a day
    that was scanned already; on demand (``force=True``) scans again, proposing only what
    is new."""
    now = now or utcnow()
    day = now.astimezone(UTC).date()
    db.session.commit()  # the claim below uses a connection of its own; nothing may wait on this one
    with scan_lock(now) as got:
        if not got:
            db.session.rollback()
            return ScanResult("busy", day)
        if not force and _scanned_on(day):
            db.session.rollback()
            return ScanResult("done", day)
        result = scan(now, overleg_id)
        if overleg_id is None:
            _finished(now)
        db.session.commit()
        return result


def run_daily_scan(now: str | None = None) -> str:
    """The rq job (daily, in ``netwerk.jobqueue.PERIODIC``): "ok", "busy" or "done"."""
    at = datetime.fromisoformat(now) if now else None
    return run_scan(at, force=False).state
