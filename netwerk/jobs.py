"""rq jobs of the core: take ids, load from the database, call the same code as the UI."""

from __future__ import annotations

import uuid
from datetime import date

from netwerk.db import db
from netwerk.mail import deliver
from netwerk.models import OutboxMail
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
