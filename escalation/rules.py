"""The nine stagnation rules of the Opschalingsmodel, evaluated over facts loaded in bulk.

:func:`load_facts` reads everything the rules need in a fixed number of set-based
statements (ids, dates, counts and flags — never a text), indexed by household; each
evaluator then walks the households in an overleg's scope in memory and returns its
:class:`Firing` rows. No evaluator queries the database, so the scan's cost does not grow
in statements with the number of families.

Gaming does not reset a counter, because the rules read *lines of work*, not single
actions (the scan keeps the line state, see ``escalation.scan``):

- an action re-created for the same goal and owner with a similar text continues the line
  of the action it replaces: its due date, pushes and "since" carry over (which action it
  re-creates is judged by the plan operation that writes it: ``continues_action_id``);
- a pushed due date still counts from the first due date the scan saw (and every push,
  including a re-creation, adds to the push count, which ``due_changes`` never resets);
- an action marked "gereed" whose completion note does not cover its "klaar als"
  criterion (``criterion_met`` is false, judged when the note was written) stays open for
  every rule, and is no completed action for the agenda rule. An action done before the
  flag was recorded (None) counts as done.

A firing's explanation is the rule's Dutch text with numbers (days, meetings, counts) —
never a text from the plan, a name or a pseudonym.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import String, and_, func, or_, select, type_coerce

from escalation.ladder import RULE_DEFAULTS, explain
from meetings.models import AgendaItem, Attendance, Meeting
from netwerk.db import db
from netwerk.models import FamilyMember, Involvement, Match
from netwerk.models.plans import ActionUpdate, CoordinatorTerm, Plan, PlanAction

OPEN_ACTION = ("open", "bezig")
ADOPTED = ("vastgesteld", "geevalueerd")
ABSENT = ("afwezig", "afgemeld")
LETTER_PENDING = ("te_versturen", "klaar")
EXPLANATION_LIMIT = 400
MAX_BLOCKED = 50  # operations.propose takes at most this many blocked actions


# --- what a firing carries ----------------------------------------------------------------

@dataclass(frozen=True)
class Firing:
    rule_code: str
    household_id: uuid.UUID
    explanation: str
    blocked_action_ids: tuple[str, ...] = ()
    stuck_organisation_id: uuid.UUID | None = None


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


# --- the evaluators -------------------------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """One overleg's view for the evaluators: its id, organisation and households."""

    overleg_id: uuid.UUID
    organisation_id: uuid.UUID | None
    households: frozenset[uuid.UUID]
    facts: Facts
    # (household, rule) pairs not to evaluate: a proposal is open already (the scan knows)
    skip: frozenset[tuple[uuid.UUID, str]] = frozenset()

    @property
    def today(self) -> date:
        return self.facts.today

    def todo(self, code: str) -> Iterable[uuid.UUID]:
        """The households ``code`` is evaluated for."""
        if not self.skip:
            return self.households
        return [h for h in self.households if (h, code) not in self.skip]


Evaluator = Callable[[Context, dict[str, int], str], list[Firing]]


def _param(params: dict[str, int], code: str, name: str) -> int:
    value = params.get(name, RULE_DEFAULTS[code].params.get(name, 0))
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return RULE_DEFAULTS[code].params.get(name, 0)


def _explain(base: str, detail: str) -> str:
    text = f"{base} {detail}".strip()
    return text if len(text) <= EXPLANATION_LIMIT else text[: EXPLANATION_LIMIT - 1] + "…"


def _stuck(lines: Iterable[Line], fallback: uuid.UUID | None) -> uuid.UUID | None:
    """The organisation owning most of the blocked actions (the coordinator's for informal owners)."""
    counts = Counter(line.owner_org_id for line in lines for _ in line.action_ids if line.owner_org_id)
    return counts.most_common(1)[0][0] if counts else fallback


def _line_firing(ctx: Context, code: str, base: str, family_id: uuid.UUID, fired: list[Line],
                 detail: str) -> Firing:
    plan = ctx.facts.plans.get(family_id)
    ids = tuple(sorted(str(a) for line in fired for a in line.action_ids))[:MAX_BLOCKED]
    return Firing(code, family_id, _explain(base, detail), ids,
                  _stuck(fired, plan.coordinator_org_id if plan else None))


def _held(ctx: Context, family_id: uuid.UUID) -> list[Held]:
    return [h for h in ctx.facts.agendas.get(ctx.overleg_id, {}).get(family_id, []) if h.held]


def action_overdue(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    days = _param(params, "action_overdue", "days")
    out = []
    for family_id in ctx.todo("action_overdue"):
        fired = [line for line in ctx.facts.lines.get(family_id, ()) if (ctx.today - line.first_due).days > days]
        if fired:
            worst = max((ctx.today - line.first_due).days for line in fired)
            out.append(_line_firing(ctx, "action_overdue", base, family_id, fired,
                                    f"Nu: {_count(fired)}, tot {worst} dagen over de datum."))
    return out


def action_carried_over(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """Open across ``meetings`` or more held meetings of the household with no progress
    note on the line since before the first of them (a pushed date or a re-created action
    is no change)."""
    meetings = max(_param(params, "action_carried_over", "meetings"), 1)
    out = []
    for family_id in ctx.todo("action_carried_over"):
        held = _held(ctx, family_id)
        fired, most = [], 0
        for line in ctx.facts.lines.get(family_id, ()):
            changed = max(line.since, line.last_note) if line.last_note else line.since
            n = sum(1 for h in held if h.day > changed)
            if n >= meetings:
                fired.append(line)
                most = max(most, n)
        if fired:
            out.append(_line_firing(ctx, "action_carried_over", base, family_id, fired,
                                    f"Nu: {_count(fired)}, {most} overleggen zonder voortgang."))
    return out


def recurring_on_agenda(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """On each of the overleg's last ``agendas`` agendas (consecutive meetings with items,
    up to today) with no action completed with its criterion since the first of them."""
    agendas = max(_param(params, "recurring_on_agenda", "agendas"), 1)
    days = ctx.facts.agenda_days.get(ctx.overleg_id, [])
    if len(days) < agendas:
        return []
    window = days[-agendas:]
    wanted, first = {mid for _, mid in window}, window[0][0]
    out = []
    for family_id in ctx.todo("recurring_on_agenda"):
        mine = {h.meeting_id for h in ctx.facts.agendas[ctx.overleg_id].get(family_id, [])}
        if not wanted <= mine:
            continue
        done = ctx.facts.completed.get(family_id)
        if done is not None and done >= first:
            continue
        plan = ctx.facts.plans.get(family_id)
        streak = _streak(days, mine)
        out.append(Firing("recurring_on_agenda", family_id,
                          _explain(base, f"Nu: {streak} agenda's achter elkaar, sinds {first.isoformat()}."),
                          (), plan.coordinator_org_id if plan else ctx.organisation_id))
    return out


def _streak(days: list[tuple[date, uuid.UUID]], mine: set[uuid.UUID]) -> int:
    n = 0
    for _, mid in reversed(days):
        if mid not in mine:
            break
        n += 1
    return n


def owner_silent(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """The owner wrote no progress since the household's last held meeting, and the
    overleg has met ``meetings`` time(s) since (the next meeting came with nothing new)."""
    meetings = max(_param(params, "owner_silent", "meetings"), 1)
    all_days = ctx.facts.meeting_days.get(ctx.overleg_id, [])
    out = []
    for family_id in ctx.todo("owner_silent"):
        held = _held(ctx, family_id)
        if not held:
            continue
        last = held[-1].day
        since = sum(1 for d in all_days if d > last)
        if since < meetings:
            continue
        fired = [line for line in ctx.facts.lines.get(family_id, ())
                 if line.since <= last and (line.last_owner_note is None or line.last_owner_note <= last)]
        if fired:
            silent = (ctx.today - last).days
            out.append(_line_firing(ctx, "owner_silent", base, family_id, fired,
                                    f"Nu: {_count(fired)}, {silent} dagen zonder voortgang van de eigenaar."))
    return out


def match_unacknowledged(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    days = _param(params, "match_unacknowledged", "days")
    out = []
    for family_id in ctx.todo("match_unacknowledged"):
        late = [(ctx.today - made).days for made in ctx.facts.matches.get(family_id, ())
                if (ctx.today - made).days >= days]
        if late:
            plan = ctx.facts.plans.get(family_id)
            out.append(Firing("match_unacknowledged", family_id,
                              _explain(base, f"Nu: {len(late)} match(es), de oudste {max(late)} dagen open."),
                              (), plan.coordinator_org_id if plan else None))
    return out


def coordinator_absent(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """Absent (or excused) at the household's last ``times`` held meetings, in its section."""
    times = max(_param(params, "coordinator_absent", "times"), 1)
    out = []
    for family_id in ctx.todo("coordinator_absent"):
        plan = ctx.facts.plans.get(family_id)
        if plan is None or plan.coordinator_user_id is None:
            continue
        last = _held(ctx, family_id)[-times:]
        if len(last) == times and all(ctx.facts.attendance.get((h.meeting_id, family_id)) in ABSENT for h in last):
            out.append(Firing("coordinator_absent", family_id,
                              _explain(base, f"Nu: {times} keer afwezig, het laatst op {last[-1].day.isoformat()}."),
                              (), plan.coordinator_org_id))
    return out


def due_date_pushed(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    times = _param(params, "due_date_pushed", "times")
    out = []
    for family_id in ctx.todo("due_date_pushed"):
        fired = [line for line in ctx.facts.lines.get(family_id, ()) if line.pushes > times]
        if fired:
            most = max(line.pushes for line in fired)
            out.append(_line_firing(ctx, "due_date_pushed", base, family_id, fired,
                                    f"Nu: {_count(fired)}, tot {most} keer verschoven."))
    return out


def plan_evaluation_passed(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    days = _param(params, "plan_evaluation_passed", "days")
    out = []
    for family_id in ctx.todo("plan_evaluation_passed"):
        plan = ctx.facts.plans.get(family_id)
        if plan is None or plan.status not in ADOPTED or plan.next_evaluation is None:
            continue
        late = (ctx.today - plan.next_evaluation).days
        if late > days:
            out.append(Firing("plan_evaluation_passed", family_id,
                              _explain(base, f"Nu: {late} dagen na de evaluatiedatum."), (), plan.coordinator_org_id))
    return out


def letter_or_consent_pending(ctx: Context, params: dict[str, int], base: str) -> list[Firing]:
    """A letter not sent (or informing deferred past its review date), or an action still
    waiting for the family's agreement, for more than ``days`` days."""
    days = _param(params, "letter_or_consent_pending", "days")
    out = []
    for family_id in ctx.todo("letter_or_consent_pending"):
        parts, stuck = [], ctx.organisation_id
        letter = ctx.facts.letters.get((ctx.overleg_id, family_id))
        if letter is not None and (ctx.today - letter).days > days:
            parts.append(f"brief {(ctx.today - letter).days} dagen")
        waiting = [line for line in ctx.facts.lines.get(family_id, ())
                   if line.unagreed_since is not None and (ctx.today - line.unagreed_since).days > days]
        blocked: tuple[str, ...] = ()
        if waiting:
            oldest = max((ctx.today - line.unagreed_since).days for line in waiting)  # type: ignore[operator]
            parts.append(f"instemming voor {_count(waiting)}, tot {oldest} dagen")
            blocked = tuple(sorted(str(a) for line in waiting for a in line.action_ids))[:MAX_BLOCKED]
            plan = ctx.facts.plans.get(family_id)
            stuck = plan.coordinator_org_id if plan and plan.coordinator_org_id else stuck
        if parts:
            out.append(Firing("letter_or_consent_pending", family_id,
                              _explain(base, "Nu: " + "; ".join(parts) + "."), blocked, stuck))
    return out


def _count(lines: list[Line]) -> str:
    n = sum(len(line.action_ids) for line in lines)
    return "1 actie" if n == 1 else f"{n} acties"


EVALUATORS: dict[str, Evaluator] = {
    "action_overdue": action_overdue,
    "action_carried_over": action_carried_over,
    "recurring_on_agenda": recurring_on_agenda,
    "owner_silent": owner_silent,
    "match_unacknowledged": match_unacknowledged,
    "coordinator_absent": coordinator_absent,
    "due_date_pushed": due_date_pushed,
    "plan_evaluation_passed": plan_evaluation_passed,
    "letter_or_consent_pending": letter_or_consent_pending,
}


def evaluate(code: str, ctx: Context, params: dict[str, int] | None, explanation: str | None) -> list[Firing]:
    """Run one rule over an overleg's households; ``explanation`` is the rule row's template."""
    base = explain(code, explanation, params or {})
    return EVALUATORS[code](ctx, params or {}, base)
