"""rq jobs of the core: take ids, load from the database, call the same code as the UI."""

from __future__ import annotations

import uuid

from netwerk.db import db
from netwerk.mail import deliver
from netwerk.models import OutboxMail


def deliver_mail(mail_id: str) -> str:
    mail = db.session.get(OutboxMail, uuid.UUID(mail_id))
    if mail is None:
        return "missing"
    deliver(mail)
    return mail.state
