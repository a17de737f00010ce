"""Read queries of the escalation screens: which escalations a user may see (the board,
a family's history), what each viewer is shown of them, and the open escalations that put
a family on its overleg's next agenda.

What a viewer is shown:

* the chair of the overleg and the family's zorgcoördinator (the people who
  raise and close escalations) see the whole record: the steps with who took them and
  their notes, and the decision;
* everyone else who may see it — the addressees up the ladder: leidinggevenden,
  bestuurders — sees only the **minimal package** (``escalation.policy.minimal_package``):
  pseudonym, blocked actions (owning organisation, due date, status), reason category,
  the ask, level, deadline and the rule's explanation. Never notes, concerns or the file.

The text of a blocked action is plan content: it is shown only where the privacy gate
allows it for the viewer, asked with a purpose the viewer's context gives for the
household (the plan's procesregie, a match) — or, for the minimal package, with no
purpose at all, so only the viewer's own organisation's action can ever show. One gate
pass for the whole screen, audited per outcome (``privacy.policy.decide_many``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import selectinload

from escalation import policy
from escalation.models import OPEN_STATUSES, Escalation, EscalationStep, LadderLevel
from meetings.models import Meeting, Overleg, OverlegMember, Section, SectionParty
from meetings.operations import agenda
from meetings.policy import overleggen_of
from netwerk import access
from netwerk.db import db, utcnow
from netwerk.models import FamilyMember, Organisation, User
from netwerk.models.plans import CoordinatorTerm, Plan, PlanAction
from privacy.audit import Actor, blind
from privacy.policy import Ask, decide_many

# Lifecycle steps on screen: URL word -> (policy action, statuses in which it is offered).
STEPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "opschalen": ("raise", ("voorgesteld",)),
    "afwijzen": ("dismiss", ("voorgesteld",)),
    "ontvangen": ("acknowledge", ("opgeschaald",)),
    "besluiten": ("decide", ("opgeschaald", "ontvangen")),
    "oplossen": ("resolve", ("opgeschaald", "ontvangen", "besloten")),
    "afschalen": ("deescalate", ("opgeschaald", "ontvangen", "besloten")),
}
STEP_LABELS = {"opschalen": "Opschalen", "afwijzen": "Voorstel afwijzen", "ontvangen": "Ontvangst bevestigen",
               "besluiten": "Besluit vastleggen", "oplossen": "Opgelost", "afschalen": "Afschalen"}
WORK_ROLES = ("deelnemer", "voorzitter", "secretaris")


@dataclass(frozen=True)
class BlockedAction:
    id: str
    organisation: str  # the owning organisation: "that", always shown
    due: date | None
    status: str | None
    text: str | None  # None: the gate withholds it from this viewer
    plan_id: uuid.UUID | None = None


@dataclass
class Row:
    """One escalation as one viewer may see it."""

    esc: Escalation
    pseudonym: str
    overleg: str
    level_name: str
    since: datetime
    minimal: bool
    actions: list[BlockedAction] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # the lifecycle steps this viewer may take now
    overdue: bool = False
    history: list[EscalationStep] = field(default_factory=list)  # full viewers only


def full_viewer(user: User, esc: Escalation, lookup: policy.Lookup | None = None) -> bool:
    """The chair of the overleg or the household's current zorgcoördinator: those who
    raise and close escalations see the whole record."""
    return policy.is_raiser(user, esc, lookup)


def visible(user: User, escalations: list[Escalation], lookup: policy.Lookup | None = None) -> list[Escalation]:
    """Deny by default: only what ``policy.may_act(user, esc, "view")`` allows."""
    lookup = lookup or policy.Lookup().preload(escalations)
    return [e for e in escalations if policy.may_act(user, e, "view", lookup)]


def _candidates(user: User) -> ColumnElement[bool]:
    """A cheap SQL superset of what ``policy.may_act(user, esc, "view")`` allows, so the
    exact check runs over a handful of rows instead of every escalation of the region:
    the overleggen the user chairs, families they coordinate or own an action in, steps they
    took, and escalations whose ladder could reach their organisation (stuck partner, host,
    at the table — the municipality —, or named on a rung)."""
    org = user.organisation_id
    coordinated = select(Plan.family_id).join(CoordinatorTerm, CoordinatorTerm.plan_id == Plan.id).where(
        CoordinatorTerm.user_id == user.id, CoordinatorTerm.end_on.is_(None))
    owned = select(Plan.family_id).join(PlanAction, PlanAction.plan_id == Plan.id).where(
        PlanAction.owner_user_id == user.id)
    reach = (select(OverlegMember.overleg_id).where(OverlegMember.user_id == user.id)
             .union(select(Overleg.id).where(Overleg.organisation_id == org),
                    select(Section.overleg_id).join(SectionParty, SectionParty.section_id == Section.id)
                    .where(SectionParty.organisation_id == org),
                    select(LadderLevel.overleg_id).where(LadderLevel.recipient_organisation_id == org)))
    return or_(Escalation.overleg_id.in_(reach), Escalation.household_id.in_(coordinated),
               Escalation.household_id.in_(owned), Escalation.stuck_organisation_id == org,
               Escalation.id.in_(select(EscalationStep.escalation_id).where(EscalationStep.actor_id == user.id)))


def board(user: User, *, overleg_id: uuid.UUID | None = None, level: int | None = None,
          status: str | None = None) -> list[Escalation]:
    """The board: open escalations (or those in ``status``) the user may see, oldest first."""
    query = select(Escalation).where(_candidates(user)).options(
        selectinload(Escalation.overleg), selectinload(Escalation.household), selectinload(Escalation.steps))
    query = query.where(Escalation.status == status) if status else query.where(Escalation.status.in_(OPEN_STATUSES))
    if overleg_id is not None:
        query = query.where(Escalation.overleg_id == overleg_id)
    if level is not None:
        query = query.where(Escalation.level == level)
    return visible(user, list(db.session.scalars(query.order_by(Escalation.proposed_at))))


def of_family(user: User, family_id: uuid.UUID) -> list[Escalation]:
    """Every escalation of a household the user may see, newest first (the history)."""
    rows = db.session.scalars(select(Escalation).where(Escalation.household_id == family_id, _candidates(user))
                              .options(selectinload(Escalation.steps)).order_by(Escalation.proposed_at.desc()))
    return visible(user, list(rows))


def overleggen_on_board(user: User, rows: list[Escalation]) -> list[Overleg]:
    """The board's overleg filter: those the user takes part in, and those of the rows shown."""
    ids = {o.id for o in overleggen_of(user)} | {e.overleg_id for e in rows}
    if not ids:
        return []
    return list(db.session.scalars(select(Overleg).where(Overleg.id.in_(ids)).order_by(Overleg.name)))


def rows_for(user: User, escalations: list[Escalation], today: date | None = None,
             context: str = "opschaling", *, minimal: bool = False) -> list[Row]:
    """What ``user`` is shown of each escalation (``minimal``: the minimal package for
    everyone, as the API gives it). The caller commits (the gate's audit entries)."""
    today = today or utcnow().date()
    lookup = policy.Lookup().preload(escalations)
    levels = _level_names({e.overleg_id for e in escalations})
    full = {e.id: not minimal and full_viewer(user, e, lookup) for e in escalations}
    texts = _action_texts(user, escalations, full, today, context)
    rows = []
    for esc in escalations:
        minimal = not full[esc.id]
        rows.append(Row(
            esc=esc, pseudonym=esc.household.pseudonym, overleg=esc.overleg.name,
            level_name=levels.get((esc.overleg_id, esc.level), f"Niveau {esc.level}"),
            since=esc.level_changed_at or esc.raised_at or esc.proposed_at, minimal=minimal,
            actions=texts.get(esc.id, []),
            steps=steps_for(user, esc, lookup), overdue=bool(esc.is_open and esc.deadline and esc.deadline < today),
            history=[] if minimal else list(esc.steps)))
    return rows


def steps_for(user: User, esc: Escalation, lookup: policy.Lookup | None = None) -> list[str]:
    lookup = lookup or policy.Lookup()
    return [word for word, (action, states) in STEPS.items()
            if esc.status in states and policy.may_act(user, esc, action, lookup)]


def _level_names(overleg_ids: set[uuid.UUID]) -> dict[tuple[uuid.UUID, int], str]:
    if not overleg_ids:
        return {}
    return {(lvl.overleg_id, lvl.level): lvl.name for lvl in db.session.scalars(
        select(LadderLevel).where(LadderLevel.overleg_id.in_(overleg_ids)))}


def _action_ids(esc: Escalation) -> list[uuid.UUID]:
    found = []
    for value in esc.blocked_action_ids or ():
        try:
            found.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return found


def _purpose(actor: Actor, members: list[uuid.UUID], related: set[uuid.UUID], family_id: uuid.UUID,
             cache: dict[uuid.UUID, str | None]) -> str | None:
    """The purpose the viewer's context gives for the household (procesregie first), from
    the members the viewer's organisation knows of (``related``)."""
    if family_id not in cache:
        seen = sorted((m for m in members if m in related), key=str)
        contexts = [c for c in access.family_purposes(actor, seen, utcnow()) if not c.emergency] if seen else []
        purposes = [c.purpose for c in contexts]
        cache[family_id] = "procesregie" if "procesregie" in purposes else (purposes[0] if purposes else None)
    return cache[family_id]


def _action_texts(user: User, escalations: list[Escalation], full: dict[uuid.UUID, bool], today: date,
                  context: str) -> dict[uuid.UUID, list[BlockedAction]]:
    """The blocked actions of every escalation, their texts through one gate pass."""
    wanted = {a for e in escalations for a in _action_ids(e)}
    if not wanted:
        return {}
    actions = {a.id: a for a in db.session.scalars(select(PlanAction).where(PlanAction.id.in_(wanted))
                                                    .options(selectinload(PlanAction.plan)))}
    orgs = {o.id: o.name for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(
        {a.owner_org_id or a.organisation_id for a in actions.values()})))}
    actor = policy.reading_actor(user)
    members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    families = {e.household_id for e in escalations}
    for family_id, person_id in db.session.execute(select(FamilyMember.family_id, FamilyMember.person_id)
                                                   .where(FamilyMember.family_id.in_(families))):
        members[family_id].append(person_id)
    related = access.related_person_ids(user.organisation_id, [p for ps in members.values() for p in ps]) \
        if any(full.values()) else set()
    purposes: dict[uuid.UUID, str | None] = {}
    groups: dict[tuple[uuid.UUID, uuid.UUID, str | None], list[PlanAction]] = defaultdict(list)
    for esc in escalations:
        # The minimal package asks for no purpose: only the viewer's own organisation's text.
        purpose = _purpose(actor, members[esc.household_id], related, esc.household_id, purposes) \
            if full[esc.id] else None
        for action_id in _action_ids(esc):
            action = actions.get(action_id)
            if action is not None and action.plan.family_id == esc.household_id:
                groups[(esc.household_id, action.owner_org_id or action.organisation_id, purpose)].append(action)
    keys = list(groups)
    asks = [Ask((blind("family", fam), *(blind("person", p) for p in members[fam])), "plan", purpose, owner,
                groups[(fam, owner, purpose)][0].plan_id) for fam, owner, purpose in keys]
    decisions = decide_many(actor, asks, object_type="plan", on=today, meta={"context": context}) if asks else []
    shown = {(k[0], k[1], k[2]): d.allowed for k, d in zip(keys, decisions, strict=True)}
    result: dict[uuid.UUID, list[BlockedAction]] = {}
    for esc in escalations:
        purpose = purposes.get(esc.household_id) if full[esc.id] else None
        lines = []
        for action_id in _action_ids(esc):
            action = actions.get(action_id)
            if action is None or action.plan.family_id != esc.household_id:
                lines.append(BlockedAction(str(action_id), "onbekend", None, None, None))
                continue
            owner = action.owner_org_id or action.organisation_id
            allowed = shown.get((esc.household_id, owner, purpose), False)
            lines.append(BlockedAction(str(action.id), orgs.get(owner, ""), action.due, action.status,
                                       action.what if allowed else None, action.plan_id))
        result[esc.id] = lines
    return result


# --- the next meeting's agenda ----------------------------------------------------------

def open_escalation_reasons(meeting: Meeting) -> dict[uuid.UUID, set[str]]:
    """Families with an open escalation in the meeting's overleg: a fixed agenda item with
    the structured reason "escalatie" (registered with the agenda preparation below)."""
    families = db.session.scalars(select(Escalation.household_id).where(
        Escalation.overleg_id == meeting.overleg_id, Escalation.status.in_(OPEN_STATUSES)).distinct())
    return {family_id: {"escalatie"} for family_id in families}


if open_escalation_reasons not in agenda.REASON_PROVIDERS:
    agenda.REASON_PROVIDERS.append(open_escalation_reasons)
