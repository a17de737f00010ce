"""The lifecycle of one escalation: proposed → raised → acknowledged → decided →
resolved, de-escalated or dismissed. Each step checks the role (``escalation.policy``),
claims the version, writes a step and an audit entry, and notifies with a link."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from escalation import ladder
from escalation.ladder import local_day
from escalation.models import (
    AWAITING_DECISION,
    REASON_CATEGORIES,
    RULE_CODES,
    SOURCES,
    Escalation,
)
from escalation.operations.common import (
    ASK_LENGTH,
    CLOSING,
    DECISION_LENGTH,
    MAX_BLOCKED_ACTIONS,
    NOT_A_PARTY,
    NOT_ADDRESSEE,
    NOT_RAISER,
    NOTE_LENGTH,
    EscalationRefused,
    _actor,
    _audit,
    _check,
    _claim,
    _ensure_open,
    _new_deadline,
    _notify,
    _open_duplicate,
    _raisers,
    _refuse_role,
    _role_for,
    _step,
    _text,
)
from escalation.policy import Lookup, addressees_at, coordinator_id, is_chair
from escalation.policy import addressees as _addressees
from netwerk.db import db, utcnow
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import Plan, PlanAction
from privacy.queries import parties_in_force


def propose(*, overleg: Any, household_id: uuid.UUID, source: str, rule_code: str | None = None,
            blocked_action_ids: Iterable[uuid.UUID | str] = (), stuck_organisation_id: uuid.UUID | None = None,
            explanation: str = "", proposed_by: User | None = None, now: datetime | None = None) -> Escalation | None:
    """Propose an escalation (by a rule: ``proposed_by`` None; by hand: the chair or the
    coordinator). Idempotent: while an escalation for the same family, overleg and rule is
    open, nothing changes and None is returned."""
    now = now or utcnow()
    if source not in SOURCES:
        raise EscalationRefused("Onbekende bron van de escalatie.", field="source")
    if rule_code is not None and rule_code not in RULE_CODES:
        raise EscalationRefused("Onbekende signaleringsregel.", field="rule_code")
    if source == "regel" and rule_code is None:
        raise EscalationRefused("Een voorstel van een regel noemt de regel.", field="rule_code")
    if db.session.get(Family, household_id) is None:
        raise EscalationRefused("Dit gezin bestaat niet.", field="household_id")
    if proposed_by is not None and not (is_chair(proposed_by, overleg.id)
                                        or coordinator_id(household_id) == proposed_by.id):
        raise _refuse_role(NOT_RAISER)
    action_ids = _blocked_actions(household_id, blocked_action_ids)
    if _open_duplicate(household_id, overleg.id, rule_code):
        return None
    esc = Escalation(overleg_id=overleg.id, household_id=household_id, status="voorgesteld", level=0,
                     source=source, rule_code=rule_code, blocked_action_ids=[str(a) for a in action_ids],
                     stuck_organisation_id=stuck_organisation_id or _stuck_organisation(action_ids),
                     explanation=(explanation or _rule_explanation(overleg.id, rule_code))[:400],
                     proposed_at=now, proposed_by_id=proposed_by.id if proposed_by else None, version=1)
    try:
        # A concurrent scan may have proposed the same one: the partial unique index decides.
        with db.session.begin_nested():
            db.session.add(esc)
            db.session.flush()
    except IntegrityError:
        return None
    _step(esc, "voorgesteld", proposed_by, now, to_level=0)
    _audit("escalation.proposed", esc, _actor(proposed_by), "escalation proposed",
           {"source": source, "rule": rule_code, "actions": len(action_ids)})
    _notify(esc, "escalation_proposed", _raisers(esc), proposed_by)
    return esc


def _blocked_actions(household_id: uuid.UUID, ids: Iterable[uuid.UUID | str],
                     field: str = "blocked_action_ids") -> list[uuid.UUID]:
    """The given action ids, each checked to be an action of this family's plans."""
    try:
        wanted = list(dict.fromkeys(uuid.UUID(str(i)) for i in ids))
    except ValueError:
        raise EscalationRefused("Een actie is onbekend.", field=field) from None
    if len(wanted) > MAX_BLOCKED_ACTIONS:
        raise EscalationRefused("Te veel acties in één escalatie.", field=field)
    if not wanted:
        return []
    found = set(db.session.scalars(select(PlanAction.id).join(Plan, Plan.id == PlanAction.plan_id)
                                   .where(PlanAction.id.in_(wanted), Plan.family_id == household_id)))
    if found != set(wanted):
        raise EscalationRefused("Een actie hoort niet bij dit gezin.", field=field)
    return wanted


def _stuck_organisation(action_ids: list[uuid.UUID]) -> uuid.UUID | None:
    if not action_ids:
        return None
    owners = db.session.scalars(select(PlanAction.owner_org_id).where(PlanAction.id.in_(action_ids),
                                                                      PlanAction.owner_org_id.is_not(None)))
    return next(iter(owners), None)


def _rule_explanation(overleg_id: uuid.UUID, rule_code: str | None) -> str:
    if rule_code is None:
        return ""
    rule = ladder.rules_of(overleg_id).get(rule_code)
    return ladder.rule_explanation(rule) if rule else ladder.explain(rule_code)


def raise_escalation(esc: Escalation, *, by: User, reason_category: str, ask: str, level: int | None = None,
                     stuck_organisation_id: uuid.UUID | None = None, version: int | None = None,
                     now: datetime | None = None) -> Escalation:
    """The chair or coordinator confirms a proposal: a reason, what is asked, and the level
    it starts at (0 unless the chair already spoke to the partner). Starts the deadline."""
    now = now or utcnow()
    _check(by, esc, "raise", NOT_RAISER)
    _ensure_open(esc)
    if esc.status != "voorgesteld":
        raise EscalationRefused("Deze escalatie is al opgeschaald.", code="verkeerde_stand")
    if reason_category not in REASON_CATEGORIES:
        raise EscalationRefused("Kies een reden: " + ", ".join(REASON_CATEGORIES.values()).lower() + ".",
                                field="reason_category")
    text = _text(ask, "ask", ASK_LENGTH, "Wat er gevraagd wordt")
    start = esc.level if level is None else level
    if start not in ladder.LEVEL_DEFAULTS:
        raise EscalationRefused("Kies een niveau van 0 tot en met 3.", field="level")
    if stuck_organisation_id is not None:
        if db.session.get(Organisation, stuck_organisation_id) is None:
            raise EscalationRefused("Deze organisatie bestaat niet.", field="stuck_organisation_id")
        if stuck_organisation_id not in parties_in_force(local_day(now)):
            raise EscalationRefused(NOT_A_PARTY, field="stuck_organisation_id")
        esc.stuck_organisation_id = stuck_organisation_id
    reached = addressees_at(esc, start, Lookup(on=local_day(now)))
    if not reached:
        raise EscalationRefused("Op dit niveau is niemand om de escalatie aan te richten; kies de partner die "
                                "vastzit of een ander niveau, of pas de ladder aan.", field="level")
    _claim(esc, version)
    esc.status, esc.level, esc.reason_category, esc.ask = "opgeschaald", start, reason_category, text
    esc.raised_at, esc.raised_by_id, esc.level_changed_at = now, by.id, now
    esc.deadline = _new_deadline(esc, start, now)
    _step(esc, "opgeschaald", by, now, from_level=None, to_level=start)
    _audit("escalation.raised", esc, _actor(by, _role_for(by, esc)), "escalation raised",
           {"reason": reason_category, "deadline": esc.deadline.isoformat()})
    _notify(esc, "escalation_raised", reached, by)
    return esc


def acknowledge(esc: Escalation, *, by: User, version: int | None = None, now: datetime | None = None) -> Escalation:
    """An addressee confirms receipt (once per level: a level-up asks the new addressees)."""
    now = now or utcnow()
    _ensure_open(esc)
    if esc.status == "voorgesteld":
        raise EscalationRefused("Deze escalatie is nog niet opgeschaald.", code="verkeerde_stand")
    if esc.status != "opgeschaald":
        raise EscalationRefused("De ontvangst van deze escalatie is al bevestigd.", code="verkeerde_stand")
    _check(by, esc, "acknowledge", NOT_ADDRESSEE)
    _claim(esc, version)
    esc.status, esc.acknowledged_at, esc.acknowledged_by_id = "ontvangen", now, by.id
    _step(esc, "ontvangen", by, now, from_level=esc.level, to_level=esc.level)
    _audit("escalation.acknowledged", esc, _actor(by), "escalation acknowledged")
    _notify(esc, "escalation_acknowledged", _raisers(esc), by)
    return esc


def decide(esc: Escalation, *, by: User, decision: str, new_action_ids: Iterable[uuid.UUID | str] = (),
           version: int | None = None, now: datetime | None = None) -> Escalation:
    """An addressee decides (with or without acknowledging first); new actions agreed in
    the decision are linked by id. Stops the clock: a decided escalation does not move up."""
    now = now or utcnow()
    _ensure_open(esc)
    if esc.status not in AWAITING_DECISION:
        message = ("Deze escalatie is nog niet opgeschaald." if esc.status == "voorgesteld"
                   else "Over deze escalatie is al besloten.")
        raise EscalationRefused(message, code="verkeerde_stand")
    _check(by, esc, "decide", NOT_ADDRESSEE)
    text = _text(decision, "decision", DECISION_LENGTH, "Het besluit")
    actions = _blocked_actions(esc.household_id, new_action_ids, "new_action_ids")
    _claim(esc, version)
    esc.status, esc.decided_at, esc.decided_by_id, esc.decision = "besloten", now, by.id, text
    esc.decision_action_ids = [str(a) for a in actions]
    if esc.acknowledged_at is None:
        esc.acknowledged_at, esc.acknowledged_by_id = now, by.id
    _step(esc, "besloten", by, now, from_level=esc.level, to_level=esc.level)
    _audit("escalation.decided", esc, _actor(by), "escalation decided", {"new_actions": len(actions)})
    _notify(esc, "escalation_decided", _raisers(esc), by)
    return esc


def _close(esc: Escalation, *, by: User, note: str, status: str, allowed_from: tuple[str, ...], wrong: str,
           version: int | None, now: datetime | None) -> Escalation:
    now = now or utcnow()
    _check(by, esc, CLOSING[status][0], NOT_RAISER)
    _ensure_open(esc)
    if esc.status not in allowed_from:
        raise EscalationRefused(wrong, code="verkeerde_stand")
    text = _text(note, "note", NOTE_LENGTH, "Een toelichting")
    told = addressees(esc)  # before closing: afterwards there are none
    _claim(esc, version)
    esc.status, esc.closed_at, esc.closed_by_id = status, now, by.id
    _step(esc, status, by, now, from_level=esc.level, to_level=None, note=text)
    _audit(CLOSING[status][1], esc, _actor(by, _role_for(by, esc)), f"escalation {status}")
    _notify(esc, "escalation_closed", [*told, *_raisers(esc)], by)
    return esc


def resolve(esc: Escalation, *, by: User, note: str, version: int | None = None,
            now: datetime | None = None) -> Escalation:
    """The case is moving again: close the escalation as solved."""
    return _close(esc, by=by, note=note, status="opgelost", allowed_from=("opgeschaald", "ontvangen", "besloten"),
                  wrong="Een voorstel dat niet is opgeschaald wordt afgewezen, niet opgelost.",
                  version=version, now=now)


def deescalate(esc: Escalation, *, by: User, note: str, version: int | None = None,
               now: datetime | None = None) -> Escalation:
    """Take it back down: the network handles it again without the ladder."""
    return _close(esc, by=by, note=note, status="afgeschaald", allowed_from=("opgeschaald", "ontvangen", "besloten"),
                  wrong="Een voorstel dat niet is opgeschaald wordt afgewezen, niet afgeschaald.",
                  version=version, now=now)


def dismiss(esc: Escalation, *, by: User, note: str, version: int | None = None,
            now: datetime | None = None) -> Escalation:
    """Turn down a proposal that was not raised (the rule may propose again later, once
    this one is closed)."""
    return _close(esc, by=by, note=note, status="afgewezen", allowed_from=("voorgesteld",),
                  wrong="Alleen een voorstel dat nog niet is opgeschaald kan worden afgewezen.",
                  version=version, now=now)


def addressees(esc: Escalation) -> list[User]:
    """The addressees of the escalation's current level."""
    return _addressees(esc)
