"""The facts the stagnation rules read, loaded in a fixed number of set-based statements
(ids, dates, counts and flags — never a text), indexed by household. See the package's
docstring for how lines of work keep gaming from resetting a counter."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, func, or_, select, type_coerce

from meetings.models import AgendaItem, Attendance, Meeting
from netwerk.db import db
from netwerk.models import FamilyMember, Involvement, Match
from netwerk.models.plans import ActionUpdate, CoordinatorTerm, Plan, PlanAction

OPEN_ACTION = ("open", "bezig")
ADOPTED = ("vastgesteld", "geevalueerd")
ABSENT = ("afwezig", "afgemeld")
LETTER_PENDING = ("te_versturen", "klaar")


# --- the facts ------------------------------------------------------------------------------

@dataclass
class Line:
    """A line of work still open for the rules: its open actions and what carries over."""

    root: uuid.UUID
    action_ids: list[uuid.UUID]
    owner_org_id: uuid.UUID | None
    first_due: date
    pushes: int
    since: date
    last_note: date | None = None
    last_owner_note: date | None = None
    unagreed_since: date | None = None  # an open action still waiting for the family's agreement


@dataclass
class PlanFact:
    plan_id: uuid.UUID
    status: str
    next_evaluation: date | None
    agreement_required: bool
    coordinator_user_id: uuid.UUID | None = None
    coordinator_org_id: uuid.UUID | None = None


@dataclass
class Held:
    """One meeting of an overleg at which a household was on the agenda."""

    day: date
    meeting_id: uuid.UUID
    section_id: uuid.UUID
    held: bool


@dataclass
class Facts:
    today: date
    plans: dict[uuid.UUID, PlanFact] = field(default_factory=dict)
    lines: dict[uuid.UUID, list[Line]] = field(default_factory=lambda: defaultdict(list))
    # overleg -> household -> its agenda meetings up to today, oldest first
    agendas: dict[uuid.UUID, dict[uuid.UUID, list[Held]]] = field(default_factory=lambda: defaultdict(dict))
    # overleg -> its meeting dates up to today with at least one item, oldest first
    agenda_days: dict[uuid.UUID, list[tuple[date, uuid.UUID]]] = field(default_factory=lambda: defaultdict(list))
    # overleg -> every meeting date up to today
    meeting_days: dict[uuid.UUID, list[date]] = field(default_factory=lambda: defaultdict(list))
    attendance: dict[tuple[uuid.UUID, uuid.UUID], str] = field(default_factory=dict)  # (meeting, family) -> status
    completed: dict[uuid.UUID, date] = field(default_factory=dict)  # last action done with its criterion
    matches: dict[uuid.UUID, list[date]] = field(default_factory=lambda: defaultdict(list))  # open, created on
    letters: dict[tuple[uuid.UUID, uuid.UUID], date] = field(default_factory=dict)  # (overleg, family) -> since


# Ids are read raw and turned into UUIDs through a cache: households, overleggen,
# organisations and meetings recur in thousands of rows, and parsing each copy (SQLite
# stores the hex string) was the largest single cost of loading the facts.
@lru_cache(maxsize=1 << 18)
def _parse(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _id(value: object) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):  # PostgreSQL's driver gives UUIDs already
        return value  # type: ignore[return-value]
    return _parse(str(value))


def _raw(column: Any) -> Any:
    return type_coerce(column, String)


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def load_facts(today: date) -> Facts:
    """Everything the rules read, in set-based statements (none per household)."""
    from escalation.models import ScanAction  # noqa: PLC0415 - appended scan state; keeps import order plain

    facts = Facts(today)
    _load_plans(facts)
    _load_lines(facts, ScanAction)
    _load_agendas(facts)
    _load_matches(facts)
    return facts


def _load_plans(facts: Facts) -> None:
    rows = db.session.execute(
        select(_raw(Plan.family_id), _raw(Plan.id), Plan.status, Plan.next_evaluation, Plan.family_agreement_required,
               _raw(CoordinatorTerm.user_id), _raw(CoordinatorTerm.organisation_id))
        .outerjoin(CoordinatorTerm, and_(CoordinatorTerm.plan_id == Plan.id, CoordinatorTerm.end_on.is_(None)))
        .where(Plan.status != "afgesloten"))
    for family_id, plan_id, status, next_eval, required, user_id, org_id in rows:
        facts.plans[_id(family_id)] = PlanFact(_id(plan_id), status, next_eval, bool(required), _id(user_id),
                                               _id(org_id))


def _load_lines(facts: Facts, scan_action: type) -> None:
    s = scan_action
    still_open = or_(PlanAction.status.in_(OPEN_ACTION),
                     and_(PlanAction.status == "gereed", PlanAction.criterion_met.is_(False)))
    active = Plan.status != "afgesloten"
    rows = db.session.execute(
        select(_raw(PlanAction.id), _raw(Plan.family_id), _raw(s.line_root_id), _raw(PlanAction.owner_org_id),
               PlanAction.due, s.first_due,
               PlanAction.due_changes, PlanAction.created_at, PlanAction.agreed_by, Plan.status,
               Plan.family_agreement_required)
        .join(Plan, Plan.id == PlanAction.plan_id).join(s, s.action_id == PlanAction.id)
        .where(active, still_open))
    # Lines with more than one action (re-created work): what carries over from all of them.
    carried = {_id(row[0]): row[1:] for row in db.session.execute(
        select(_raw(s.line_root_id), func.min(s.first_due), func.min(PlanAction.due), func.sum(PlanAction.due_changes),
               func.count(), func.min(PlanAction.created_at))
        .join(PlanAction, PlanAction.id == s.action_id).group_by(s.line_root_id).having(func.count() > 1))}
    lines: dict[uuid.UUID, Line] = {}
    for (action_id, family_id, root, owner_org, due, first_due, changes, created, agreed_by, plan_status,
         required) in rows:
        action_id, family_id, root, owner_org = _id(action_id), _id(family_id), _id(root), _id(owner_org)
        line = lines.get(root)
        if line is None:
            if root in carried:
                c_first, c_due, c_pushes, n, c_since = carried[root]
                line = Line(root, [], owner_org, min(c_first, c_due), int(c_pushes or 0) + n - 1, _day(c_since))
            else:
                line = Line(root, [], owner_org, min(first_due, due), int(changes or 0), _day(created))
            lines[root] = line
            facts.lines[family_id].append(line)
        line.action_ids.append(action_id)
        if agreed_by is None and required and plan_status in ADOPTED:
            made = _day(created)
            line.unagreed_since = made if line.unagreed_since is None else min(line.unagreed_since, made)
    notes = db.session.execute(
        select(_raw(s.line_root_id), _raw(ActionUpdate.organisation_id), func.max(ActionUpdate.written_on))
        .join(s, s.action_id == ActionUpdate.action_id).join(PlanAction, PlanAction.id == ActionUpdate.action_id)
        .join(Plan, Plan.id == PlanAction.plan_id).where(active)
        .group_by(s.line_root_id, ActionUpdate.organisation_id))
    for root, org_id, written in notes:
        line, org_id = lines.get(_id(root)), _id(org_id)
        if line is None:
            continue
        line.last_note = max(line.last_note or written, written)
        if line.owner_org_id is None or line.owner_org_id == org_id:
            line.last_owner_note = max(line.last_owner_note or written, written)
    done = db.session.execute(
        select(_raw(Plan.family_id), func.max(PlanAction.updated_at)).join(Plan, Plan.id == PlanAction.plan_id)
        .join(s, s.action_id == PlanAction.id)
        .where(active, PlanAction.status == "gereed", PlanAction.criterion_met.is_not(False))
        .group_by(Plan.family_id))
    facts.completed = {_id(family_id): _day(at) for family_id, at in done}


def _load_agendas(facts: Facts) -> None:
    today = facts.today
    held = or_(Meeting.status == "gesloten", Meeting.date < today)
    rows = db.session.execute(
        select(_raw(Meeting.overleg_id), _raw(AgendaItem.family_id), Meeting.date, _raw(Meeting.id),
               _raw(AgendaItem.section_id), held)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id).where(Meeting.date <= today)
        .order_by(Meeting.date))
    with_items: dict[uuid.UUID, dict[uuid.UUID, date]] = defaultdict(dict)
    for overleg_id, family_id, day, meeting_id, section_id, was_held in rows:
        overleg_id, family_id, meeting_id = _id(overleg_id), _id(family_id), _id(meeting_id)
        section_id = _id(section_id)
        facts.agendas[overleg_id].setdefault(family_id, []).append(Held(day, meeting_id, section_id, bool(was_held)))
        with_items[overleg_id][meeting_id] = day
    for overleg_id, meetings in with_items.items():
        facts.agenda_days[overleg_id] = sorted((day, mid) for mid, day in meetings.items())
    for overleg_id, day in db.session.execute(
            select(_raw(Meeting.overleg_id), Meeting.date).where(Meeting.date <= today).order_by(Meeting.date)):
        facts.meeting_days[_id(overleg_id)].append(day)
    # The zorgcoördinator's attendance in the section where the household was discussed.
    attendance = db.session.execute(
        select(_raw(AgendaItem.meeting_id), _raw(AgendaItem.family_id), Attendance.status)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .join(Plan, and_(Plan.family_id == AgendaItem.family_id, Plan.status != "afgesloten"))
        .join(CoordinatorTerm, and_(CoordinatorTerm.plan_id == Plan.id, CoordinatorTerm.end_on.is_(None)))
        .join(Attendance, and_(Attendance.meeting_id == AgendaItem.meeting_id,
                               Attendance.section_id == AgendaItem.section_id,
                               Attendance.user_id == CoordinatorTerm.user_id))
        .where(Meeting.date <= today))
    facts.attendance = {(_id(meeting_id), _id(family_id)): status for meeting_id, family_id, status in attendance}
    letters = db.session.execute(
        select(_raw(Meeting.overleg_id), _raw(AgendaItem.family_id), AgendaItem.inform_state, AgendaItem.added_at,
               AgendaItem.inform_review_on)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(or_(AgendaItem.inform_state.in_(LETTER_PENDING),
                   and_(AgendaItem.inform_state == "uitgesteld", AgendaItem.inform_review_on < today))))
    for overleg_id, family_id, state, added_at, review_on in letters:
        since = review_on if state == "uitgesteld" else _day(added_at)
        key = (_id(overleg_id), _id(family_id))
        facts.letters[key] = min(facts.letters.get(key, since), since)


def _load_matches(facts: Facts) -> None:
    first, second = Involvement.__table__.alias("first"), Involvement.__table__.alias("second")
    rows = db.session.execute(
        select(_raw(FamilyMember.family_id), _raw(Match.id), Match.created_at)
        .join(first, first.c.id == Match.first_id).join(second, second.c.id == Match.second_id)
        .join(FamilyMember, or_(FamilyMember.person_id == first.c.person_id,
                                FamilyMember.person_id == second.c.person_id))
        .where(Match.afgestemd_on.is_(None)).distinct())
    for family_id, _match_id, created in rows:
        facts.matches[_id(family_id)].append(_day(created))
