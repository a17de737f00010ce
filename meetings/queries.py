"""Read models of the agenda, built in a fixed number of statements whatever its length.

An agenda row is "that"-level: the household's pseudonym, the structured reasons, the
zorgcoördinator and whom to call, and counts of actions by state — never a text from the
plan. Content is read per item through the privacy gate (``netwerk.content``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select

from meetings.models import AgendaItem, Letter, Meeting
from netwerk.db import db
from netwerk.models import Family, FamilyMember, Involvement, Organisation, User
from netwerk.models.plans import CoordinatorTerm, Plan, PlanAction

OPEN_STATES = ("open", "bezig")


@dataclass
class AgendaRow:
    item: AgendaItem
    pseudonym: str
    coordinator: str | None = None  # "Naam (Organisatie)"
    actions: Counter[str] = field(default_factory=Counter)  # open, te_laat, gereed, ...
    letters: list[Letter] = field(default_factory=list)


ANONYMOUS = "Gezin (anoniem besproken)"
# What meeting screens read of a plan: goals and actions (category "plan"), never the
# concerns (care, health, safety categories), which they do not show; only that is audited.
MEETING_PARTS = ("plan",)


def agenda(meeting: Meeting, section_ids: set[uuid.UUID],
           reveal_anonymous: bool = False) -> dict[uuid.UUID, list[AgendaRow]]:
    """The meeting's items in ``section_ids``, per section in agenda order. A family
    discussed anonymously is not named, except to the chair and secretary who run it."""
    items = db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.section_id.in_(section_ids))
        .order_by(AgendaItem.position)).all()
    family_ids = [i.family_id for i in items]
    pseudonyms = dict(db.session.execute(select(Family.id, Family.pseudonym).where(Family.id.in_(family_ids))).all())
    coordinators = _coordinators(family_ids)
    counts = _action_counts(family_ids, meeting.date)
    letters: dict[uuid.UUID, list[Letter]] = {}
    for letter in db.session.scalars(select(Letter).where(Letter.agenda_item_id.in_([i.id for i in items]))):
        letters.setdefault(letter.agenda_item_id, []).append(letter)
    rows: dict[uuid.UUID, list[AgendaRow]] = {sid: [] for sid in section_ids}
    for item in items:
        name = ANONYMOUS if item.inform_state == "anoniem" and not reveal_anonymous else pseudonyms[item.family_id]
        rows[item.section_id].append(AgendaRow(item, name, coordinators.get(item.family_id),
                                               counts.get(item.family_id, Counter()), letters.get(item.id, [])))
    return rows


def _coordinators(family_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = db.session.execute(
        select(Plan.family_id, User.name, Organisation.name)
        .join(CoordinatorTerm, CoordinatorTerm.plan_id == Plan.id)
        .join(User, User.id == CoordinatorTerm.user_id)
        .join(Organisation, Organisation.id == CoordinatorTerm.organisation_id)
        .where(Plan.family_id.in_(family_ids), Plan.status != "afgesloten", CoordinatorTerm.end_on.is_(None)))
    return {family_id: f"{user} ({org})" for family_id, user, org in rows}


def _action_counts(family_ids: list[uuid.UUID], on: date) -> dict[uuid.UUID, Counter[str]]:
    late = PlanAction.status.in_(OPEN_STATES) & (PlanAction.due < on)
    rows = db.session.execute(
        select(Plan.family_id, PlanAction.status, late, func.count())
        .join(PlanAction, PlanAction.plan_id == Plan.id)
        .where(Plan.family_id.in_(family_ids), Plan.status != "afgesloten")
        .group_by(Plan.family_id, PlanAction.status, late))
    counts: dict[uuid.UUID, Counter[str]] = {}
    for family_id, status, is_late, n in rows:
        counts.setdefault(family_id, Counter())["te_laat" if is_late else status] += n
    return counts


def families_to_add(org_ids: set[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    """Households with an active involvement of one of ``org_ids``: (id, pseudonym)."""
    involved = (select(FamilyMember.family_id).join(Involvement, Involvement.person_id == FamilyMember.person_id)
                .where(Involvement.organisation_id.in_(org_ids), Involvement.status == "actief"))
    return list(db.session.execute(select(Family.id, Family.pseudonym).where(Family.id.in_(involved))
                                   .order_by(Family.pseudonym)).all())
