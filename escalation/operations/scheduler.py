"""The daily level-up: an escalation whose deadline passed without a decision moves one
level up with a new deadline; at the top level it stays and is flagged."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from escalation.models import (
    AWAITING_DECISION,
    TOP_LEVEL,
    Escalation,
)
from escalation.operations.common import (
    StaleEscalation,
    _actor,
    _audit,
    _claim,
    _new_deadline,
    _notify,
    _raisers,
    _step,
    local_day,
)
from escalation.policy import Lookup, addressees_at
from netwerk.db import db, utcnow


def overdue(today: date) -> list[Escalation]:
    """Escalations awaiting a decision whose deadline has passed (one query); at the top
    level only those not flagged yet."""
    return list(db.session.scalars(
        select(Escalation).where(Escalation.status.in_(AWAITING_DECISION), Escalation.deadline < today,
                                 (Escalation.level < TOP_LEVEL) | Escalation.top_overdue_since.is_(None))
        .order_by(Escalation.deadline, Escalation.id)))


def level_up_overdue(now: datetime | None = None) -> int:
    """Move every escalation whose deadline passed without a decision one level up, with
    the new level's deadline counted from today; at level 3 flag it instead. Idempotent:
    the new deadline lies in the future and a flagged one is not selected again. Returns
    how many escalations changed."""
    now = now or utcnow()
    today = local_day(now)
    changed = 0
    for esc in overdue(today):
        try:
            with db.session.begin_nested():
                _level_up(esc, now, today)
            changed += 1
        except StaleEscalation:
            continue  # a person acted on it meanwhile: their step stands
    return changed


def _level_up(esc: Escalation, now: datetime, today: date) -> None:
    _claim(esc, None)
    if esc.level >= TOP_LEVEL:
        esc.top_overdue_since = today
        _audit("escalation.top_overdue", esc, _actor(None), "escalation overdue at the top level",
               {"deadline": esc.deadline.isoformat() if esc.deadline else None})
        _notify(esc, "escalation_level_up", _raisers(esc), None)
        return
    before = esc.level
    esc.level, esc.status, esc.level_changed_at = before + 1, "opgeschaald", now
    esc.acknowledged_at = esc.acknowledged_by_id = None
    esc.deadline = _new_deadline(esc, esc.level, now)
    _step(esc, "niveau_omhoog", None, now, from_level=before, to_level=esc.level)
    _audit("escalation.level_up", esc, _actor(None), "escalation moved up a level (deadline passed)",
           {"from_level": before, "deadline": esc.deadline.isoformat()})
    _notify(esc, "escalation_level_up", [*addressees_at(esc, esc.level, Lookup(on=today)), *_raisers(esc)], None)
