"""Informing the family that it is discussed: letters from the municipality to the parents
and to youth of 16 and older, made by a job; the secretary marks them sent, or defers
informing with a reason and a date to look again, or records that the family is discussed
anonymously — a choice with a reason, never a silent default.

Members with the safety flag (secret address) never get a letter and are never named in
one, and nobody who has died gets one.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from meetings.models import AgendaItem, Letter
from meetings.operations.agenda import audit_item, publish, require_open
from meetings.policy import manages
from netwerk.db import db
from netwerk.models import FamilyMember, Person, User
from netwerk.operations.common import OperationError
from netwerk.operations.families import age_on
from privacy.audit import Actor

LETTER_AGE = 16  # from this age a youth gets a letter of their own


def recipients(item: AgendaItem, on: date) -> list[Person]:
    """Parents, and members of 16 or older, with an address, alive, not flagged."""
    members = db.session.scalars(select(FamilyMember).where(FamilyMember.family_id == item.family_id))
    return [m.person for m in members
            if not m.person.safety_flag and m.person.date_of_death is None and m.person.address
            and (m.relation == "ouder" or age_on(m.person, on) >= LETTER_AGE)]


def make_letters(item: AgendaItem, on: date) -> list[Letter]:
    """The job's work: one letter per recipient (idempotent), and the item's inform state."""
    if item.inform_state != "te_versturen":
        return []  # deferred, anonymous or already done meanwhile: nothing to make
    have = set(db.session.scalars(select(Letter.person_id).where(Letter.agenda_item_id == item.id)))
    made = [Letter(agenda_item_id=item.id, person_id=p.id) for p in recipients(item, on) if p.id not in have]
    db.session.add_all(made)
    item.inform_state = "klaar" if made or have else "geen_ontvanger"
    publish(item.meeting, "inform_changed", section_id=item.section_id, item_id=item.id)
    return made


def _runner(item: AgendaItem, by: User) -> None:
    require_open(item.meeting)
    if not manages(by, item.meeting.overleg):
        raise OperationError("Alleen de voorzitter of secretaris regelt het informeren van het gezin.",
                             code="geen_toegang")


def mark_sent(letter: Letter, item: AgendaItem, by: User, actor: Actor, today: date) -> None:
    _runner(item, by)
    if letter.status == "verstuurd":
        raise OperationError("Deze brief is al als verstuurd vastgelegd.")
    letter.status, letter.sent_on, letter.sent_by_user_id = "verstuurd", today, by.id
    pending = db.session.scalar(select(Letter.id).where(Letter.agenda_item_id == item.id,
                                                        Letter.status != "verstuurd", Letter.id != letter.id))
    if pending is None:
        item.inform_state = "verstuurd"
    audit_item("meetings.letter_sent", item, actor, "letter to family marked sent", letter=str(letter.id))
    publish(item.meeting, "inform_changed", section_id=item.section_id, item_id=item.id)


def _reason(text: str | None) -> str:
    text = (text or "").strip()
    if not 10 <= len(text) <= 1000:
        raise OperationError("Geef een reden van 10 tot 1000 tekens.", field="reason")
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text):
        raise OperationError("De reden bevat ongeldige tekens.", field="reason")
    return text


def defer(item: AgendaItem, reason: str, review_on: date | None, by: User, actor: Actor, today: date) -> None:
    """Not now: with a reason and a date on which to look again (within three months)."""
    _runner(item, by)
    text = _reason(reason)
    if review_on is None or not today < review_on <= today + timedelta(days=92):
        raise OperationError("Kies een datum om opnieuw te bekijken, binnen drie maanden.", field="review_on")
    item.inform_state, item.inform_reason, item.inform_review_on = "uitgesteld", text, review_on
    audit_item("meetings.inform_deferred", item, actor, "informing the family deferred",
           review_on=review_on.isoformat())
    publish(item.meeting, "inform_changed", section_id=item.section_id, item_id=item.id)


def discuss_anonymously(item: AgendaItem, reason: str, by: User, actor: Actor) -> None:
    """The family is discussed without being named to the table: a recorded choice."""
    _runner(item, by)
    item.inform_state, item.inform_reason, item.inform_review_on = "anoniem", _reason(reason), None
    audit_item("meetings.inform_anonymous", item, actor, "family discussed anonymously")
    publish(item.meeting, "inform_changed", section_id=item.section_id, item_id=item.id)
