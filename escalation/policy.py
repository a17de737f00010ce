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
from typing import Any

from sqlalchemy import select

from escalation.ladder import LEVEL_DEFAULTS, level_of, local_day
from escalation.models import REASON_CATEGORIES, RULE_CODES, STATUSES, Escalation
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


def is_chair(user: User, overleg_id: uuid.UUID) -> bool:
    """A voorzitter member of the overleg who still holds the voorzitter role."""
    if not user.active or "voorzitter" not in user.roles:
        return False
    return db.session.scalar(select(OverlegMember.user_id).where(
        OverlegMember.overleg_id == overleg_id, OverlegMember.user_id == user.id,
        OverlegMember.role == "voorzitter")) is not None


def coordinator_id(household_id: uuid.UUID) -> uuid.UUID | None:
    """The zorgcoördinator of the family's plan that is not closed (one open term)."""
    return db.session.scalar(
        select(CoordinatorTerm.user_id).join(Plan, Plan.id == CoordinatorTerm.plan_id)
        .where(Plan.family_id == household_id, Plan.status != "afgesloten", CoordinatorTerm.end_on.is_(None)))


def is_raiser(user: User, esc: Escalation) -> bool:
    if not user.active:
        return False
    return is_chair(user, esc.overleg_id) or coordinator_id(esc.household_id) == user.id


def _with_role(role: str, organisation_ids: list[uuid.UUID]) -> list[User]:
    """Active users with ``role`` at those of ``organisation_ids`` that are a party to the
    covenant in force today: an escalation never goes to an organisation outside it."""
    parties = parties_in_force(local_day())
    organisation_ids = [o for o in organisation_ids if o in parties]
    if not organisation_ids:
        return []
    users = db.session.scalars(select(User).where(User.organisation_id.in_(organisation_ids),
                                                  User.active.is_(True)).order_by(User.name))
    return [u for u in users if role in u.roles]


def _municipalities(overleg_id: uuid.UUID) -> list[uuid.UUID]:
    """The municipalities at the overleg's table (a party of a section, or its host)."""
    overleg = db.session.get(Overleg, overleg_id)
    parties = select(SectionParty.organisation_id).join(Section).where(Section.overleg_id == overleg_id)
    return list(db.session.scalars(select(Organisation.id).where(
        Organisation.org_type == "gemeente",
        Organisation.id.in_(parties) | (Organisation.id == (overleg.organisation_id if overleg else None)))))


def addressees_at(esc: Escalation, level: int) -> list[User]:
    """Who receives ``esc`` at ``level``, per the overleg's ladder (or the default)."""
    row = level_of(esc.overleg_id, level)
    spec = row or LEVEL_DEFAULTS[level]
    role, scope = spec.recipient_role, spec.recipient_scope
    if scope == "action_owners":
        owners = _action_owners(esc)
        if owners:
            return owners
        scope = "stuck_partner"
    if scope == "stuck_partner":
        return _with_role(role, [esc.stuck_organisation_id] if esc.stuck_organisation_id else [])
    if scope == "overleg_owner":
        overleg = db.session.get(Overleg, esc.overleg_id)
        return _with_role(role, [overleg.organisation_id] if overleg else [])
    if scope == "organisation":
        org_id = row.recipient_organisation_id if row else None
        return _with_role(role, [org_id] if org_id else [])
    return _with_role(role, _municipalities(esc.overleg_id))


def _action_owners(esc: Escalation) -> list[User]:
    ids = _action_ids(esc)
    if not ids:
        return []
    owner_ids = select(PlanAction.owner_user_id).where(PlanAction.id.in_(ids))
    return list(db.session.scalars(select(User).where(User.id.in_(owner_ids), User.active.is_(True))
                                   .order_by(User.name)))


def _action_ids(esc: Escalation) -> list[uuid.UUID]:
    return [uuid.UUID(str(i)) for i in esc.blocked_action_ids or []]


def addressees(esc: Escalation) -> list[User]:
    """The addressees of the escalation's current level (none before it is raised)."""
    if esc.status == "voorgesteld" or not esc.is_open:
        return []
    return addressees_at(esc, esc.level)


def _took_part(user: User, esc: Escalation) -> bool:
    return any(step.actor_id == user.id for step in esc.steps)


def may_act(user: User | None, esc: Escalation, action: str) -> bool:
    """Whether ``user`` may take ``action`` on ``esc`` now (deny by default)."""
    if user is None or not getattr(user, "active", False) or action not in ACTIONS:
        return False
    if action in RAISER_ACTIONS:
        return is_raiser(user, esc)
    if action in ADDRESSEE_ACTIONS:
        return any(u.id == user.id for u in addressees(esc))
    if action == "configure":
        return is_chair(user, esc.overleg_id)
    return is_raiser(user, esc) or any(u.id == user.id for u in addressees(esc)) or _took_part(user, esc)


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
