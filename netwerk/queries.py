"""Read queries for screens, each loading what its screen shows in a fixed number of
statements (no lazy loads in templates)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from netwerk import access
from netwerk.auth import actor_for
from netwerk.content import contact_line
from netwerk.db import db
from netwerk.models import (
    CoordinatorTerm,
    Family,
    FamilyMember,
    Involvement,
    Match,
    Notification,
    Organisation,
    OutboxMail,
    Person,
    Plan,
    PlanAction,
    User,
)
from privacy.audit import blind
from privacy.models import Consent
from privacy.policy import decide


def organisations(include_inactive: bool = True) -> list[Organisation]:
    stmt = select(Organisation).order_by(func.lower(Organisation.name))
    if not include_inactive:
        stmt = stmt.where(Organisation.active.is_(True))
    return list(db.session.scalars(stmt))


def organisation_choices(include: object = None) -> list[SelectChoice]:
    """Active organisations for a select, plus ``include`` (a user's current one)."""
    orgs = [o for o in organisations() if o.active or o.id == include]
    return [SelectChoice(str(o.id), o.name) for o in orgs]


def users_with_organisation() -> list[User]:
    stmt = (select(User).options(selectinload(User.role_rows))
            .order_by(func.lower(User.name)))
    return list(db.session.scalars(stmt).unique())


def outbox(limit: int = 200) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(limit)))


# --- persons, families, matches (the "that" layer) ----------------------------------------

@dataclass(frozen=True)
class PersonRow:
    person: Person
    relation: str  # "betrokken" or "gezin"


def visible_persons(org_id: uuid.UUID, query: str = "") -> list[PersonRow]:
    """Persons the organisation may know of, filtered by ``query`` (pseudonym, birth year,
    or — for its own involvements — name or exact BSN). Never searches anyone else, so an
    empty result and a non-existent person look the same."""
    own = set(db.session.scalars(access.involved_person_ids(org_id)))
    persons = db.session.scalars(select(Person).where(Person.id.in_(access.visible_person_ids(org_id)))).all()
    rows = [PersonRow(p, "betrokken" if p.id in own else "gezin") for p in persons]
    needle = " ".join(query.split()).casefold()
    if needle:
        rows = [r for r in rows if _matches(r, needle)]
    return sorted(rows, key=lambda r: (r.person.pseudonym.casefold(), r.person.birth_year, str(r.person.id)))


def _matches(row: PersonRow, needle: str) -> bool:
    person = row.person
    if needle in person.pseudonym.casefold() or needle == str(person.birth_year):
        return True
    if row.relation != "betrokken":
        return False
    name = f"{person.first_name} {person.last_name}".casefold()
    return needle in name or (person.bsn is not None and needle.replace(" ", "") == person.bsn)


def involvements_of(person_ids: list[uuid.UUID]) -> list[Involvement]:
    return list(db.session.scalars(
        select(Involvement).where(Involvement.person_id.in_(person_ids), Involvement.status == "actief")
        .options(selectinload(Involvement.organisation)).order_by(Involvement.start_date)))


def household(person_id: uuid.UUID, org_id: uuid.UUID) -> tuple[Family | None, list[PersonRow]]:
    """The person's household as the organisation may see it: members reached through the
    household with a safety flag stay out of sight."""
    family = db.session.scalar(select(Family).join(FamilyMember).where(FamilyMember.person_id == person_id)
                               .options(selectinload(Family.members).selectinload(FamilyMember.person)))
    if family is None:
        return None, []
    return family, visible_members(family, org_id)


def visible_members(family: Family, org_id: uuid.UUID) -> list[PersonRow]:
    """The members the organisation may know of (a flagged member reached only through the
    household stays out of sight), with their relation in the household."""
    visible = set(db.session.scalars(access.visible_person_ids(org_id)))
    return [PersonRow(m.person, m.relation) for m in family.members if m.person_id in visible]


def consents_of(person_id: uuid.UUID) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.person_id == person_id)
                                   .order_by(Consent.given_on.desc(), Consent.id.desc())))


def matches_of_org(org_id: uuid.UUID, person_id: uuid.UUID | None = None) -> list[Match]:
    mine = select(Involvement.id).where(Involvement.organisation_id == org_id)
    stmt = (select(Match).where(or_(Match.first_id.in_(mine), Match.second_id.in_(mine)))
            .options(selectinload(Match.first).selectinload(Involvement.organisation),
                     selectinload(Match.first).selectinload(Involvement.person),
                     selectinload(Match.second).selectinload(Involvement.organisation),
                     selectinload(Match.second).selectinload(Involvement.person))
            .order_by(Match.created_at.desc()))
    matches = list(db.session.scalars(stmt))
    if person_id is not None:
        matches = [m for m in matches if person_id in (m.first.person_id, m.second.person_id)]
    return matches


def notifications_of(user_id: uuid.UUID, limit: int = 100) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)
                                   .order_by(Notification.created_at.desc()).limit(limit)))


def unread_notifications(user_id: uuid.UUID) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


# --- Mijn acties (issue 4): actions between meetings -----------------------------------------
#
# Disclosure: one ``decide`` per (family, owning organisation) group, never per action, so
# the page costs a fixed number of statements however many actions a family has (and one
# audit entry per disclosure group, with the number of actions it covers). Actions owned
# by the viewer or their organisation are the organisation's own content (purpose None,
# the gate's own_organisation rule). Other organisations' actions reach the viewer only on
# families whose current zorgcoördinator they are: that is exactly the plan context of
# ``access._plan_context``, so the purpose is "procesregie" without asking the providers
# per person (which would cost statements per family).

OPEN_ACTION_STATES = ("open", "bezig")


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days (Monday to Friday) after ``start``."""
    current, left = start, max(days, 0)
    while left:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def due_soon_until(today: date) -> date:
    return add_working_days(today, current_app.config.get("ACTION_DUE_SOON_WORKING_DAYS", 3))


@dataclass
class ActionRow:
    action: PlanAction
    family: Family
    relation: str  # "eigen" (user), "organisatie" or "regie" (as zorgcoördinator)
    owner: str  # who owns it: a name and organisation ("that", never content)
    shown: bool  # the gate allowed the texts
    withheld: str | None  # the "that" line when not shown
    overdue: bool
    due_soon: bool

    @property
    def what(self) -> str | None:
        return self.action.what if self.shown else None

    @property
    def done_when(self) -> str | None:
        return self.action.done_when if self.shown else None


def _coordinated_plan_ids(user_id: uuid.UUID) -> Select:
    return select(CoordinatorTerm.plan_id).where(CoordinatorTerm.user_id == user_id, CoordinatorTerm.end_on.is_(None))


def may_touch_action(user: User, action: PlanAction) -> bool:
    """Owner, the owner's organisation, or the family's current zorgcoördinator."""
    if action.owner_user_id == user.id or (action.owner_org_id is not None
                                           and action.owner_org_id == user.organisation_id):
        return True
    return db.session.scalar(_coordinated_plan_ids(user.id).where(CoordinatorTerm.plan_id == action.plan_id)
                             .limit(1)) is not None


def my_actions(user: User, today: date) -> list[ActionRow]:
    """Open actions the user owns, their organisation owns, or that sit on a plan they
    coordinate, sorted by due date, each read through the gate once per (family, owner)."""
    org_id = user.organisation_id
    mine = [PlanAction.owner_user_id == user.id]
    if org_id is not None:
        mine.append(PlanAction.owner_org_id == org_id)
    coordinated = set(db.session.scalars(_coordinated_plan_ids(user.id)))
    if coordinated:
        mine.append(PlanAction.plan_id.in_(coordinated))
    actions = list(db.session.scalars(
        select(PlanAction).join(Plan, Plan.id == PlanAction.plan_id)
        .where(or_(*mine), PlanAction.status.in_(OPEN_ACTION_STATES), Plan.status != "afgesloten")
        .options(selectinload(PlanAction.plan).selectinload(Plan.family),
                 selectinload(PlanAction.owner_user).selectinload(User.organisation))
        .order_by(PlanAction.due, PlanAction.created_at)))
    if not actions:
        return []
    family_ids = {a.plan.family_id for a in actions}
    members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for family_id, person_id in db.session.execute(
            select(FamilyMember.family_id, FamilyMember.person_id).where(FamilyMember.family_id.in_(family_ids))):
        members[family_id].append(person_id)
    viewer = actor_for(user, access.work_role(user))
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[PlanAction]] = defaultdict(list)
    for a in actions:
        groups[(a.plan.family_id, a.owner_org_id or a.organisation_id)].append(a)
    allowed: dict[tuple[uuid.UUID, uuid.UUID], bool] = {}
    for (family_id, owner), items in groups.items():
        own = owner == org_id or all(a.owner_user_id == user.id for a in items)
        subjects = [blind("family", family_id), *(blind("person", p) for p in members[family_id])]
        allowed[(family_id, owner)] = decide(
            viewer, subjects=subjects, category="plan", purpose=None if own else "procesregie",
            object_type="plan", object_id=items[0].plan_id, owner_org_id=owner,
            meta={"pieces": len(items), "context": "mijn_acties"}, on=today).allowed
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_({owner for _, owner in groups})))}
    soon = due_soon_until(today)
    rows = []
    for a in actions:
        key = (a.plan.family_id, a.owner_org_id or a.organisation_id)
        relation = "eigen" if a.owner_user_id == user.id else (
            "organisatie" if org_id is not None and a.owner_org_id == org_id else "regie")
        if a.owner_user is not None:
            org = a.owner_user.organisation
            owner = f"{a.owner_user.name} ({org.name})" if org is not None else a.owner_user.name
        else:
            owner = "Iemand uit het netwerk van het gezin"
        rows.append(ActionRow(a, a.plan.family, relation, owner, allowed[key],
                              None if allowed[key] else contact_line(orgs[key[1]], None),
                              overdue=a.due < today, due_soon=today <= a.due <= soon))
    return rows


def action_reminders_due(today: date) -> list[PlanAction]:
    """Open actions with an owning user that are overdue or due within the window."""
    return list(db.session.scalars(
        select(PlanAction).join(Plan, Plan.id == PlanAction.plan_id)
        .where(PlanAction.status.in_(OPEN_ACTION_STATES), PlanAction.owner_user_id.is_not(None),
               PlanAction.due <= due_soon_until(today), Plan.status != "afgesloten")
        .options(selectinload(PlanAction.owner_user))
        .order_by(PlanAction.due)))
