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

from meetings.models import DECISION_KINDS, AgendaItem, Decision, Meeting, ProjectorLink, Section
from meetings.operations.agenda import audit_item, publish
from meetings.policy import manages
from netwerk.db import db
from netwerk.models import User
from netwerk.operations.common import OperationError
from netwerk.operations.plans import involved_org_ids
from privacy.audit import Actor, record

PROJECTOR_LINK_HOURS = 12


class StaleMeeting(OperationError):
    """The console acted on an older state of the meeting."""

    def __init__(self) -> None:
        super().__init__("De voorzitter heeft het overleg intussen verder gezet; u ziet nu de nieuwe stand.",
                         code="verouderd")


def _chair(meeting: Meeting, by: User) -> None:
    if not manages(by, meeting.overleg) or "voorzitter" not in {m.role for m in meeting.overleg.members
                                                                 if m.user_id == by.id}:
        raise OperationError("Alleen de voorzitter leidt het overleg.", code="geen_toegang")


def _claim(meeting: Meeting, expected: int) -> None:
    """Bump the version only if it is still ``expected`` (one UPDATE, so two chairs' clicks
    cannot both pass): the loser gets :class:`StaleMeeting` and nothing changes."""
    done = db.session.execute(update(Meeting).where(Meeting.id == meeting.id, Meeting.version == expected)
                              .values(version=expected + 1)).rowcount
    if done != 1:
        raise StaleMeeting()
    db.session.refresh(meeting, ["version"])


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


def record_decision(item: AgendaItem, spec: DecisionSpec, by: User, actor: Actor, today: date) -> Decision:
    """A structured decision; "terug op de agenda" needs a future date, "zorgcoördinator
    aanwijzen" a professional of an organisation involved with the family."""
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
