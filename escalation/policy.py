"""Who may act on an escalation, who receives it, and the minimal package they see.

- Raising, dismissing, resolving and de-escalating are for the chair of the overleg
  (a voorzitter member who still holds that role) and the family's current zorgcoördinator.
- Acknowledging and deciding are for the addressees of the current level.
- Configuring the ladder and the rules is for the chairs of the overleg.
- Seeing an escalation: the raisers, the current addressees and anyone who took a step in
  it. What they see is the minimal package — pseudonym, blocked actions (owner organisation,
  due date, status; the action text only where the privacy gate allows it for the viewer),
  reason category, the ask, level, deadline and the rule's explanation. Never the file.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from escalation.ladder import LEVEL_DEFAULTS, level_of, local_day
from escalation.models import REASON_CATEGORIES, RULE_CODES, STATUSES, Escalation, LadderLevel
from meetings.models import Overleg, OverlegMember, Section, SectionParty
from netwerk.db import db
from netwerk.models import FamilyMember, Organisation, User
from netwerk.models.plans import CoordinatorTerm, Plan, PlanAction
from privacy.audit import Actor, blind
from privacy.policy import Ask, decide_many
from privacy.queries import parties_in_force

RAISER_ACTIONS = frozenset({"raise", "dismiss", "resolve", "deescalate"})
ADDRESSEE_ACTIONS = frozenset({"acknowledge", "decide"})
ACTIONS = ("view", "raise", "acknowledge", "decide", "resolve", "deescalate", "dismiss", "configure")


class Lookup:
    """The facts the policy reads, memoised for one read of many escalations (a screen, a
    list in the API): who chairs, who coordinates, the ladder, the covenant's parties and
    the people at each organisation are read once per screen instead of once per row and
    per question. Made fresh for every decision that changes something, so an operation
    never decides on facts read before its own change. :meth:`preload` reads what a list
    of escalations will need in a fixed number of statements."""

    def __init__(self, on: date | None = None) -> None:
        self.on = on  # the day whose covenant parties count (default: today in the Netherlands)
        self._chairs: dict[uuid.UUID, set[uuid.UUID]] = {}  # user -> overleggen they chair
        self._coordinators: dict[uuid.UUID, uuid.UUID | None] = {}
        self._levels: dict[tuple[uuid.UUID, int], LadderLevel | None] = {}
        self._parties: set[uuid.UUID] | None = None
        self._users: dict[uuid.UUID, list[User]] = {}  # organisation -> its active users
        self._owners: dict[uuid.UUID, uuid.UUID | None] = {}  # action -> its owner (a user)
        self._municipalities: dict[uuid.UUID, list[uuid.UUID]] = {}
        self._overleg_orgs: dict[uuid.UUID, uuid.UUID | None] = {}

    def preload(self, escalations: Iterable[Escalation]) -> Lookup:
        escalations = list(escalations)
        if not escalations:
            return self
        households = {e.household_id for e in escalations} - set(self._coordinators)
        self._coordinators.update(dict.fromkeys(households))
        if households:
            self._coordinators.update(dict(db.session.execute(
                select(Plan.family_id, CoordinatorTerm.user_id).join(Plan, Plan.id == CoordinatorTerm.plan_id)
                .where(Plan.family_id.in_(households), Plan.status != "afgesloten",
                       CoordinatorTerm.end_on.is_(None))).all()))
        overleggen = {e.overleg_id for e in escalations}
        for overleg_id in overleggen:
            for level in LEVEL_DEFAULTS:
                self._levels.setdefault((overleg_id, level), None)
        for row in db.session.scalars(select(LadderLevel).where(LadderLevel.overleg_id.in_(overleggen))):
            self._levels[(row.overleg_id, row.level)] = row
        self._overleg_orgs.update(dict(db.session.execute(
            select(Overleg.id, Overleg.organisation_id).where(Overleg.id.in_(overleggen))).all()))
        self._load_municipalities(overleggen - set(self._municipalities))
        actions = {a for e in escalations for a in _action_ids(e)} - set(self._owners)
        if actions:
            self._owners.update(dict.fromkeys(actions))
            self._owners.update(dict(db.session.execute(
                select(PlanAction.id, PlanAction.owner_user_id).where(PlanAction.id.in_(actions))).all()))
        orgs = {e.stuck_organisation_id for e in escalations} | set(self._overleg_orgs.values())
        orgs |= {row.recipient_organisation_id for row in self._levels.values() if row is not None}
        orgs |= {o for found in self._municipalities.values() for o in found}
        self._load_users({o for o in orgs if o is not None})
        return self

    def is_chair(self, user: User, overleg_id: uuid.UUID) -> bool:
        """A voorzitter member of the overleg who still holds the voorzitter role."""
        if not user.active or "voorzitter" not in user.roles:
            return False
        if user.id not in self._chairs:
            self._chairs[user.id] = set(db.session.scalars(select(OverlegMember.overleg_id).where(
                OverlegMember.user_id == user.id, OverlegMember.role == "voorzitter")))
        return overleg_id in self._chairs[user.id]

    def coordinator_id(self, household_id: uuid.UUID) -> uuid.UUID | None:
        """The zorgcoördinator of the family's plan that is not closed (one open term)."""
        if household_id not in self._coordinators:
            self._coordinators[household_id] = db.session.scalar(
                select(CoordinatorTerm.user_id).join(Plan, Plan.id == CoordinatorTerm.plan_id)
                .where(Plan.family_id == household_id, Plan.status != "afgesloten",
                       CoordinatorTerm.end_on.is_(None)))
        return self._coordinators[household_id]

    def level(self, overleg_id: uuid.UUID, level: int) -> LadderLevel | None:
        if (overleg_id, level) not in self._levels:
            self._levels[(overleg_id, level)] = level_of(overleg_id, level)
        return self._levels[(overleg_id, level)]

    def parties(self) -> set[uuid.UUID]:
        if self._parties is None:
            self._parties = parties_in_force(self.on or local_day())
        return self._parties

    def with_role(self, role: str, organisation_ids: Iterable[uuid.UUID | None]) -> list[User]:
        """Active users with ``role`` at those organisations that are a party to the
        covenant in force today: an escalation never goes to an organisation outside it."""
        wanted = [o for o in organisation_ids if o is not None and o in self.parties()]
        self._load_users(set(wanted))
        return sorted((u for o in dict.fromkeys(wanted) for u in self._users[o] if role in u.roles),
                      key=lambda u: u.name)

    def action_owners(self, esc: Escalation) -> list[User]:
        ids = _action_ids(esc)
        missing = [a for a in ids if a not in self._owners]
        if missing:
            self._owners.update(dict.fromkeys(missing))
            self._owners.update(dict(db.session.execute(
                select(PlanAction.id, PlanAction.owner_user_id).where(PlanAction.id.in_(missing))).all()))
        owner_ids = {self._owners[a] for a in ids if self._owners.get(a)}
        if not owner_ids:
            return []
        found = {u.id: u for users in self._users.values() for u in users}
        if not owner_ids <= set(found):
            found.update({u.id: u for u in db.session.scalars(select(User).where(
                User.id.in_(owner_ids - set(found)), User.active.is_(True)))})
        return sorted((found[i] for i in owner_ids if i in found), key=lambda u: u.name)

    def overleg_organisation(self, overleg_id: uuid.UUID) -> uuid.UUID | None:
        if overleg_id not in self._overleg_orgs:
            overleg = db.session.get(Overleg, overleg_id)
            self._overleg_orgs[overleg_id] = overleg.organisation_id if overleg else None
        return self._overleg_orgs[overleg_id]

    def municipalities(self, overleg_id: uuid.UUID) -> list[uuid.UUID]:
        """The municipalities at the overleg's table (a party of a section, or its host)."""
        if overleg_id not in self._municipalities:
            self._load_municipalities({overleg_id})
        return self._municipalities[overleg_id]

    def _load_municipalities(self, overleggen: set[uuid.UUID]) -> None:
        if not overleggen:
            return
        for overleg_id in overleggen:
            self._municipalities[overleg_id] = []
        at_table = select(Section.overleg_id, SectionParty.organisation_id).join(
            SectionParty, SectionParty.section_id == Section.id).where(Section.overleg_id.in_(overleggen))
        hosts = select(Overleg.id, Overleg.organisation_id).where(Overleg.id.in_(overleggen))
        pairs = set(db.session.execute(at_table).all()) | set(db.session.execute(hosts).all())
        towns = set(db.session.scalars(select(Organisation.id).where(
            Organisation.org_type == "gemeente", Organisation.id.in_({o for _, o in pairs if o is not None}))))
        for overleg_id, org_id in sorted(pairs, key=str):
            if org_id in towns and org_id not in self._municipalities[overleg_id]:
                self._municipalities[overleg_id].append(org_id)

    def _load_users(self, organisation_ids: set[uuid.UUID]) -> None:
        missing = organisation_ids - set(self._users)
        if not missing:
            return
        for org_id in missing:
            self._users[org_id] = []
        for user in db.session.scalars(select(User).where(User.organisation_id.in_(missing), User.active.is_(True))
                                       .options(selectinload(User.role_rows)).order_by(User.name)):
            self._users[user.organisation_id].append(user)


def is_chair(user: User, overleg_id: uuid.UUID, lookup: Lookup | None = None) -> bool:
    """A voorzitter member of the overleg who still holds the voorzitter role."""
    return (lookup or Lookup()).is_chair(user, overleg_id)


def coordinator_id(household_id: uuid.UUID, lookup: Lookup | None = None) -> uuid.UUID | None:
    """The zorgcoördinator of the family's plan that is not closed (one open term)."""
    return (lookup or Lookup()).coordinator_id(household_id)


def is_raiser(user: User, esc: Escalation, lookup: Lookup | None = None) -> bool:
    if not user.active:
        return False
    lookup = lookup or Lookup()
    return lookup.is_chair(user, esc.overleg_id) or lookup.coordinator_id(esc.household_id) == user.id


def addressees_at(esc: Escalation, level: int, lookup: Lookup | None = None) -> list[User]:
    """Who receives ``esc`` at ``level``, per the overleg's ladder (or the default)."""
    lookup = lookup or Lookup()
    row = lookup.level(esc.overleg_id, level)
    spec = row or LEVEL_DEFAULTS[level]
    role, scope = spec.recipient_role, spec.recipient_scope
    if scope == "action_owners":
        owners = [u for u in lookup.action_owners(esc) if u.organisation_id in lookup.parties()]
        if owners:
            return owners
        scope = "stuck_partner"
    if scope == "stuck_partner":
        return lookup.with_role(role, [esc.stuck_organisation_id])
    if scope == "overleg_owner":
        return lookup.with_role(role, [lookup.overleg_organisation(esc.overleg_id)])
    if scope == "organisation":
        return lookup.with_role(role, [row.recipient_organisation_id if row else None])
    return lookup.with_role(role, lookup.municipalities(esc.overleg_id))


def _action_ids(esc: Escalation) -> list[uuid.UUID]:
    return [uuid.UUID(str(i)) for i in esc.blocked_action_ids or []]


def addressees(esc: Escalation, lookup: Lookup | None = None) -> list[User]:
    """The addressees of the escalation's current level (none before it is raised)."""
    if esc.status == "voorgesteld" or not esc.is_open:
        return []
    return addressees_at(esc, esc.level, lookup)


def _took_part(user: User, esc: Escalation) -> bool:
    return any(step.actor_id == user.id for step in esc.steps)


def may_act(user: User | None, esc: Escalation, action: str, lookup: Lookup | None = None) -> bool:
    """Whether ``user`` may take ``action`` on ``esc`` now (deny by default). ``lookup``:
    the memo of a screen of many escalations; without it the facts are read fresh."""
    if user is None or not getattr(user, "active", False) or action not in ACTIONS:
        return False
    lookup = lookup or Lookup()
    if action in RAISER_ACTIONS:
        return is_raiser(user, esc, lookup)
    if action in ADDRESSEE_ACTIONS:
        return any(u.id == user.id for u in addressees(esc, lookup))
    if action == "configure":
        return lookup.is_chair(user, esc.overleg_id)
    return (is_raiser(user, esc, lookup) or any(u.id == user.id for u in addressees(esc, lookup))
            or _took_part(user, esc))


def may_configure(user: User | None, overleg_id: uuid.UUID) -> bool:
    return bool(user is not None and is_chair(user, overleg_id))


def minimal_package(esc: Escalation, viewer: User | None = None, *, purpose: str | None = None) -> dict[str, Any]:
    """What goes up the ladder. The action text is asked of the privacy gate for
    ``viewer`` (one audited decision per owning organisation); without a viewer, or when
    the gate refuses, only the action's frame (owner organisation, due date, status) is in."""
    row = level_of(esc.overleg_id, esc.level)
    return {
        "id": str(esc.id),
        "pseudonym": esc.household.pseudonym,
        "overleg": esc.overleg.name,
        "status": esc.status,
        "status_label": STATUSES[esc.status],
        "level": esc.level,
        "level_name": row.name if row else LEVEL_DEFAULTS[esc.level].name,
        "reason_category": esc.reason_category,
        "reason_label": REASON_CATEGORIES.get(esc.reason_category or ""),
        "ask": esc.ask,
        "deadline": esc.deadline,
        "top_overdue_since": esc.top_overdue_since,
        "explanation": esc.explanation,
        "rule_code": esc.rule_code,
        "rule_label": RULE_CODES.get(esc.rule_code or ""),
        "stuck_organisation": esc.stuck_organisation.name if esc.stuck_organisation else None,
        "raised_at": esc.raised_at,
        "blocked_actions": blocked_actions(esc, viewer, purpose),
    }


def blocked_actions(esc: Escalation, viewer: User | None, purpose: str | None) -> list[dict[str, Any]]:
    actions = db.session.scalars(select(PlanAction).where(PlanAction.id.in_(_action_ids(esc)))
                                 .order_by(PlanAction.due)).all()
    if not actions:
        return []
    orgs = {o.id: o.name for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_({a.owner_org_id or a.organisation_id for a in actions})))}
    texts = _action_texts(esc, actions, viewer, purpose) if viewer is not None else {}
    return [{"id": str(a.id), "owner_organisation": orgs.get(a.owner_org_id or a.organisation_id),
             "due": a.due, "status": a.status, "what": texts.get(a.id)} for a in actions]


def _action_texts(esc: Escalation, actions: list[PlanAction], viewer: User,
                  purpose: str | None) -> dict[uuid.UUID, str]:
    persons = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == esc.household_id))
    subjects = (blind("family", esc.household_id), *(blind("person", p) for p in persons))
    asks = [Ask(subjects=subjects, category="plan", purpose=purpose, owner_org_id=a.owner_org_id or a.organisation_id,
                object_id=a.id) for a in actions]
    actor = reading_actor(viewer)
    decisions = decide_many(actor, asks, object_type="plan_action",
                            meta={"context": "escalation", "escalation": str(esc.id)})
    return {a.id: a.what for a, d in zip(actions, decisions, strict=True) if d.allowed}


# The roles in which an escalation's reader may have an action's text read for them (the
# gate then decides, e.g. their own organisation's action): the work roles and the
# addressees up the ladder. Never the privacy officer's, whatever other role they hold.
READING_ROLES = ("deelnemer", "voorzitter", "secretaris", "leidinggevende", "bestuurder")


def reading_actor(user: User) -> Actor:
    """The actor an escalation screen reads action texts as; role None (the gate refuses)
    for anyone without a reading role."""
    role = next((r for r in READING_ROLES if r in user.roles), None)
    return Actor(user_id=user.id, org_id=user.organisation_id, role=role, roles=user.roles)
