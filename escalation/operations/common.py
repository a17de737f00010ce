"""What the escalation operations share: errors, messages, the version claim, audit
entries, steps and notifications (a link, never content)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from escalation import ladder
from escalation.ladder import local_day
from escalation.models import (
    OPEN_STATUSES,
    Escalation,
    EscalationStep,
)
from escalation.policy import coordinator_id, is_chair, may_act
from meetings.models import OverlegMember
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.mail import queue_mail
from netwerk.models import FamilyMember, Notification, User
from netwerk.operations.common import OperationError, bump_version
from privacy.audit import Actor, blind, record

ASK_LENGTH = (5, 1000)
NOTE_LENGTH = (5, 2000)
DECISION_LENGTH = (5, 2000)
MAX_BLOCKED_ACTIONS = 50


def link(esc: Escalation) -> str:
    """The one place an escalation's address is made (notifications, mails): the board
    sends it on to the escalation on its family's page, for whoever may see it."""
    return f"/opschaling?escalatie={esc.id}"


NOT_RAISER = "Alleen de voorzitter van het overleg of de zorgcoördinator van het gezin kan dit doen."
NOT_ADDRESSEE = "Alleen wie de escalatie op dit niveau ontvangt, kan dit doen."
NOT_CHAIR = "Alleen de voorzitter van het overleg kan de escalatieladder en de signaleringsregels aanpassen."
# Closing status -> (policy action, audit action).
CLOSING: dict[str, tuple[str, str]] = {
    "opgelost": ("resolve", "escalation.resolved"),
    "afgeschaald": ("deescalate", "escalation.deescalated"),
    "afgewezen": ("dismiss", "escalation.dismissed"),
}
CLOSED = "Deze escalatie is afgesloten en kan niet meer worden gewijzigd."
NOT_A_PARTY = ("Deze organisatie is geen partij bij het convenant dat nu geldt; een escalatie gaat alleen naar "
               "partijen bij het convenant.")


class EscalationRefused(OperationError):
    """A refusal with a Dutch message (wrong role, wrong state, missing input)."""


class StaleEscalation(OperationError):
    """The caller acted on an older version; ``current`` is the escalation as it is now."""

    def __init__(self, current: Escalation) -> None:
        super().__init__("Iemand anders heeft deze escalatie intussen gewijzigd; bekijk de nieuwe stand.",
                         field="version", code="verouderd")
        self.current = current


# ---------------------------------------------------------------------------- helpers

def _refuse_role(message: str) -> EscalationRefused:
    return EscalationRefused(message, code="geen_recht")


def _check(by: User, esc: Escalation, action: str, message: str) -> None:
    if not may_act(by, esc, action):
        raise _refuse_role(message)


def _claim(esc: Escalation, expected: int | None) -> None:
    """Bump the version only if it is still the one the caller saw (a concurrent step loses)."""
    current = esc.version
    if (expected is not None and expected != current) or not bump_version(esc, current):
        raise StaleEscalation(esc)


def _text(value: str | None, field: str, bounds: tuple[int, int], label: str) -> str:
    cleaned = (value or "").strip()
    low, high = bounds
    if len(cleaned) < low:
        raise EscalationRefused(f"{label} is verplicht (minstens {low} tekens).", field=field)
    if len(cleaned) > high:
        raise EscalationRefused(f"{label} is te lang (hoogstens {high} tekens).", field=field)
    if any(ord(c) < 32 and c not in "\n\r\t" for c in cleaned):
        raise EscalationRefused(f"{label} bevat ongeldige tekens.", field=field)
    return cleaned


def _actor(user: User | None, role: str | None = None) -> Actor:
    return actor_for(user, role) if user is not None else Actor.system("job:escalation")


def _role_for(user: User, esc: Escalation) -> str:
    if is_chair(user, esc.overleg_id):
        return "voorzitter"
    return user.primary_role


def _subjects(household_id: uuid.UUID) -> list[str]:
    persons = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == household_id))
    return [blind("family", household_id), *(blind("person", p) for p in persons)]


def _audit(action: str, esc: Escalation, actor: Actor, summary: str, meta: dict[str, Any] | None = None,
           subjects: list[str] | None = None) -> None:
    """Ids and codes only: the ask, the decision and notes never enter the log."""
    base = {"overleg": str(esc.overleg_id), "status": esc.status, "level": esc.level, "version": esc.version}
    record(action, actor=actor, summary=summary,
           subjects=_subjects(esc.household_id) if subjects is None else subjects, object_type="escalation",
           object_id=esc.id, categories=["plan"], meta=base | (meta or {}))


def _step(esc: Escalation, kind: str, actor: User | None, at: datetime, *, from_level: int | None = None,
          to_level: int | None = None, note: str | None = None) -> EscalationStep:
    step = EscalationStep(escalation_id=esc.id, position=len(esc.steps), at=at,
                          actor_id=actor.id if actor else None, kind=kind, from_level=from_level, to_level=to_level)
    step.note = note
    esc.steps.append(step)
    return step


def _raisers(esc: Escalation) -> list[User]:
    chair_ids = select(OverlegMember.user_id).where(OverlegMember.overleg_id == esc.overleg_id,
                                                    OverlegMember.role == "voorzitter")
    users = [u for u in db.session.scalars(select(User).where(User.id.in_(chair_ids), User.active.is_(True)))
             if "voorzitter" in u.roles]
    coordinator = coordinator_id(esc.household_id)
    if coordinator is not None and all(u.id != coordinator for u in users):
        user = db.session.get(User, coordinator)
        if user is not None and user.active:
            users.append(user)
    return users


def _notify(esc: Escalation, kind: str, users: Iterable[User], actor: User | None) -> int:
    """A notice and a mail per recipient: a link, never content. One per step (the
    dedupe key names the version), so a retried job cannot send twice."""
    sent, path = 0, link(esc)
    for user in {u.id: u for u in users}.values():
        if actor is not None and user.id == actor.id:
            continue
        db.session.add(Notification(user_id=user.id, kind=kind, link=path))
        if user.email:
            queue_mail(kind, user.email, user.name, path,
                       dedupe_key=f"esc:{esc.id.hex}:{esc.version}:{kind}:{user.id.hex}"[:120])
        sent += 1
    return sent


def _open_duplicate(household_id: uuid.UUID, overleg_id: uuid.UUID, rule_code: str | None) -> bool:
    rule = Escalation.rule_code.is_(None) if rule_code is None else Escalation.rule_code == rule_code
    return db.session.scalar(select(Escalation.id).where(
        Escalation.household_id == household_id, Escalation.overleg_id == overleg_id, rule,
        Escalation.status.in_(OPEN_STATUSES)).limit(1)) is not None


def _ensure_open(esc: Escalation) -> None:
    if not esc.is_open:
        raise EscalationRefused(CLOSED, code="verkeerde_stand")


def _new_deadline(esc: Escalation, level: int, now: datetime) -> date:
    return ladder.deadline_from(local_day(now), ladder.deadline_days(esc.overleg_id, level))
