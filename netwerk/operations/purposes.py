"""Choosing a purpose where the context gives none: emergency access (noodtoegang).

The viewer states the purpose and a reason; the claim lasts EMERGENCY_ACCESS_MINUTES,
is audited with the outcome "emergency" and flagged for the privacy officer's review.
It does not widen the covenant: the gate still decides each category for that purpose.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from netwerk.db import db
from netwerk.models import Person, PurposeClaim
from netwerk.operations.common import OperationError
from netwerk.operations.families import subject_of
from privacy.audit import Actor, record
from privacy.queries import covenant_in_force, party_on, vocabulary

MIN_REASON, MAX_REASON = 20, 500


def claim_purpose(person: Person, purpose: str, reason: str, actor: Actor, now: datetime) -> PurposeClaim:
    if actor.user_id is None or actor.org_id is None:
        raise OperationError("Alleen een ingelogde professional kan noodtoegang vragen.")
    covenant = covenant_in_force(now.date())
    if covenant is None:
        raise OperationError("Er is geen convenant van kracht; er wordt geen inhoud gedeeld.")
    if party_on(covenant, actor.org_id, now.date()) is None:
        # The gate would refuse every category anyway: a claim would only flag noise for review.
        raise OperationError("Uw organisatie is geen partij bij het convenant dat nu geldt; "
                             "er wordt geen inhoud gedeeld.")
    if purpose not in vocabulary(covenant).purposes:
        raise OperationError("Kies een doel uit het convenant.", field="purpose")
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON:
        raise OperationError(f"Geef een reden van minstens {MIN_REASON} tekens.", field="reason")
    if len(reason) > MAX_REASON:
        raise OperationError(f"De reden is hoogstens {MAX_REASON} tekens.", field="reason")
    minutes = current_app.config["EMERGENCY_ACCESS_MINUTES"]
    claim = PurposeClaim(user_id=actor.user_id, organisation_id=actor.org_id, person_id=person.id,
                         purpose=purpose, created_at=now, expires_at=now + timedelta(minutes=minutes))
    claim.reason = reason
    db.session.add(claim)
    db.session.flush()
    record("content.emergency_access", actor=actor, outcome="emergency", summary="emergency access claimed",
           subjects=[subject_of(person)], object_type="purpose_claim", object_id=claim.id, purpose=purpose,
           covenant_version=covenant.version, meta={"flag": "review", "minutes": minutes})
    return claim
