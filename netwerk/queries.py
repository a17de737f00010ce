"""Read queries for screens, each loading what its screen shows in a fixed number of
statements (no lazy loads in templates)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from netwerk import access
from netwerk.auth import actor_for
from netwerk.content import PlanContent, contact_line
from netwerk.db import db, utcnow
from netwerk.models import (
    CoordinatorTerm,
    Family,
    FamilyMember,
    Involvement,
    Match,
    NetworkMember,
    Notification,
    Organisation,
    OutboxMail,
    Person,
    Plan,
    PlanAction,
    PlanHistory,
    User,
)
from netwerk.models.plans import ACTION_STATES, FAILURE_REASONS, LIFE_DOMAINS, NETWORK_KINDS, PLAN_STATES
from netwerk.operations.plans import may_accept
from netwerk.workdays import add_working_days
from privacy.audit import Actor, blind
from privacy.models import Consent
from privacy.policy import Ask, decide, decide_many


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
NETWORK_OWNER = "Iemand uit het netwerk van het gezin"  # how lists name a network member


def due_soon_until(today: date) -> date:
    return add_working_days(today, current_app.config.get("ACTION_DUE_SOON_WORKING_DAYS", 3))


def accept_days() -> int:
    return current_app.config.get("ACTION_ACCEPT_DAYS", 5)


def awaits_acceptance(action: PlanAction) -> bool:
    """An open action of a professional (or a network member with an account) that its
    owner has not yet accepted. Informal owners agree at the kitchen table instead."""
    has_account = action.owner_user_id is not None or (
        action.owner_member is not None and action.owner_member.user_id is not None)
    return action.accepted_at is None and action.status in OPEN_ACTION_STATES and has_account


def acceptance_late(action: PlanAction, now: datetime) -> bool:
    """Not accepted within ACTION_ACCEPT_DAYS after it was made: "niet geaccepteerd"."""
    return awaits_acceptance(action) and action.created_at <= now - timedelta(days=accept_days())


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
    awaiting: bool = False  # not yet accepted by its owner
    not_accepted: bool = False  # and past the acceptance window
    can_accept: bool = False  # the viewer may accept it with one click

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


def action_texts_allowed(viewer: Actor, user: User, actions: list[PlanAction],
                         members: dict[uuid.UUID, list[uuid.UUID]], context: str,
                         today: date) -> dict[tuple[uuid.UUID, uuid.UUID], bool]:
    """Whether the texts of ``actions`` may be shown, per (family, owning organisation) —
    the owner's organisation, as on the plan page. The user's own and their organisation's
    actions need no purpose; others' are read for procesregie. One gate pass for the whole
    list, audited per outcome (see :func:`privacy.policy.decide_many`)."""
    groups: dict[tuple[uuid.UUID, uuid.UUID], list[PlanAction]] = defaultdict(list)
    for a in actions:
        groups[(a.plan.family_id, a.owner_org_id or a.organisation_id)].append(a)
    asks = []
    for (family_id, owner), items in groups.items():
        own = owner == user.organisation_id or all(a.owner_user_id == user.id for a in items)
        subjects = (blind("family", family_id), *(blind("person", p) for p in members[family_id]))
        asks.append(Ask(subjects, "plan", None if own else "procesregie", owner, items[0].plan_id))
    decisions = decide_many(viewer, asks, object_type="plan", on=today, meta={"context": context})
    return {key: d.allowed for key, d in zip(groups, decisions, strict=True)}


def family_members(family_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for family_id, person_id in db.session.execute(
            select(FamilyMember.family_id, FamilyMember.person_id).where(FamilyMember.family_id.in_(family_ids))):
        members[family_id].append(person_id)
    return members


def my_open_actions(user: User) -> list[PlanAction]:
    """Open actions the user owns (as a professional, or as a network member linked to their
    account), their organisation owns, or that sit on a plan they coordinate, by due date:
    what Mijn acties and GET /api/v1/me/actions list."""
    org_id = user.organisation_id
    mine = [PlanAction.owner_user_id == user.id,
            PlanAction.owner_member_id.in_(select(NetworkMember.id).where(NetworkMember.user_id == user.id))]
    if org_id is not None:
        mine.append(PlanAction.owner_org_id == org_id)
    coordinated = set(db.session.scalars(_coordinated_plan_ids(user.id)))
    if coordinated:
        mine.append(PlanAction.plan_id.in_(coordinated))
    return list(db.session.scalars(
        select(PlanAction).join(Plan, Plan.id == PlanAction.plan_id)
        .where(or_(*mine), PlanAction.status.in_(OPEN_ACTION_STATES), Plan.status != "afgesloten")
        .options(selectinload(PlanAction.plan).selectinload(Plan.family),
                 selectinload(PlanAction.owner_user).selectinload(User.organisation),
                 selectinload(PlanAction.owner_member))
        .order_by(PlanAction.due, PlanAction.created_at)))


@dataclass(frozen=True)
class ActionPage:
    rows: list[ActionRow]
    number: int  # 1-based
    pages: int
    total: int
    first: int  # 1-based position of the first row shown (0 when there are none)


def my_actions_page(user: User, today: date, number: int, per_page: int) -> ActionPage:
    """One page of Mijn acties. Only the page's actions go through the gate, so a user with
    2,000 open actions is disclosed (and audited for) the hundred on screen, not all."""
    actions = my_open_actions(user)
    per_page = max(per_page, 1)
    pages = max((len(actions) + per_page - 1) // per_page, 1)
    number = min(max(number, 1), pages)  # out of range: the nearest page, never an error
    start = (number - 1) * per_page
    shown = actions[start:start + per_page]
    return ActionPage(my_actions(user, today, shown), number, pages, len(actions),
                      start + 1 if shown else 0)


def my_actions(user: User, today: date, actions: list[PlanAction] | None = None) -> list[ActionRow]:
    """Mijn acties: ``actions`` (default :func:`my_open_actions`) with marks, each read
    through the gate."""
    org_id = user.organisation_id
    actions = my_open_actions(user) if actions is None else actions
    if not actions:
        return []
    members = family_members({a.plan.family_id for a in actions})
    viewer = actor_for(user, access.work_role(user))
    allowed = action_texts_allowed(viewer, user, actions, members, "mijn_acties", today)
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(
        Organisation.id.in_({owner for _, owner in allowed})))}
    soon, now = due_soon_until(today), utcnow()
    rows = []
    for a in actions:
        key = (a.plan.family_id, a.owner_org_id or a.organisation_id)
        own = a.owner_user_id == user.id or (a.owner_member is not None and a.owner_member.user_id == user.id)
        relation = "eigen" if own else (
            "organisatie" if org_id is not None and a.owner_org_id == org_id else "regie")
        if a.owner_user is not None:
            org = a.owner_user.organisation
            owner = f"{a.owner_user.name} ({org.name})" if org is not None else a.owner_user.name
        else:
            owner = NETWORK_OWNER
        rows.append(ActionRow(a, a.plan.family, relation, owner, allowed[key],
                              None if allowed[key] else contact_line(orgs[key[1]], None),
                              overdue=a.due < today, due_soon=today <= a.due <= soon,
                              awaiting=awaits_acceptance(a), not_accepted=acceptance_late(a, now),
                              can_accept=awaits_acceptance(a) and may_accept(a, user)))
    return rows


def action_reminders_due(today: date) -> list[PlanAction]:
    """Open actions with an owning user that are overdue or due within the window."""
    return list(db.session.scalars(
        select(PlanAction).join(Plan, Plan.id == PlanAction.plan_id)
        .where(PlanAction.status.in_(OPEN_ACTION_STATES), PlanAction.owner_user_id.is_not(None),
               PlanAction.due <= due_soon_until(today), Plan.status != "afgesloten")
        .options(selectinload(PlanAction.owner_user))
        .order_by(PlanAction.due)))


def acceptance_reminders_due(today: date) -> list[PlanAction]:
    """Open actions of a professional that were not accepted within ACTION_ACCEPT_DAYS of
    being made (counted in days: made on or before ``today`` minus that many days)."""
    cutoff = datetime.combine(today - timedelta(days=accept_days() - 1), time.min, tzinfo=UTC)
    return list(db.session.scalars(
        select(PlanAction).join(Plan, Plan.id == PlanAction.plan_id)
        .where(PlanAction.status.in_(OPEN_ACTION_STATES), PlanAction.owner_user_id.is_not(None),
               PlanAction.accepted_at.is_(None), PlanAction.created_at < cutoff, Plan.status != "afgesloten")
        .options(selectinload(PlanAction.owner_user))
        .order_by(PlanAction.created_at)))


# --- the plan's history (issue 4) ----------------------------------------------------------
#
# A history entry repeats what was written (old and new texts), so it is content of the
# piece it is about and is disclosed exactly when that piece is: the caller passes the
# plan as the gate just disclosed it for this viewer and purpose (``PlanContent``), and an
# entry about a goal, concern, network member or action shows its values only if that
# piece is in it. Otherwise only the field names and "gewijzigd" remain: "that" something
# changed, and who changed it, never what. Texts about the plan as a whole (the family's
# view, strengths, reasons, evaluation summaries) follow the plan's own piece, asked of
# the gate once with the same category and owner the plan page uses. Dates, status and the
# coordinator of the plan itself are its frame, which the plan page shows to everyone who
# may open it. Gating by the piece as it is *now* (its current owner) is the same rule the
# plan page applies, so the history can never show more than the page does.

HISTORY_KINDS = {
    "plan.started": "Plan gestart", "plan.updated": "Plan gewijzigd", "plan.adopted": "Plan vastgesteld",
    "plan.coordinator_changed": "Zorgcoördinator overgedragen", "plan.evaluated": "Plan geëvalueerd",
    "plan.closed": "Plan afgesloten", "goal.added": "Doel toegevoegd", "goal.updated": "Doel gewijzigd",
    "goal.achieved": "Doel bereikt", "goal.dropped": "Doel vervallen", "concern.added": "Zorg toegevoegd",
    "network.added": "Toegevoegd aan het netwerk", "action.added": "Actie toegevoegd",
    "action.accepted": "Actie geaccepteerd", "action.updated": "Actie bijgewerkt",
    "action.edited": "Actie gewijzigd", "action.lapsed": "Actie vervallen",
}
HISTORY_FIELDS = {
    "status": "Status", "next_evaluation": "Volgende evaluatie", "adopted_how": "Vastgesteld",
    "adopted_on": "Vastgesteld op", "family_agreement_required": "Akkoord van het gezin nodig",
    "coordinator": "Zorgcoördinator", "closed_on": "Afgesloten op", "held_on": "Evaluatie gehouden op",
    "family_view": "Visie van het gezin", "strengths": "Krachten", "reason": "Reden", "summary": "Samenvatting",
    "text": "Tekst", "domain": "Leefgebied", "category": "Categorie", "name": "Naam", "role": "Rol",
    "kind": "Soort", "what": "Wat", "done_when": "Klaar als", "due": "Uiterlijk", "owner_user_id": "Eigenaar",
    "agreed_by": "Akkoord van", "accepted_at": "Geaccepteerd op", "failure_reason": "Reden niet gelukt",
    "progress": "Voortgang", "achieved_on": "Bereikt op", "dropped_on": "Vervallen op",
    "organisation_id": "Organisatie",
}
# The plan's frame: shown like the plan page shows it, to everyone who may open the plan.
PLAN_FRAME = {"status", "next_evaluation", "adopted_how", "adopted_on", "family_agreement_required",
              "coordinator", "closed_on", "held_on"}
# Internal references: never shown (the pieces themselves are listed on the plan page).
HISTORY_HIDDEN = {"goal_id", "concern_id", "member_id", "evaluation_id", "owner_member_id", "lapsed"}
WITHHELD_VALUE = "gewijzigd"


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    who: str
    kind: str
    lines: list[tuple[str, str]]
    withheld: bool  # the values are withheld by the gate


def _piece_visible(entry: PlanHistory, content: PlanContent, plan_text: bool) -> bool:
    changes = entry.changes or {}
    if entry.action_id is not None:
        return entry.action_id in {a.id for a in content.actions}
    refs = (("goal_id", content.goals), ("concern_id", content.concerns), ("member_id", content.network))
    for key, pieces in refs:
        if key in changes:
            return changes[key] in {str(p.id) for p in pieces}
    return plan_text


def _shown_value(key: str, value: object, names: dict[str, str]) -> str:
    if isinstance(value, dict) and set(value) == {"old", "new"}:
        return f"{_shown_value(key, value['old'], names)} → {_shown_value(key, value['new'], names)}"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if key in ("coordinator", "owner_user_id", "organisation_id"):
        return names.get(str(value), "onbekend")
    labels = {"status": PLAN_STATES | ACTION_STATES, "domain": LIFE_DOMAINS, "kind": NETWORK_KINDS,
              "failure_reason": FAILURE_REASONS}.get(key, {})
    return labels.get(str(value), str(value))


def plan_history(viewer: Actor, plan: Plan, content: PlanContent) -> list[HistoryRow]:
    """Every history entry of ``plan``, newest first, its values as far as ``content``
    (the plan as the gate disclosed it to ``viewer``) allows. Costs a fixed number of
    statements: the entries, the names they mention, and one gate decision."""
    entries = list(db.session.scalars(select(PlanHistory).where(PlanHistory.plan_id == plan.id)
                                      .order_by(PlanHistory.at.desc(), PlanHistory.id)))
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == plan.family_id))
    plan_text = decide(viewer, subjects=[blind("family", plan.family_id), *(blind("person", p) for p in members)],
                       category="plan", purpose=content.purpose, object_type="plan", object_id=plan.id,
                       owner_org_id=plan.organisation_id, meta={"pieces": 1, "context": "plan_history"}).allowed
    names = _history_names(entries)
    rows = []
    for entry in entries:
        visible = _piece_visible(entry, content, plan_text)
        frame = entry.action_id is None and not any(k in (entry.changes or {}) for k in ("goal_id", "concern_id",
                                                                                        "member_id"))
        lines, withheld = [], False
        for key, value in (entry.changes or {}).items():
            if key in HISTORY_HIDDEN:
                continue
            shown = visible or (frame and key in PLAN_FRAME)
            withheld = withheld or not shown
            lines.append((HISTORY_FIELDS.get(key, key), _shown_value(key, value, names) if shown else WITHHELD_VALUE))
        who = names.get(str(entry.user_id), "Netwerk")
        if entry.organisation_id is not None and str(entry.organisation_id) in names:
            who = f"{who} ({names[str(entry.organisation_id)]})"
        rows.append(HistoryRow(entry.at, who, HISTORY_KINDS.get(entry.kind, entry.kind), lines, withheld))
    return rows


def _history_names(entries: list[PlanHistory]) -> dict[str, str]:
    """Names of the users and organisations the entries mention, in two statements."""
    user_ids, org_ids = set(), set()
    for entry in entries:
        user_ids.add(entry.user_id)
        org_ids.add(entry.organisation_id)
        for key, value in (entry.changes or {}).items():
            values = [value.get("old"), value.get("new")] if isinstance(value, dict) else [value]
            target = user_ids if key in ("coordinator", "owner_user_id") else org_ids if key == "organisation_id" \
                else None
            if target is not None:
                target.update(_as_uuid(v) for v in values)
    user_ids.discard(None)
    org_ids.discard(None)
    names = {str(u.id): u.name for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
    names |= {str(o.id): o.name for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))}
    return names


def _as_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None
