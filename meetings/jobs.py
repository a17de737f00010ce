"""rq jobs of ``meetings`` (ids only in; idempotent)."""

from __future__ import annotations

import uuid

from meetings.models import AgendaItem
from meetings.operations import make_letters
from netwerk.db import db, utcnow


def prepare_letters(item_id: str) -> int:
    """Make the letters for a family newly on an agenda; a second run makes none."""
    item = db.session.get(AgendaItem, uuid.UUID(item_id))
    if item is None:
        return 0
    return len(make_letters(item, utcnow().date()))
