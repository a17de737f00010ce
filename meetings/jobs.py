"""rq jobs of ``meetings`` (ids only in; idempotent)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from meetings import besluitenlijst
from meetings.models import AgendaItem, Meeting
from meetings.operations import make_letters
from netwerk.db import db, utcnow
from netwerk.mail import queue_mail
from netwerk.models import OutboxMail


def prepare_letters(item_id: str) -> int:
    """Make the letters for a family newly on an agenda; a second run makes none."""
    item = db.session.get(AgendaItem, uuid.UUID(item_id))
    if item is None:
        return 0
    return len(make_letters(item, utcnow().date()))


def send_besluitenlijst(meeting_id: str) -> int:
    """Mail each participant of an attending organisation the link to the besluitenlijst
    of a closed meeting; a second run sends nothing (one dedupe key per meeting and person)."""
    meeting = db.session.get(Meeting, uuid.UUID(meeting_id))
    if meeting is None or meeting.status != "gesloten":
        return 0
    people = besluitenlijst.recipients(meeting)
    keys = {u.id: f"besluitenlijst:{meeting.id.hex}:{u.id.hex}" for u in people}
    sent = set(db.session.scalars(select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.in_(keys.values()))))
    path = f"/vergaderingen/{meeting.id}/besluitenlijst"
    fresh = [u for u in people if keys[u.id] not in sent]
    for user in fresh:
        queue_mail(besluitenlijst.MAIL_KIND, user.email, user.name, path, dedupe_key=keys[user.id])
    return len(fresh)
