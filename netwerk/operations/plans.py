"""1gezin1plan: starting a family's plan, handing over the zorgcoördinator, editing,
adopting, evaluating and closing the plan, its concerns, goals (edited, reached, dropped)
and network, and its SMART actions (added, edited, accepted, updated, lapsed).

Every change writes a :class:`PlanHistory` row (old and new values, encrypted) and an
audit entry that names the family blinded and holds ids and codes only. A plan and an
action carry a ``version``: a write that expected an older one raises :class:`StaleVersion`
with the current state. The version is claimed with a conditional UPDATE, so two
transactions that both read the same version cannot both win.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from netwerk import smart
from netwerk.db import db, utcnow
from netwerk.models import Family, FamilyMember, Involvement, User
from netwerk.models.plans import (
    AGREEMENT_GIVERS,
    FAILURE_REASONS,
    LIFE_DOMAINS,
    NETWORK_KINDS,
    ActionUpdate,
    CoordinatorTerm,
    NetworkMember,
    Plan,
    PlanAction,
    PlanConcern,
    PlanEvaluation,
    PlanGoal,
    PlanHistory,
)
from netwerk.operations.common import OperationError, bump_version
from netwerk.operations.families import subject_of
from privacy.audit import Actor, blind, record
from privacy.queries import covenant_in_force, vocabulary

MAX_PLAN_TEXT = 5000
MAX_GOAL_TEXT = 2000
MAX_PROGRESS = 2000
MAX_NAME = 200
MAX_ROLE = 500
REASON_LENGTH = (5, 500)
ADOPTION_WAYS = ("overleg", "zorgcoordinator")
ACTION_STATUSES = ("open", "bezig", "gereed", "niet_gelukt", "vervallen")
OPEN_STATUSES = ("open", "bezig")
ADOPTED = ("vastgesteld", "geevalueerd")

HAS_PLAN = "Dit gezin heeft al een plan."
NOT_ELIGIBLE = "De zorgcoördinator is een professional van een betrokken organisatie."
OWNER_REQUIRED = "Kies een eigenaar uit de betrokken organisaties of het netwerk."
STALE = "Iemand anders heeft dit plan intussen gewijzigd; bekijk de nieuwe stand."
CLOSED = "Dit plan is afgesloten en kan niet meer worden gewijzigd."


class StaleVersion(OperationError):
    """The caller edited an older version; ``current`` is the plan or action as it is now."""

    def __init__(self, current: Plan | PlanAction) -> None:
        super().__init__(STALE, field="version", code="verouderd")
        self.current = current


class SmartRefused(OperationError):
    """The SMART checker found a hard failure; ``verdict`` holds every finding."""

    def __init__(self, verdict: smart.Verdict) -> None:
        first = verdict.blocking[0]
        super().__init__(first.message, field=first.field, code="niet_smart")
        self.verdict = verdict


# ---------------------------------------------------------------------------- helpers

def _history(plan: Plan, kind: str, changes: dict[str, Any], actor: Actor,
             action: PlanAction | None = None) -> PlanHistory:
    row = PlanHistory(plan_id=plan.id, action_id=action.id if action else None, user_id=actor.user_id,
                      organisation_id=actor.org_id, kind=kind)
    row.changes = _plain(changes)
    db.session.add(row)
    return row


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, ids as strings."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _subjects(family_id: uuid.UUID) -> list[str]:
    persons = db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == family_id)).all()
    return [blind("family", family_id), *(subject_of(m.person) for m in persons)]


def _audit(action: str, plan: Plan, actor: Actor, summary: str, object_type: str = "plan",
           object_id: object | None = None, meta: dict[str, Any] | None = None) -> None:
    record(action, actor=actor, summary=summary, subjects=_subjects(plan.family_id), object_type=object_type,
           object_id=object_id if object_id is not None else plan.id, categories=["plan"], meta=meta)


def _text(value: str | None, field: str, limit: int, *, required: bool = False,
          label: str = "Deze tekst") -> str | None:
    """Stripped text, or None when empty; refuses control characters and overlong text."""
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise OperationError(f"{label} is verplicht.", field=field)
        return None
    if len(cleaned) > limit:
        raise OperationError(f"{label} is {len(cleaned)} tekens; hoogstens {limit}.", field=field)
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in cleaned):
        raise OperationError(f"{label} bevat ongeldige tekens.", field=field)
    return cleaned


def _open(plan: Plan) -> None:
    if plan.status == "afgesloten":
        raise OperationError(CLOSED)


def involved_org_ids(family_id: uuid.UUID) -> set[uuid.UUID]:
    """Organisations with an active involvement with a member of the family."""
    members = select(FamilyMember.person_id).where(FamilyMember.family_id == family_id)
    return set(db.session.scalars(select(Involvement.organisation_id).where(
        Involvement.person_id.in_(members), Involvement.status == "actief").distinct()))


def _eligible(user: User | None, family_id: uuid.UUID) -> bool:
    return user is not None and user.active and user.organisation_id in involved_org_ids(family_id)


def current_term(plan: Plan) -> CoordinatorTerm | None:
    return db.session.scalar(select(CoordinatorTerm).where(CoordinatorTerm.plan_id == plan.id,
                                                           CoordinatorTerm.end_on.is_(None)))


def _claim(obj: Plan | PlanAction, expected: int) -> None:
    """Bump the version only if it is still ``expected`` (a concurrent writer loses here)."""
    if expected != obj.version or not bump_version(obj, expected):
        raise StaleVersion(obj)


# ---------------------------------------------------------------------------- the plan

def start_plan(family: Family, coordinator: User, actor: Actor, today: date) -> Plan:
    """A new concept plan for ``family`` with ``coordinator`` as its first zorgcoördinator."""
    if db.session.scalar(select(Plan.id).where(Plan.family_id == family.id, Plan.status != "afgesloten")):
        raise OperationError(HAS_PLAN)
    if not _eligible(coordinator, family.id):
        raise OperationError(NOT_ELIGIBLE, field="coordinator")
    plan = Plan(family_id=family.id, status="concept", organisation_id=actor.org_id,
                created_by_user_id=actor.user_id, version=1)
    db.session.add(plan)
    db.session.flush()
    db.session.add(CoordinatorTerm(plan_id=plan.id, user_id=coordinator.id, organisation_id=coordinator.organisation_id,
                                   start_on=today, assigned_by_user_id=actor.user_id))
    _history(plan, "plan.started", {"status": "concept", "coordinator": coordinator.id}, actor)
    db.session.flush()
    _audit("plan.started", plan, actor, "plan started")
    return plan


def change_coordinator(plan: Plan, new: User, reason: str, actor: Actor, today: date) -> CoordinatorTerm:
    """Hand the plan over: the open term ends today and ``new`` starts today."""
    _open(plan)
    if not _eligible(new, plan.family_id):
        raise OperationError(NOT_ELIGIBLE, field="coordinator")
    why = _text(reason, "reason", REASON_LENGTH[1], required=True, label="De reden van de overdracht")
    if len(why or "") < REASON_LENGTH[0]:
        raise OperationError("Geef een reden van de overdracht (minstens 5 tekens).", field="reason")
    old = current_term(plan)
    if old is not None and old.user_id == new.id:
        raise OperationError("Deze professional is al de zorgcoördinator.", field="coordinator")
    if old is not None:
        old.end_on = today
        db.session.flush()  # the open-term index allows one open term: close before opening
    term = CoordinatorTerm(plan_id=plan.id, user_id=new.id, organisation_id=new.organisation_id, start_on=today,
                           assigned_by_user_id=actor.user_id)
    term.reason = why
    db.session.add(term)
    _history(plan, "plan.coordinator_changed",
             {"coordinator": {"old": old.user_id if old else None, "new": new.id}, "reason": why}, actor)
    db.session.flush()
    _audit("plan.coordinator_changed", plan, actor, "coordinator handed over", object_type="plan_coordinator",
           object_id=term.id, meta={"plan_id": str(plan.id)})
    return term


def update_plan(plan: Plan, *, family_view: str | None, strengths: str | None, next_evaluation: date | None,
                family_agreement_required: bool, expected_version: int, actor: Actor, today: date) -> Plan:
    """Edit the plan's own fields; a stale ``expected_version`` raises :class:`StaleVersion`."""
    if expected_version != plan.version:
        raise StaleVersion(plan)
    _open(plan)
    new = {
        "family_view": _text(family_view, "family_view", MAX_PLAN_TEXT, label="De visie van het gezin"),
        "strengths": _text(strengths, "strengths", MAX_PLAN_TEXT, label="De krachten"),
        "next_evaluation": next_evaluation,
        "family_agreement_required": bool(family_agreement_required),
    }
    if next_evaluation is not None and next_evaluation < today:
        raise OperationError("De evaluatiedatum ligt in het verleden.", field="next_evaluation")
    if next_evaluation is None and plan.status == "vastgesteld":
        raise OperationError("Een vastgesteld plan heeft een evaluatiedatum.", field="next_evaluation")
    changes = {k: {"old": getattr(plan, k), "new": v} for k, v in new.items() if getattr(plan, k) != v}
    if not changes:
        return plan
    _claim(plan, expected_version)
    for key, value in new.items():
        setattr(plan, key, value)
    _history(plan, "plan.updated", changes, actor)
    db.session.flush()
    _audit("plan.updated", plan, actor, "plan updated", meta={"fields": sorted(changes)})
    return plan


def adopt_plan(plan: Plan, how: str, actor: Actor, today: date) -> Plan:
    """Vaststellen: in a meeting ("overleg") or by the zorgcoördinator alone."""
    _open(plan)
    if how not in ADOPTION_WAYS:
        raise OperationError("Kies hoe het plan is vastgesteld: in overleg of door de zorgcoördinator.", field="how")
    if plan.status == "vastgesteld":
        raise OperationError("Dit plan is al vastgesteld.")
    if not db.session.scalar(select(func.count()).select_from(PlanGoal).where(PlanGoal.plan_id == plan.id)):
        raise OperationError("Een plan heeft minstens één doel voordat het wordt vastgesteld.", field="goals")
    if plan.next_evaluation is None or plan.next_evaluation < today:
        raise OperationError("Kies eerst een evaluatiedatum in de toekomst.", field="next_evaluation")
    term = current_term(plan)
    if how == "zorgcoordinator" and (term is None or term.user_id != actor.user_id):
        raise OperationError("Alleen de zorgcoördinator kan het plan zelf vaststellen.", field="how")
    _claim(plan, plan.version)
    changes = {"status": {"old": plan.status, "new": "vastgesteld"}, "adopted_how": how, "adopted_on": today}
    plan.status, plan.adopted_on, plan.adopted_how = "vastgesteld", today, how
    _history(plan, "plan.adopted", changes, actor)
    db.session.flush()
    _audit("plan.adopted", plan, actor, "plan adopted", meta={"how": how})
    return plan


def add_goal(plan: Plan, domain: str, text: str, author: User, actor: Actor) -> PlanGoal:
    _open(plan)
    if domain not in LIFE_DOMAINS:
        raise OperationError("Kies een leefgebied.", field="domain")
    body = _text(text, "text", MAX_GOAL_TEXT, required=True, label="Het doel")
    goal = PlanGoal(plan_id=plan.id, domain=domain, organisation_id=author.organisation_id, author_user_id=author.id)
    goal.text = body
    db.session.add(goal)
    db.session.flush()
    _history(plan, "goal.added", {"goal_id": goal.id, "domain": domain, "text": body}, actor)
    db.session.flush()
    _audit("plan.goal_added", plan, actor, "goal added", object_type="plan_goal", object_id=goal.id,
           meta={"plan_id": str(plan.id), "domain": domain})
    return goal


def add_concern(plan: Plan, domain: str, category: str, text: str, author: User, actor: Actor,
                today: date) -> PlanConcern:
    """A concern in a life domain, tagged with a category of the covenant in force."""
    _open(plan)
    if domain not in LIFE_DOMAINS:
        raise OperationError("Kies een leefgebied.", field="domain")
    covenant = covenant_in_force(today)
    if covenant is None or category not in vocabulary(covenant).categories:
        raise OperationError("Kies een categorie uit het convenant dat nu geldt.", field="category")
    body = _text(text, "text", MAX_GOAL_TEXT, required=True, label="De zorg")
    concern = PlanConcern(plan_id=plan.id, domain=domain, category=category, organisation_id=author.organisation_id,
                          author_user_id=author.id)
    concern.text = body
    db.session.add(concern)
    db.session.flush()
    _history(plan, "concern.added", {"concern_id": concern.id, "domain": domain, "category": category,
                                     "text": body}, actor)
    db.session.flush()
    _audit("plan.concern_added", plan, actor, "concern added", object_type="plan_concern", object_id=concern.id,
           meta={"plan_id": str(plan.id), "domain": domain, "category": category})
    return concern


def add_network_member(plan: Plan, kind: str, name: str, role: str | None, organisation_id: uuid.UUID | None,
                       user_id: uuid.UUID | None, actor: Actor) -> NetworkMember:
    """Someone at the kitchen table: informal, or a professional of an organisation."""
    _open(plan)
    if kind not in NETWORK_KINDS:
        raise OperationError("Kies informeel netwerk of professional.", field="kind")
    who = _text(name, "name", MAX_NAME, required=True, label="De naam")
    what = _text(role, "role", MAX_ROLE, label="De rol")
    if kind == "professioneel" and organisation_id is None:
        raise OperationError("Kies de organisatie van de professional.", field="organisation_id")
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is None or user.organisation_id != organisation_id:
            raise OperationError("Deze gebruiker hoort niet bij de gekozen organisatie.", field="user_id")
    member = NetworkMember(plan_id=plan.id, kind=kind, organisation_id=organisation_id, user_id=user_id)
    member.name, member.role = who, what
    db.session.add(member)
    db.session.flush()
    _history(plan, "network.added", {"member_id": member.id, "kind": kind, "name": who, "role": what,
                                     "organisation_id": organisation_id}, actor)
    db.session.flush()
    _audit("plan.network_added", plan, actor, "network member added", object_type="plan_network",
           object_id=member.id, meta={"plan_id": str(plan.id), "kind": kind})
    return member


# ---------------------------------------------------------------------------- actions

def _owner(plan: Plan, owner_user: User | None, owner_member: NetworkMember | None) -> tuple[str, uuid.UUID | None]:
    """The owner's label and the user behind the owner (if any); refuses a wrong owner."""
    if (owner_user is None) == (owner_member is None):
        raise OperationError(OWNER_REQUIRED, field="owner")
    if owner_user is not None:
        if not _eligible(owner_user, plan.family_id):
            raise OperationError(OWNER_REQUIRED, field="owner")
        return owner_user.name, owner_user.id
    assert owner_member is not None
    if owner_member.plan_id != plan.id:
        raise OperationError(OWNER_REQUIRED, field="owner")
    return owner_member.name, owner_member.user_id


def _running_goal(plan: Plan, goal_id: uuid.UUID) -> PlanGoal:
    goal = db.session.get(PlanGoal, goal_id)
    if goal is None or goal.plan_id != plan.id:
        raise OperationError("Kies een doel van dit plan.", field="goal_id")
    if not goal.running:
        raise OperationError("Dit doel is bereikt of vervallen; kies een doel dat nog loopt.", field="goal_id")
    return goal


def _agreement(agreed_by: str | None, agreed_on: date | None, today: date) -> None:
    if agreed_by is not None and agreed_by not in AGREEMENT_GIVERS:
        raise OperationError("Kies wie namens het gezin akkoord gaf.", field="agreed_by")
    if (agreed_by is None) != (agreed_on is None):
        raise OperationError("Leg vast wie akkoord gaf en wanneer.", field="agreed_on")
    if agreed_on is not None and agreed_on > today:
        raise OperationError("De datum van het akkoord ligt in de toekomst.", field="agreed_on")


def add_action(plan: Plan, *, goal_id: uuid.UUID | None, what: str, done_when: str, owner_user: User | None,
               owner_member: NetworkMember | None, due: date | None, due_text: str | None, agreed_by: str | None,
               agreed_on: date | None, actor: Actor, today: date) -> tuple[PlanAction, smart.Verdict]:
    """A SMART action; hard failures of the checker raise :class:`SmartRefused`."""
    _open(plan)
    label, owner_user_id = _owner(plan, owner_user, owner_member)
    if goal_id is not None:
        _running_goal(plan, goal_id)
    _agreement(agreed_by, agreed_on, today)
    accepted = owner_user_id is not None and owner_user_id == actor.user_id
    verdict = smart.check(smart.ActionDraft(
        what=what, done_when=done_when, owner_label=label, goal_id=goal_id, due=due, due_text=due_text,
        owner_accepted=accepted, family_agreement_required=plan.family_agreement_required
        and plan.status in ADOPTED, family_agreed=agreed_by is not None, today=today,
        next_evaluation=plan.next_evaluation, owner_is_group=False), region_words())
    if not verdict.ok:
        raise SmartRefused(verdict)
    for field, value in (("what", what), ("done_when", done_when)):
        _text(value, field, smart.MAX_TEXT, required=True, label="Deze tekst")
    action = PlanAction(plan_id=plan.id, goal_id=goal_id, owner_user_id=owner_user.id if owner_user else None,
                        owner_member_id=owner_member.id if owner_member else None,
                        owner_org_id=owner_user.organisation_id if owner_user else None, due=verdict.resolved_due,
                        agreed_by=agreed_by, agreed_on=agreed_on, accepted_at=utcnow() if accepted else None,
                        status="open", due_changes=0, organisation_id=actor.org_id,
                        created_by_user_id=actor.user_id, version=1)
    action.what, action.done_when = what.strip(), done_when.strip()
    action.continues_action_id = _re_created(plan, action)
    db.session.add(action)
    db.session.flush()
    _history(plan, "action.added", {"what": action.what, "done_when": action.done_when, "due": action.due,
                                    "goal_id": goal_id, "owner_user_id": action.owner_user_id,
                                    "owner_member_id": action.owner_member_id, "agreed_by": agreed_by}, actor, action)
    db.session.flush()
    _audit("action.added", plan, actor, "action added", object_type="plan_action", object_id=action.id,
           meta={"plan_id": str(plan.id), "advice": sorted(f.code for f in verdict.advice)})
    return action, verdict


def _re_created(plan: Plan, new: PlanAction) -> uuid.UUID | None:
    """The newest earlier action of the same goal and owner that ``new`` does again (a
    similar text), unless that one was done with its criterion. Judged here, with the
    writer's own text, so that the stagnation scan links lines of work without reading any
    text: re-creating an action does not reset its counters."""
    def same_owner(other: PlanAction) -> bool:
        if new.owner_org_id is not None:
            return other.owner_org_id == new.owner_org_id
        return other.owner_org_id is None and other.owner_member_id == new.owner_member_id

    earlier = sorted((a for a in plan.actions if a.goal_id == new.goal_id and a is not new and same_owner(a)
                      and (new.created_at is None or a.created_at < new.created_at)
                      and not (a.status == "gereed" and a.criterion_met is not False)),
                     key=lambda a: a.created_at, reverse=True)
    words = region_words()
    return next((a.id for a in earlier if smart.same_work(new.what, a.what, words)), None)


def _judge_completion(action: PlanAction, note: str | None) -> None:
    """Keep ``criterion_met`` in step with the status: judged from the completion note when
    the action becomes "gereed", cleared when it leaves it. A later note on a "gereed"
    action may still say what was reached (false becomes true), but a follow-up remark
    ("moeder bedankt voor de hulp") never turns a reached criterion back into open work."""
    if action.status != "gereed":
        action.criterion_met = None
    elif note is not None and action.criterion_met is not True:
        action.criterion_met = smart.criterion_met(note, action.done_when, region_words())


def _is_owner(action: PlanAction, user: User) -> bool:
    if action.owner_user_id is not None:
        return action.owner_user_id == user.id
    return action.owner_member is not None and action.owner_member.user_id == user.id


def may_accept(action: PlanAction, user: User) -> bool:
    """The owner, or a professional of the owning organisation on its behalf: an action
    assigned to a colleague who is away must not stay unaccepted for that reason."""
    if _is_owner(action, user):
        return True
    return action.owner_org_id is not None and action.owner_org_id == user.organisation_id


def accept_action(action: PlanAction, user: User, actor: Actor, now: datetime) -> PlanAction:
    """The owner accepts the action with one click (after the meeting)."""
    if not may_accept(action, user) or actor.user_id != user.id:
        raise OperationError("Alleen de eigenaar kan deze actie accepteren.", field="owner")
    _open(action.plan)
    if action.accepted_at is not None:
        return action
    if action.status not in OPEN_STATUSES:
        raise OperationError("Deze actie is al afgerond.")
    action.accepted_at = now
    _history(action.plan, "action.accepted", {"accepted_at": now}, actor, action)
    db.session.flush()
    _audit("action.accepted", action.plan, actor, "action accepted", object_type="plan_action",
           object_id=action.id, meta={"plan_id": str(action.plan_id)})
    return action


def _progress_note(action: PlanAction, note: str, actor: Actor, today: date) -> ActionUpdate:
    row = ActionUpdate(action_id=action.id, written_on=today, author_user_id=actor.user_id,
                       organisation_id=actor.org_id)
    row.text = note
    db.session.add(row)
    return row


def _due_findings(action: PlanAction, due: date, today: date) -> list[smart.Finding]:
    """The T part of the checker for a moved due date."""
    verdict = smart.check(smart.ActionDraft(
        what=action.what, done_when=action.done_when, owner_label="eigenaar", goal_id=action.goal_id, due=due,
        due_text=None, owner_accepted=True, family_agreement_required=False, family_agreed=True, today=today,
        next_evaluation=action.plan.next_evaluation, owner_is_group=False), region_words())
    return [f for f in verdict.blocking if f.letter == "T"]


def region_words() -> smart.WordLists | None:
    """The region's word lists, read at start (NETWERK_SMART_WORDS_FILE); None: the defaults."""
    return current_app.extensions.get("netwerk.smart_words") if current_app else None


def update_action(action: PlanAction, *, status: str, progress: str | None, failure_reason: str | None,
                  due: date | None, expected_version: int, actor: Actor, today: date) -> PlanAction:
    """Status, progress and due date; a stale ``expected_version`` raises :class:`StaleVersion`."""
    if expected_version != action.version:
        raise StaleVersion(action)
    _open(action.plan)
    if status not in ACTION_STATUSES:
        raise OperationError("Kies een geldige status.", field="status")
    note = _text(progress, "progress", MAX_PROGRESS, label="De voortgang")
    if status == "gereed" and action.status != "gereed" and note is None:
        raise OperationError("Schrijf bij gereed kort wat er is bereikt.", field="progress")
    reason = failure_reason if status == "niet_gelukt" else None
    if status == "niet_gelukt" and reason not in FAILURE_REASONS:
        raise OperationError("Kies waarom de actie niet is gelukt: veranderde omstandigheden of niet ondernomen.",
                             field="failure_reason")
    moved = due is not None and due != action.due
    if moved:
        findings = _due_findings(action, due, today)  # type: ignore[arg-type]
        if findings:
            raise OperationError(findings[0].message, field="due")
    changes: dict[str, Any] = {}
    for key, value in (("status", status), ("failure_reason", reason), ("due", due if moved else action.due)):
        if getattr(action, key) != value:
            changes[key] = {"old": getattr(action, key), "new": value}
    if note is not None:
        changes["progress"] = note
    if not changes:
        return action
    _claim(action, expected_version)
    action.status, action.failure_reason = status, reason
    if moved:
        action.due = due  # type: ignore[assignment]
        action.due_changes = (action.due_changes or 0) + 1
    if note is not None:
        _progress_note(action, note, actor, today)
    _judge_completion(action, note)
    action.updated_at = utcnow()
    _history(action.plan, "action.updated", changes, actor, action)
    db.session.flush()
    _audit("action.updated", action.plan, actor, "action updated", object_type="plan_action", object_id=action.id,
           meta={"plan_id": str(action.plan_id), "fields": sorted(changes), "status": status})
    return action


def _still_open(action: PlanAction) -> None:
    if action.status not in OPEN_STATUSES:
        raise OperationError("Deze actie is al afgerond en wijzigt niet meer.", field="status")


def edit_action(action: PlanAction, *, goal_id: uuid.UUID | None, what: str, done_when: str,
                owner_user: User | None, owner_member: NetworkMember | None, due: date | None,
                expected_version: int, actor: Actor, today: date) -> tuple[PlanAction, smart.Verdict]:
    """What, done-when, owner, goal and due date, re-checked by the SMART checker. A moved
    due date counts in ``due_changes`` (never reset); a new owner accepts anew."""
    if expected_version != action.version:
        raise StaleVersion(action)
    plan = action.plan
    _open(plan)
    _still_open(action)
    label, owner_user_id = _owner(plan, owner_user, owner_member)
    if goal_id is not None:
        _running_goal(plan, goal_id)
    new_owner = (owner_user.id if owner_user else None, owner_member.id if owner_member else None)
    owner_changed = new_owner != (action.owner_user_id, action.owner_member_id)
    accepted = (owner_user_id == actor.user_id) if owner_changed else action.accepted_at is not None
    verdict = smart.check(smart.ActionDraft(
        what=what, done_when=done_when, owner_label=label, goal_id=goal_id, due=due, due_text=None,
        # Agreement is asked when the action is made; an edit does not ask the family again.
        owner_accepted=accepted, family_agreement_required=False, family_agreed=True, today=today,
        next_evaluation=plan.next_evaluation, owner_is_group=False), region_words())
    moved = due != action.due
    # An overdue action may still get a clearer text: the date rules apply only to a new date.
    blocking = [f for f in verdict.blocking if moved or f.letter != "T"]
    if blocking:
        raise SmartRefused(smart.Verdict(tuple(blocking) + verdict.advice, verdict.resolved_due))
    for field, value in (("what", what), ("done_when", done_when)):
        _text(value, field, smart.MAX_TEXT, required=True, label="Deze tekst")
    new: dict[str, Any] = {"what": what.strip(), "done_when": done_when.strip(), "goal_id": goal_id,
                           "owner_user_id": new_owner[0], "owner_member_id": new_owner[1], "due": due}
    changes = {k: {"old": getattr(action, k), "new": v} for k, v in new.items() if getattr(action, k) != v}
    if not changes:
        return action, verdict
    _claim(action, expected_version)
    for key, value in new.items():
        setattr(action, key, value)
    if owner_changed:
        action.owner_org_id = owner_user.organisation_id if owner_user else None
        action.accepted_at = utcnow() if accepted else None
    if moved:
        action.due_changes = (action.due_changes or 0) + 1
    if action.continues_action_id is None or "goal_id" in changes or owner_changed:
        # Reworded into a failed action's text, or moved to another goal or owner: which
        # earlier action it does again is judged anew (a line never crosses owners).
        action.continues_action_id = _re_created(plan, action)
    action.updated_at = utcnow()
    _history(plan, "action.edited", changes, actor, action)
    db.session.flush()
    _audit("action.edited", plan, actor, "action edited", object_type="plan_action", object_id=action.id,
           meta={"plan_id": str(plan.id), "fields": sorted(changes), "advice": sorted(f.code for f in verdict.advice)})
    return action, verdict


def _lapse(action: PlanAction, note: str, actor: Actor, today: date, kind: str) -> None:
    """Vervallen, with the reason as the action's last progress note (who, when, why)."""
    _claim(action, action.version)
    old = action.status
    action.status, action.failure_reason, action.updated_at = "vervallen", None, utcnow()
    action.criterion_met = None
    _progress_note(action, note, actor, today)
    _history(action.plan, kind, {"status": {"old": old, "new": "vervallen"}, "progress": note}, actor, action)


def lapse_action(action: PlanAction, *, reason: str, expected_version: int, actor: Actor,
                 today: date) -> PlanAction:
    """Vervallen with a reason: the action no longer fits the plan (not "niet gelukt")."""
    if expected_version != action.version:
        raise StaleVersion(action)
    _open(action.plan)
    _still_open(action)
    why = _text(reason, "reason", REASON_LENGTH[1], required=True, label="De reden")
    if len(why or "") < REASON_LENGTH[0]:
        raise OperationError("Geef een reden waarom de actie vervalt (minstens 5 tekens).", field="reason")
    _lapse(action, why, actor, today, "action.lapsed")  # type: ignore[arg-type]
    db.session.flush()
    _audit("action.lapsed", action.plan, actor, "action lapsed", object_type="plan_action", object_id=action.id,
           meta={"plan_id": str(action.plan_id)})
    return action


# ---------------------------------------------------------------------------- goals

def _goal_editor(goal: PlanGoal, actor: Actor) -> None:
    """The organisation that wrote the goal owns its text (the gate reads it as theirs);
    the zorgcoördinator keeps the plan as a whole up to date."""
    term = current_term(goal.plan)
    if goal.organisation_id != actor.org_id and (term is None or term.user_id != actor.user_id):
        raise OperationError("Alleen de zorgcoördinator of de organisatie die het doel schreef, kan het wijzigen.")
    _open(goal.plan)


def _goal_ends(goal: PlanGoal) -> None:
    if not goal.running:
        raise OperationError("Dit doel is al bereikt of vervallen.")
    open_actions = db.session.scalar(select(func.count()).select_from(PlanAction).where(
        PlanAction.goal_id == goal.id, PlanAction.status.in_(OPEN_STATUSES)))
    if open_actions:
        raise OperationError(f"Bij dit doel staan nog {open_actions} open acties; rond die eerst af of laat ze "
                             "vervallen.")


def update_goal(goal: PlanGoal, text: str, actor: Actor) -> PlanGoal:
    _goal_editor(goal, actor)
    body = _text(text, "text", MAX_GOAL_TEXT, required=True, label="Het doel")
    if body == goal.text:
        return goal
    _history(goal.plan, "goal.updated", {"goal_id": goal.id, "text": {"old": goal.text, "new": body}}, actor)
    goal.text = body
    db.session.flush()
    _audit("plan.goal_updated", goal.plan, actor, "goal updated", object_type="plan_goal", object_id=goal.id,
           meta={"plan_id": str(goal.plan_id)})
    return goal


def achieve_goal(goal: PlanGoal, achieved_on: date | None, actor: Actor, today: date) -> PlanGoal:
    """Bereikt, on the day it was reached (not in the future)."""
    _goal_editor(goal, actor)
    if achieved_on is None or achieved_on > today:
        raise OperationError("Kies de datum waarop het doel is bereikt (vandaag of eerder).", field="achieved_on")
    _goal_ends(goal)
    goal.achieved_on = achieved_on
    _history(goal.plan, "goal.achieved", {"goal_id": goal.id, "achieved_on": achieved_on}, actor)
    db.session.flush()
    _audit("plan.goal_achieved", goal.plan, actor, "goal achieved", object_type="plan_goal", object_id=goal.id,
           meta={"plan_id": str(goal.plan_id)})
    return goal


def drop_goal(goal: PlanGoal, reason: str, actor: Actor, today: date) -> PlanGoal:
    """Vervallen: the goal no longer fits; the reason stays in the plan's history."""
    _goal_editor(goal, actor)
    why = _text(reason, "reason", REASON_LENGTH[1], required=True, label="De reden")
    if len(why or "") < REASON_LENGTH[0]:
        raise OperationError("Geef een reden waarom het doel vervalt (minstens 5 tekens).", field="reason")
    _goal_ends(goal)
    goal.dropped_on = today
    _history(goal.plan, "goal.dropped", {"goal_id": goal.id, "dropped_on": today, "reason": why}, actor)
    db.session.flush()
    _audit("plan.goal_dropped", goal.plan, actor, "goal dropped", object_type="plan_goal", object_id=goal.id,
           meta={"plan_id": str(goal.plan_id)})
    return goal


# ---------------------------------------------------------------------------- evaluate, close

def _coordinator_only(plan: Plan, actor: Actor, doing: str) -> None:
    """As adopting alone: the current zorgcoördinator owns the plan's evaluation and end."""
    _open(plan)
    term = current_term(plan)
    if term is None or term.user_id != actor.user_id:
        raise OperationError(f"Alleen de zorgcoördinator kan het plan {doing}.")


def evaluate_plan(plan: Plan, *, held_on: date | None, summary: str, next_evaluation: date | None, actor: Actor,
                  today: date) -> PlanEvaluation:
    """An evaluation moment: what it concluded and when the next one is (status geëvalueerd)."""
    _coordinator_only(plan, actor, "evalueren")
    if plan.status not in ADOPTED:
        raise OperationError("Stel het plan eerst vast; een conceptplan wordt nog niet geëvalueerd.")
    if held_on is None or held_on > today:
        raise OperationError("Kies de datum waarop de evaluatie is gehouden (vandaag of eerder).", field="held_on")
    body = _text(summary, "summary", MAX_PLAN_TEXT, required=True, label="De samenvatting")
    if next_evaluation is None or next_evaluation <= today:
        raise OperationError("Kies een datum voor de volgende evaluatie na vandaag.", field="next_evaluation")
    _claim(plan, plan.version)
    evaluation = PlanEvaluation(plan_id=plan.id, held_on=held_on, next_evaluation=next_evaluation,
                                organisation_id=actor.org_id, author_user_id=actor.user_id)
    evaluation.summary = body
    db.session.add(evaluation)
    db.session.flush()
    changes = {"evaluation_id": evaluation.id, "held_on": held_on, "summary": body,
               "status": {"old": plan.status, "new": "geevalueerd"},
               "next_evaluation": {"old": plan.next_evaluation, "new": next_evaluation}}
    plan.status, plan.next_evaluation = "geevalueerd", next_evaluation
    _history(plan, "plan.evaluated", changes, actor)
    db.session.flush()
    _audit("plan.evaluated", plan, actor, "plan evaluated", object_type="plan_evaluation", object_id=evaluation.id,
           meta={"plan_id": str(plan.id)})
    return evaluation


LAPSED_ON_CLOSE = "Vervallen bij het afsluiten van het plan."


def close_plan(plan: Plan, *, reason: str, lapse_open: bool, actor: Actor, today: date) -> Plan:
    """Afsluiten: refused while actions are open, unless the closer lets them lapse in the
    same step. The coordinator's term ends; a new plan may then be started."""
    _coordinator_only(plan, actor, "afsluiten")
    why = _text(reason, "reason", REASON_LENGTH[1], required=True, label="De reden van afsluiten")
    if len(why or "") < REASON_LENGTH[0]:
        raise OperationError("Geef een reden van afsluiten (minstens 5 tekens).", field="reason")
    still_open = list(db.session.scalars(select(PlanAction).where(
        PlanAction.plan_id == plan.id, PlanAction.status.in_(OPEN_STATUSES)).order_by(PlanAction.due)))
    if still_open and not lapse_open:
        raise OperationError(f"Er staan nog {len(still_open)} acties open. Rond ze eerst af, of kies ervoor ze "
                             "bij het afsluiten te laten vervallen.", field="lapse_open")
    _claim(plan, plan.version)
    for action in still_open:  # a fixed note: the plan's reason is not copied into every action
        _lapse(action, LAPSED_ON_CLOSE, actor, today, "action.lapsed")
    term = current_term(plan)
    if term is not None:
        term.end_on = today
    changes = {"status": {"old": plan.status, "new": "afgesloten"}, "closed_on": today, "reason": why,
               "lapsed": [a.id for a in still_open]}
    plan.status, plan.closed_on, plan.close_reason = "afgesloten", today, why
    _history(plan, "plan.closed", changes, actor)
    db.session.flush()
    _audit("plan.closed", plan, actor, "plan closed", meta={"lapsed": len(still_open)})
    return plan
