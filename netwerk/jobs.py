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
    "te laat") per day to its owning user, and once for an action its owner has not accepted
    in time — each with a link to Mijn acties and no content. Safe to run twice: the mail's
    dedupe key names the action and the kind (and the day, for the daily kinds)."""
    # Imported here: netwerk.queries reads the gate, which the job module need not load at import.
    from netwerk.queries import acceptance_reminders_due, action_reminders_due  # noqa: PLC0415

    day = date.fromisoformat(today) if today else date.today()
    reminders = [(a, "action_overdue" if a.due < day else "action_due_soon",
                  f"{'action_overdue' if a.due < day else 'action_due_soon'}:{a.id.hex}:{day.isoformat()}")
                 for a in action_reminders_due(day)]
    # Once per action: the "niet geaccepteerd" mark stays on Mijn acties after that.
    reminders += [(a, "action_not_accepted", f"action_not_accepted:{a.id.hex}")
                  for a in acceptance_reminders_due(day)]
    keys = [key for _, _, key in reminders]
    sent = set(db.session.scalars(select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.in_(keys))))
    queued = 0
    for action, kind, key in reminders:
        owner = action.owner_user
        if key in sent or owner is None or not owner.active:
            continue
        queue_mail(kind, owner.email, owner.name, "/mijn-acties", dedupe_key=key)
        db.session.add(Notification(user_id=owner.id, kind=kind, link="/mijn-acties"))
        queued += 1
    return queued
