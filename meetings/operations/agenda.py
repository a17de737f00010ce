"""The agenda: a family put on a meeting in a section (a new signal), the follow-ups the
secretary's preparation finds, the order of the items, and informing the family.

Every change writes the audit entry and a :class:`MeetingEvent` (ids only) in the same
transaction, so live screens learn of exactly what was committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, or_, select

from meetings import events
from meetings.models import AGENDA_REASONS, AgendaItem, Meeting, MeetingEvent, Section
from meetings.policy import manages
from netwerk.db import db, on_commit
from netwerk.models import Family, FamilyMember, Involvement, Match, User
from netwerk.models.plans import Plan, PlanAction
from netwerk.operations.common import OperationError
from netwerk.operations.plans import involved_org_ids
from privacy.audit import Actor, blind, record

DEFAULT_MINUTES = 15
DUE_SOON_DAYS = 14  # an open action due within two weeks of the meeting is a follow-up
OPEN_ACTION_STATES = ("open", "bezig")
KEPT_INFORM_STATES = ("verstuurd", "anoniem", "uitgesteld")
# Packages built on meetings add follow-up reasons of their own (escalation: an open
# escalation is a fixed item) without meetings importing them: each maps a meeting to
# {family id: reasons}; the reasons must be keys of AGENDA_REASONS.
REASON_PROVIDERS: list[Callable[[Meeting], dict[uuid.UUID, set[str]]]] = []


def publish(meeting: Meeting, kind: str, *, section_id: uuid.UUID | None = None,
            item_id: uuid.UUID | None = None) -> MeetingEvent:
    """Append to the meeting's event log (ids only); live screens get it after commit."""
    event = MeetingEvent(meeting_id=meeting.id, section_id=section_id, kind=kind, item_id=item_id)
    db.session.add(event)
    # Notify only once committed: a rolled-back change must wake nobody. The id is taken
    # now because the meeting object is expired (unreadable without a query) after commit.
    meeting_id = meeting.id
    on_commit(lambda: events.notify(meeting_id))
    return event


def _subjects(family_id: uuid.UUID) -> list[str]:
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == family_id))
    return [blind("person", pid) for pid in members]


def audit_item(action: str, item: AgendaItem, actor: Actor, summary: str, **meta: object) -> None:
    record(action, actor=actor, summary=summary, subjects=_subjects(item.family_id), object_type="agenda_item",
           object_id=item.id, meta={"meeting": str(item.meeting_id), "section": str(item.section_id), **meta})


def require_open(meeting: Meeting) -> None:
    if meeting.status == "gesloten":
        raise OperationError("Dit overleg is gesloten; de agenda ligt vast.")


def _next_position(meeting: Meeting, section: Section) -> int:
    last = db.session.scalar(select(func.max(AgendaItem.position)).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.section_id == section.id))
    return 0 if last is None else last + 1


def _new_item(meeting: Meeting, section: Section, family: Family, reasons: list[str], by: User | None,
              planned_minutes: int = DEFAULT_MINUTES, carried_from: AgendaItem | None = None) -> AgendaItem:
    item = AgendaItem(meeting_id=meeting.id, section_id=section.id, family_id=family.id,
                      position=_next_position(meeting, section), reasons=reasons, planned_minutes=planned_minutes,
                      added_by_user_id=by.id if by else None,
                      carried_from_id=carried_from.id if carried_from else None)
    if carried_from is not None and carried_from.inform_state in KEPT_INFORM_STATES:
        # Informed (or consciously not) about this overleg: that holds for its follow-ups.
        item.inform_state, item.inform_reason = carried_from.inform_state, carried_from.inform_reason
        item.inform_review_on = carried_from.inform_review_on
    db.session.add(item)
    db.session.flush()
    if item.inform_state in (None, "te_versturen"):
        item.inform_state = "te_versturen"
        on_commit(lambda item_id=str(item.id): _queue_letters(item_id))
    publish(meeting, "agenda_changed", section_id=section.id, item_id=item.id)
    return item


def _queue_letters(item_id: str) -> None:
    from netwerk.jobqueue import enqueue  # noqa: PLC0415 - the job queue imports the app wiring

    enqueue("meetings.jobs.prepare_letters", item_id, job_id=f"letters-{item_id}")


def add_to_agenda(meeting: Meeting, section: Section, family: Family, by: User, actor: Actor, *,
                  planned_minutes: int = DEFAULT_MINUTES, decision_needed: bool = True) -> AgendaItem:
    """A new signal: a participant whose organisation is involved with the family and sits
    at the section's table (or the chair or secretary) puts the family on the agenda."""
    require_open(meeting)
    if section.overleg_id != meeting.overleg_id:
        raise OperationError("Kies een onderdeel van dit overleg.", field="section")
    involved = involved_org_ids(family.id)
    runs = manages(by, meeting.overleg)
    if not runs and (by.organisation_id not in section.organisation_ids or by.organisation_id not in involved):
        raise OperationError("U kunt alleen een gezin aanmelden waarbij uw organisatie betrokken is, in een "
                             "onderdeel waarin uw organisatie aan tafel zit.", field="section", code="geen_toegang")
    if not involved & section.organisation_ids:
        raise OperationError("Geen van de organisaties van dit onderdeel is bij dit gezin betrokken.",
                             field="section")
    if not 1 <= planned_minutes <= 90:
        raise OperationError("Plan 1 tot 90 minuten.", field="planned_minutes")
    if db.session.scalar(select(AgendaItem.id).where(AgendaItem.meeting_id == meeting.id,
                                                      AgendaItem.family_id == family.id)):
        raise OperationError("Dit gezin staat al op de agenda van dit overleg.", field="family")
    item = _new_item(meeting, section, family, ["nieuw_signaal"], by, planned_minutes)
    item.decision_needed = decision_needed
    audit_item("meetings.agenda_item_added", item, actor, "family put on agenda", reasons=item.reasons)
    return item


# --- preparing a meeting: the follow-ups ---------------------------------------------------------

def _previous_items(meeting: Meeting) -> list[AgendaItem]:
    """Each family's most recent item in an earlier meeting of this overleg."""
    rows = db.session.scalars(
        select(AgendaItem).join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(Meeting.overleg_id == meeting.overleg_id, Meeting.date < meeting.date)
        .order_by(Meeting.date.desc())).all()
    latest: dict[uuid.UUID, AgendaItem] = {}
    for item in rows:
        latest.setdefault(item.family_id, item)
    return list(latest.values())


def _action_reasons(family_ids: list[uuid.UUID], on: date) -> dict[uuid.UUID, set[str]]:
    rows = db.session.execute(
        select(Plan.family_id, PlanAction.due).join(PlanAction, PlanAction.plan_id == Plan.id)
        .where(Plan.family_id.in_(family_ids), Plan.status != "afgesloten",
               PlanAction.status.in_(OPEN_ACTION_STATES), PlanAction.due <= on + timedelta(days=DUE_SOON_DAYS)))
    found: dict[uuid.UUID, set[str]] = {}
    for family_id, due in rows:
        found.setdefault(family_id, set()).add("acties_te_laat" if due < on else "acties_binnenkort")
    evaluations = db.session.scalars(select(Plan.family_id).where(
        Plan.family_id.in_(family_ids), Plan.status != "afgesloten", Plan.next_evaluation <= on))
    for family_id in evaluations:
        found.setdefault(family_id, set()).add("evaluatie")
    return found


def _open_match_families(family_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    members = select(FamilyMember.family_id, FamilyMember.person_id).where(
        FamilyMember.family_id.in_(family_ids)).subquery()
    involvements = select(Involvement.id).join(members, members.c.person_id == Involvement.person_id)
    open_matches = select(Match.first_id, Match.second_id).where(
        Match.afgestemd_on.is_(None), or_(Match.first_id.in_(involvements), Match.second_id.in_(involvements)))
    ids = {i for row in db.session.execute(open_matches) for i in row}
    if not ids:
        return set()
    return set(db.session.scalars(select(members.c.family_id).join(
        Involvement, Involvement.person_id == members.c.person_id).where(Involvement.id.in_(ids))))


def _follow_up_reasons(previous: list[AgendaItem], meeting: Meeting) -> dict[uuid.UUID, list[str]]:
    family_ids = [i.family_id for i in previous]
    found = _action_reasons(family_ids, meeting.date)
    for family_id in _open_match_families(family_ids):
        found.setdefault(family_id, set()).add("match_open")
    for item in previous:
        if item.status != "besproken":
            found.setdefault(item.family_id, set()).add("doorgeschoven")
    order = list(AGENDA_REASONS)
    return {fid: sorted(reasons, key=order.index) for fid, reasons in found.items()}


def _provided_reasons(meeting: Meeting, reasons: dict[uuid.UUID, list[str]]) -> set[uuid.UUID]:
    """Merge the REASON_PROVIDERS' reasons into ``reasons``; returns the families they name."""
    order, named = list(AGENDA_REASONS), set()
    for provider in REASON_PROVIDERS:
        for family_id, extra in provider(meeting).items():
            named.add(family_id)
            reasons[family_id] = sorted({*reasons.get(family_id, ()), *extra}, key=order.index)
    return named


def _provided_items(meeting: Meeting, by: User, named: set[uuid.UUID], reasons: dict[uuid.UUID, list[str]],
                    known: set[uuid.UUID]) -> list[AgendaItem]:
    """A family a provider names that was never on this overleg's agenda comes on in the
    first section whose table holds an organisation involved with it."""
    added = []
    for family_id in sorted(named - known, key=str):
        involved = involved_org_ids(family_id)
        section = next((s for s in meeting.overleg.sections if s.organisation_ids & involved), None)
        if section is not None:
            added.append(_new_item(meeting, section, db.session.get(Family, family_id), reasons[family_id], by))
    return added


def prepare_meeting(meeting: Meeting, by: User, actor: Actor) -> list[AgendaItem]:
    """The secretary's preparation: every family discussed before in this overleg that has
    actions over or near their date, an evaluation date reached, an open match, or an item
    left unfinished comes back on the agenda, in the section it was in, with its reasons.
    Safe to run again: known items get the new reasons, nothing is doubled."""
    require_open(meeting)
    if not manages(by, meeting.overleg):
        raise OperationError("Alleen de voorzitter of secretaris bereidt het overleg voor.", code="geen_toegang")
    previous = _previous_items(meeting)
    reasons = _follow_up_reasons(previous, meeting)
    named = _provided_reasons(meeting, reasons)
    current = {i.family_id: i for i in db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == meeting.id))}
    added = []
    for item in sorted(previous, key=lambda i: (i.section.position, i.position)):
        wanted = reasons.get(item.family_id)
        if not wanted:
            continue
        if item.family_id in current:
            present = current[item.family_id]
            present.reasons = list(dict.fromkeys([*present.reasons, *wanted]))
            continue
        family = db.session.get(Family, item.family_id)
        added.append(_new_item(meeting, item.section, family, wanted, by, item.planned_minutes, carried_from=item))
    for family_id in named & set(current) - {i.family_id for i in previous}:  # on already, not as a follow-up
        current[family_id].reasons = list(dict.fromkeys([*current[family_id].reasons, *reasons[family_id]]))
    added += _provided_items(meeting, by, named, reasons, set(current) | {i.family_id for i in previous})
    if meeting.status == "gepland":
        meeting.status = "voorbereid"
    for item in added:
        audit_item("meetings.agenda_item_added", item, actor, "follow-up put on agenda", reasons=item.reasons)
    record("meetings.prepared", actor=actor, summary="meeting prepared", object_type="meeting",
           object_id=meeting.id, meta={"added": len(added)})
    publish(meeting, "agenda_changed")
    return added


def reorder(meeting: Meeting, section: Section, item_ids: list[uuid.UUID], by: User, actor: Actor) -> None:
    """Put a section's items in the given order; the list must name each item once."""
    require_open(meeting)
    if not manages(by, meeting.overleg):
        raise OperationError("Alleen de voorzitter of secretaris wijzigt de volgorde.", code="geen_toegang")
    items = {i.id: i for i in db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.section_id == section.id))}
    if sorted(item_ids, key=str) != sorted(items, key=str):
        raise OperationError("De agenda is intussen gewijzigd; laad de pagina opnieuw.", code="verouderd")
    for position, item_id in enumerate(item_ids):
        items[item_id].position = position
    record("meetings.agenda_reordered", actor=actor, summary="agenda reordered", object_type="meeting",
           object_id=meeting.id, meta={"section": str(section.id)})
    publish(meeting, "agenda_changed", section_id=section.id)
