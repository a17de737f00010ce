"""The live meeting, run from the chair's console: going live, moving between items (with
the time used per item), structured decisions, blanking the projector, the projector's
sign-in link, and closing — after which unfinished items are carried over.

The console sends the meeting's ``version`` with every step; a step made on an older
version is refused (two chairs pressing "volgende" at once move the agenda once).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from meetings.models import DECISION_KINDS, AgendaItem, Attendance, Decision, Meeting, ProjectorLink, Section
from meetings.operations.agenda import audit_item, publish, reorder
from meetings.operations.closing import after_close
from meetings.operations.overleggen import record_attendance
from meetings.policy import manages
from netwerk import smart
from netwerk.db import db
from netwerk.models import User
from netwerk.models.plans import Plan, PlanAction
from netwerk.operations.common import OperationError, bump_version
from netwerk.operations.plans import ADOPTED, add_action, involved_org_ids, region_words
from privacy.audit import Actor, record

PROJECTOR_LINK_HOURS = 12


STALE = "De voorzitter heeft het overleg intussen verder gezet; u ziet nu de nieuwe stand."
STALE_ORDER = "De agenda is intussen gewijzigd; u ziet nu de nieuwe volgorde."


class StaleMeeting(OperationError):
    """The console acted on an older state of the meeting."""

    def __init__(self, message: str = STALE) -> None:
        super().__init__(message, code="verouderd")


def _chair(meeting: Meeting, by: User) -> None:
    if not manages(by, meeting.overleg) or "voorzitter" not in {m.role for m in meeting.overleg.members
                                                                 if m.user_id == by.id}:
        raise OperationError("Alleen de voorzitter leidt het overleg.", code="geen_toegang")


def _claim(meeting: Meeting, expected: int, stale: str = STALE) -> None:
    """Bump the version only if it is still ``expected`` (one UPDATE, so two chairs' clicks
    cannot both pass): the loser gets :class:`StaleMeeting` and nothing changes."""
    if not bump_version(meeting, expected):
        raise StaleMeeting(stale)


def ordered_items(meeting: Meeting) -> list[AgendaItem]:
    """The whole agenda in running order: section by section, then position."""
    order = {s.id: s.position for s in meeting.overleg.sections}
    items = db.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).all()
    return sorted(items, key=lambda i: (order[i.section_id], i.position))


def go_live(meeting: Meeting, by: User, actor: Actor, now: datetime, expected: int) -> None:
    _chair(meeting, by)
    if meeting.status == "live":
        raise OperationError("Het overleg is al live.")
    if meeting.status == "gesloten":
        raise OperationError("Dit overleg is gesloten.")
    _claim(meeting, expected)
    items = ordered_items(meeting)
    meeting.status, meeting.live_since, meeting.blanked = "live", now, False
    meeting.current_item_id = items[0].id if items else None
    meeting.item_started_at = now if items else None
    record("meetings.live", actor=actor, summary="meeting went live", object_type="meeting", object_id=meeting.id)
    publish(meeting, "live")


def _live(meeting: Meeting) -> None:
    if meeting.status != "live":
        raise OperationError("Het overleg is niet live.")


def _book_time(meeting: Meeting, now: datetime) -> None:
    if meeting.current_item_id and meeting.item_started_at:
        item = db.session.get(AgendaItem, meeting.current_item_id)
        item.used_seconds += max(0, int((now - meeting.item_started_at).total_seconds()))


def move_to(meeting: Meeting, item_id: uuid.UUID | None, by: User, actor: Actor, now: datetime,
            expected: int) -> None:
    """Put another item on the wall (None: between items); the time on the previous item
    is booked to it."""
    _chair(meeting, by)
    _live(meeting)
    if item_id is not None and item_id not in {i.id for i in ordered_items(meeting)}:
        raise OperationError("Dit punt staat niet op de agenda van dit overleg.", field="item")
    _claim(meeting, expected)
    _book_time(meeting, now)
    meeting.current_item_id, meeting.item_started_at = item_id, now if item_id else None
    publish(meeting, "current_changed", item_id=item_id)


def step(meeting: Meeting, direction: int, by: User, actor: Actor, now: datetime, expected: int) -> None:
    """Next (+1) or previous (-1) item in running order, stopping at the ends."""
    items = [i.id for i in ordered_items(meeting)]
    if not items:
        raise OperationError("De agenda is leeg.")
    index = items.index(meeting.current_item_id) if meeting.current_item_id in items else -1
    target = min(max(index + direction, 0), len(items) - 1)
    move_to(meeting, items[target], by, actor, now, expected)


def mark_discussed(item: AgendaItem, by: User, actor: Actor) -> None:
    _chair(item.meeting, by)
    _live(item.meeting)
    item.status = "besproken"
    audit_item("meetings.item_discussed", item, actor, "agenda item discussed")
    publish(item.meeting, "item_changed", section_id=item.section_id, item_id=item.id)


@dataclass(frozen=True)
class DecisionSpec:
    kind: str
    on_date: date | None = None
    user_id: uuid.UUID | None = None


def record_decision(item: AgendaItem, spec: DecisionSpec, by: User, actor: Actor, today: date,
                    expected: int | None = None) -> Decision:
    """A structured decision; "terug op de agenda" needs a future date, "zorgcoördinator
    aanwijzen" a professional of an organisation involved with the family. With
    ``expected`` (the console does) the meeting version is claimed: two chairs submitting
    the same decision at once record it once."""
    _chair(item.meeting, by)
    _live(item.meeting)
    if spec.kind not in DECISION_KINDS:
        raise OperationError("Kies een besluit uit de lijst.", field="kind")
    if spec.kind == "terug_op_agenda" and (spec.on_date is None or spec.on_date <= today):
        raise OperationError("Kies de datum waarop het gezin terugkomt (na vandaag).", field="on_date")
    if spec.kind == "zorgcoordinator":
        person = db.session.get(User, spec.user_id) if spec.user_id else None
        if person is None or not person.active or person.organisation_id not in involved_org_ids(item.family_id):
            raise OperationError("Kies als zorgcoördinator een professional van een betrokken organisatie.",
                                 field="user_id")
    if expected is not None:
        _claim(item.meeting, expected)
    decision = Decision(agenda_item_id=item.id, kind=spec.kind, decided_by_user_id=by.id,
                        on_date=spec.on_date if spec.kind == "terug_op_agenda" else None,
                        user_id=spec.user_id if spec.kind == "zorgcoordinator" else None)
    db.session.add(decision)
    db.session.flush()
    audit_item("meetings.decision", item, actor, "decision recorded", kind=spec.kind)
    publish(item.meeting, "decision", section_id=item.section_id, item_id=item.id)
    return decision


def blank(meeting: Meeting, on: bool, by: User, actor: Actor) -> None:
    """Scherm op zwart: the projector shows nothing until the chair turns it back on."""
    _chair(meeting, by)
    meeting.blanked = on
    record("meetings.blanked" if on else "meetings.unblanked", actor=actor, summary="projector blanked"
           if on else "projector shown", object_type="meeting", object_id=meeting.id)
    publish(meeting, "blank")


def close(meeting: Meeting, by: User, actor: Actor, now: datetime, expected: int) -> int:
    """End the meeting; items not discussed are marked carried over (the next preparation
    brings them back). Returns how many were carried over."""
    _chair(meeting, by)
    if meeting.status == "gesloten":
        raise OperationError("Dit overleg is al gesloten.")
    _claim(meeting, expected)
    _book_time(meeting, now)
    carried = db.session.execute(update(AgendaItem).where(AgendaItem.meeting_id == meeting.id,
                                                          AgendaItem.status == "gepland")
                                 .values(status="doorgeschoven")).rowcount
    meeting.status, meeting.closed_at, meeting.current_item_id, meeting.blanked = "gesloten", now, None, False
    db.session.execute(update(ProjectorLink).where(ProjectorLink.meeting_id == meeting.id,
                                                   ProjectorLink.revoked_at.is_(None)).values(revoked_at=now))
    after_close(meeting, by, actor)  # carry-over and the besluitenlijst mails (operations/closing.py)
    record("meetings.closed", actor=actor, summary="meeting closed", object_type="meeting", object_id=meeting.id,
           meta={"carried_over": carried})
    publish(meeting, "closed")
    return carried


# --- the projector's sign-in link ---------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_projector_link(meeting: Meeting, by: User, actor: Actor, now: datetime) -> str:
    """A new secret link for the beamer; earlier links of this meeting stop working."""
    _chair(meeting, by)
    if meeting.status == "gesloten":
        raise OperationError("Dit overleg is gesloten.")
    db.session.execute(update(ProjectorLink).where(ProjectorLink.meeting_id == meeting.id,
                                                   ProjectorLink.revoked_at.is_(None)).values(revoked_at=now))
    token = secrets.token_urlsafe(32)
    db.session.add(ProjectorLink(meeting_id=meeting.id, token_hash=_hash(token), created_by_user_id=by.id,
                                 expires_at=now + timedelta(hours=PROJECTOR_LINK_HOURS)))
    record("meetings.projector_link", actor=actor, summary="projector link issued", object_type="meeting",
           object_id=meeting.id)
    return token


def revoke_projector_links(meeting: Meeting, by: User, actor: Actor, now: datetime) -> int:
    _chair(meeting, by)
    revoked = db.session.execute(update(ProjectorLink).where(ProjectorLink.meeting_id == meeting.id,
                                                             ProjectorLink.revoked_at.is_(None))
                                 .values(revoked_at=now)).rowcount
    record("meetings.projector_revoked", actor=actor, summary="projector links revoked", object_type="meeting",
           object_id=meeting.id)
    publish(meeting, "projector_revoked")
    return revoked


def projector_meeting(token: str, now: datetime) -> Meeting | None:
    """The meeting a projector link opens, while it is valid; None for anything else."""
    if not token or len(token) > 100:
        return None
    link = db.session.scalar(select(ProjectorLink).where(ProjectorLink.token_hash == _hash(token)))
    if link is None or link.revoked_at is not None or link.expires_at <= now:
        return None
    meeting = db.session.get(Meeting, link.meeting_id)
    return meeting if meeting is not None and meeting.status != "gesloten" else None


def section_of(meeting: Meeting) -> Section | None:
    """The section of the item on the wall."""
    if meeting.current_item_id is None:
        return None
    item = db.session.get(AgendaItem, meeting.current_item_id)
    return item.section if item else None


# --- from the console: SMART actions, attendance, the order of the agenda ---------------------
# Each claims the meeting version the console showed, so two chairs (or a chair and the
# secretary) acting on the same state cannot both write, and each publishes an event so
# every screen fetches its view again.

NOT_ON_AGENDA = ("Dit gezin staat niet op de agenda van dit overleg. Een actie legt u hier alleen vast voor een "
                 "gezin dat in dit overleg besproken wordt.")
NO_PLAN = ("Dit gezin heeft nog geen 1gezin1plan. Leg eerst het besluit \u201c1gezin1plan starten\u201d vast; "
           "de zorgcoördinator start daarna het plan.")


@dataclass(frozen=True)
class ActionSpec:
    """A SMART action as the chair types it: owned by a professional of an involved
    organisation (network members' names are plan content, chosen on the plan page)."""

    goal_id: uuid.UUID | None
    what: str
    done_when: str
    owner_user_id: uuid.UUID | None
    due: date | None = None
    due_text: str | None = None
    agreed_by: str | None = None
    agreed_on: date | None = None


def agenda_item_of(meeting: Meeting, family_id: uuid.UUID | None) -> AgendaItem:
    """The family's item on this meeting's agenda; refused when it is not on it."""
    item = db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id,
                                                      AgendaItem.family_id == family_id)) if family_id else None
    if item is None:
        raise OperationError(NOT_ON_AGENDA, field="family")
    return item


def _open_plan(family_id: uuid.UUID) -> Plan:
    plan = db.session.scalar(select(Plan).where(Plan.family_id == family_id, Plan.status != "afgesloten"))
    if plan is None:
        raise OperationError(NO_PLAN, field="family")
    return plan


def check_action(meeting: Meeting, family_id: uuid.UUID | None, spec: ActionSpec, actor: Actor,
                 today: date) -> smart.Verdict:
    """What the SMART checker says of the action as typed so far, the way
    :func:`record_action` will check it (same draft); writes nothing."""
    plan = _open_plan(agenda_item_of(meeting, family_id).family_id)
    owner = db.session.get(User, spec.owner_user_id) if spec.owner_user_id else None
    return smart.check(smart.ActionDraft(
        what=spec.what, done_when=spec.done_when, owner_label=owner.name if owner else None, goal_id=spec.goal_id,
        due=spec.due, due_text=spec.due_text, owner_accepted=owner is not None and owner.id == actor.user_id,
        family_agreement_required=plan.family_agreement_required and plan.status in ADOPTED,
        family_agreed=spec.agreed_by is not None, today=today, next_evaluation=plan.next_evaluation,
        owner_is_group=False if owner else None), region_words())


def record_action(meeting: Meeting, family_id: uuid.UUID | None, spec: ActionSpec, by: User, actor: Actor,
                  today: date, expected: int) -> tuple[PlanAction, smart.Verdict]:
    """A SMART action on the plan of a family on this meeting's agenda, through the plan's
    own operation (checker, history, audit); refused whole when anything is wrong."""
    _chair(meeting, by)
    _live(meeting)
    item = agenda_item_of(meeting, family_id)
    plan = _open_plan(item.family_id)
    owner = db.session.get(User, spec.owner_user_id) if spec.owner_user_id else None
    _claim(meeting, expected)
    action, verdict = add_action(plan, goal_id=spec.goal_id, what=spec.what, done_when=spec.done_when,
                                 owner_user=owner, owner_member=None, due=spec.due, due_text=spec.due_text,
                                 agreed_by=spec.agreed_by, agreed_on=spec.agreed_on, actor=actor, today=today)
    audit_item("meetings.action", item, actor, "action recorded in meeting", plan_action=str(action.id))
    publish(meeting, "action", section_id=item.section_id, item_id=item.id)
    return action, verdict


def record_attendance_live(meeting: Meeting, section: Section, person: User, status: str, by: User, actor: Actor,
                           expected: int) -> Attendance:
    """Attendance from the console: as on the meeting page, plus the version claim and an
    event for the section's screens."""
    _claim(meeting, expected)
    row = record_attendance(meeting, section, person, status, by, actor)
    publish(meeting, "attendance", section_id=section.id)
    return row


def reorder_items(meeting: Meeting, section: Section, item_ids: list[uuid.UUID], by: User, actor: Actor,
                  expected: int) -> None:
    """A new order for one section (a drag on the console): renumbered 0..n-1, audited."""
    if section.overleg_id != meeting.overleg_id:
        raise OperationError("Kies een onderdeel van dit overleg.", field="section")
    _claim(meeting, expected, STALE_ORDER)
    reorder(meeting, section, item_ids, by, actor)


def move_item(meeting: Meeting, item: AgendaItem, direction: int, by: User, actor: Actor, expected: int) -> None:
    """One place up (-1) or down (+1) within its section (the keyboard's way); at an end
    it stays."""
    if item.meeting_id != meeting.id:
        raise OperationError("Dit punt staat niet op de agenda van dit overleg.", field="item")
    order = list(db.session.scalars(select(AgendaItem.id).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.section_id == item.section_id)
        .order_by(AgendaItem.position)))
    index = order.index(item.id)
    target = index + (1 if direction > 0 else -1)
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
    reorder_items(meeting, item.section, order, by, actor, expected)
