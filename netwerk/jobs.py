"""rq jobs of the core: take ids, load from the database, call the same code as the UI."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from netwerk.db import db
from netwerk.mail import deliver, queue_mail
from netwerk.models import Notification, OutboxMail
from netwerk.operations.involvements import expire_involvements as _expire
from privacy.audit import Actor


def deliver_mail(mail_id: str) -> str:
    mail = db.session.get(OutboxMail, uuid.UUID(mail_id))
    if mail is None:
        return "missing"
    deliver(mail)
    return mail.state


def expire_involvements() -> int:
    """Daily: end involvements past their end date or expiry (safe to run twice)."""
    return _expire(date.today(), Actor.system("job:expire-involvements"))


# --- Mijn acties reminders (issue 4) -------------------------------------------------------

def remind_actions(today: str | None = None) -> int:
    """Daily: one mail and one in-app notice per open action per kind ("binnenkort" or
    "te laat") per day to its owning user, with a link to Mijn acties and no content.
    Safe to run twice: the mail's dedupe key names the action, the kind and the day."""
    # Imported here: netwerk.queries reads the gate, which the job module need not load at import.
    from netwerk.queries import action_reminders_due  # noqa: PLC0415

    day = date.fromisoformat(today) if today else date.today()
    actions = action_reminders_due(day)
    kinds = {a.id: "action_overdue" if a.due < day else "action_due_soon" for a in actions}
    keys = {a.id: f"{kinds[a.id]}:{a.id.hex}:{day.isoformat()}" for a in actions}
    sent = set(db.session.scalars(select(OutboxMail.dedupe_key).where(
        OutboxMail.dedupe_key.in_(list(keys.values()))))) if keys else set()
    queued = 0
    for action in actions:
        kind, key = kinds[action.id], keys[action.id]
        owner = action.owner_user
        if key in sent or owner is None or not owner.active:
            continue
        queue_mail(kind, owner.email, owner.name, "/mijn-acties", dedupe_key=key)
        db.session.add(Notification(user_id=owner.id, kind=kind, link="/mijn-acties"))
        queued += 1
    return queued
