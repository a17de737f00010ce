"""State changes of ``privacy``: covenant versions (a change is always a new version) and
stepped consent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select

from netwerk.db import db
from privacy.audit import Actor, record
from privacy.models import (
    CONSENT_FORMS,
    CONSENT_GIVERS,
    CONSENT_STEPS,
    LEGAL_BASES,
    Consent,
    CovenantCategory,
    CovenantParty,
    CovenantPurpose,
    CovenantRule,
    CovenantVersion,
)


class CovenantError(Exception):
    """A refused covenant change, with a Dutch message; nothing has been written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class PartySpec:
    organisation_id: uuid.UUID
    party_type: str
    joined_on: date
    left_on: date | None = None


@dataclass(frozen=True)
class RuleSpec:
    purpose: str
    category: str
    receiver: str  # "org:<uuid>" or "type:<org type>"
    allowed: bool
    article: str
    legal_basis: str | None = None
    consent_step: str | None = None


@dataclass
class CovenantSpec:
    version: str
    title: str
    valid_from: date
    valid_until: date | None
    purposes: dict[str, str]  # code -> label
    categories: dict[str, tuple[str, bool, bool]]  # code -> (label, special, criminal)
    parties: list[PartySpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    involvement_max_years: int | None = None
    involvement_age_limit: int | None = None


def _check(spec: CovenantSpec) -> None:
    if db.session.scalar(select(CovenantVersion.id).where(CovenantVersion.version == spec.version)):
        raise CovenantError(f"Versie {spec.version} bestaat al; een wijziging is altijd een nieuwe versie.")
    if spec.valid_until is not None and spec.valid_until < spec.valid_from:
        raise CovenantError("De einddatum ligt vóór de begindatum.")
    if spec.involvement_max_years is not None and not 1 <= spec.involvement_max_years <= 10:
        raise CovenantError("Een betrokkenheid loopt hoogstens 1 tot 10 jaar.")
    if spec.involvement_age_limit is not None and not 12 <= spec.involvement_age_limit <= 30:
        raise CovenantError("De leeftijdsgrens voor betrokkenheid ligt tussen 12 en 30 jaar.")
    parties = {f"org:{p.organisation_id}" for p in spec.parties} | {f"type:{p.party_type}" for p in spec.parties}
    for rule in spec.rules:
        if rule.purpose not in spec.purposes:
            raise CovenantError(f"Onbekend doel in een regel: {rule.purpose}.")
        if rule.category not in spec.categories:
            raise CovenantError(f"Onbekende categorie in een regel: {rule.category}.")
        if rule.receiver not in parties:
            raise CovenantError(f"Een regel noemt een ontvanger die geen partij is: {rule.receiver}.")
        if rule.allowed and rule.legal_basis not in LEGAL_BASES:
            raise CovenantError("Een regel die delen toestaat, noemt een geldige grondslag.")
        if rule.consent_step is not None and rule.consent_step not in CONSENT_STEPS:
            raise CovenantError(f"Onbekende instemmingsstap: {rule.consent_step}.")


def create_covenant_version(spec: CovenantSpec, actor: Actor) -> CovenantVersion:
    """Write a complete new covenant version; the one in force is chosen by its dates."""
    _check(spec)
    covenant = CovenantVersion(version=spec.version, title=spec.title, valid_from=spec.valid_from,
                               valid_until=spec.valid_until, created_by_user_id=actor.user_id,
                               involvement_max_years=spec.involvement_max_years,
                               involvement_age_limit=spec.involvement_age_limit)
    db.session.add(covenant)
    db.session.flush()
    db.session.add_all(
        [CovenantPurpose(covenant_id=covenant.id, code=code, label=label) for code, label in spec.purposes.items()]
        + [CovenantCategory(covenant_id=covenant.id, code=code, label=label, special=special, criminal=criminal)
           for code, (label, special, criminal) in spec.categories.items()]
        + [CovenantParty(covenant_id=covenant.id, organisation_id=p.organisation_id, party_type=p.party_type,
                         joined_on=p.joined_on, left_on=p.left_on) for p in spec.parties]
        + [CovenantRule(covenant_id=covenant.id, purpose_code=r.purpose, category_code=r.category,
                        receiver=r.receiver, allowed=r.allowed, legal_basis=r.legal_basis if r.allowed else None,
                        consent_step=r.consent_step, article=r.article) for r in spec.rules]
    )
    db.session.flush()
    record("covenant.version_created", actor=actor, summary="covenant version created",
           object_type="covenant_version", object_id=covenant.id, covenant_version=covenant.version,
           meta={"parties": len(spec.parties), "rules": len(spec.rules),
                 "valid_from": spec.valid_from.isoformat(),
                 "valid_until": spec.valid_until.isoformat() if spec.valid_until else None})
    return covenant


# --- stepped consent ----------------------------------------------------------------------

@dataclass(frozen=True)
class ConsentSpec:
    step: str
    given_by: str
    form: str
    given_on: date
    organisation_id: uuid.UUID | None = None


def add_consent(subject: str, person_id: uuid.UUID, spec: ConsentSpec, actor: Actor) -> Consent:
    """Record a consent step (the caller has checked who may give it)."""
    if spec.step not in CONSENT_STEPS:
        raise CovenantError(f"Onbekende instemmingsstap: {spec.step}.")
    if spec.given_by not in CONSENT_GIVERS or spec.form not in CONSENT_FORMS:
        raise CovenantError("Geef aan wie instemde en in welke vorm.")
    if (spec.step == "delen_met_organisatie") != (spec.organisation_id is not None):
        raise CovenantError("Instemming om te delen noemt precies één organisatie; andere stappen geen.")
    consent = Consent(subject=subject, person_id=person_id, step=spec.step, organisation_id=spec.organisation_id,
                      given_by=spec.given_by, form=spec.form, given_on=spec.given_on,
                      recorded_by_user_id=actor.user_id)
    db.session.add(consent)
    db.session.flush()
    record("consent.recorded", actor=actor, summary="consent recorded", subjects=[subject],
           object_type="consent", object_id=consent.id, meta={"step": spec.step, "form": spec.form})
    return consent


def withdraw_consent(consent: Consent, on: date, actor: Actor) -> None:
    """From ``on`` the step counts as not given, for every decision at once."""
    if consent.withdrawn_on is not None:
        raise CovenantError("Deze instemming is al ingetrokken.")
    if on < consent.given_on:
        raise CovenantError("Intrekken kan niet vóór de datum van instemming.")
    consent.withdrawn_on = on
    record("consent.withdrawn", actor=actor, summary="consent withdrawn", subjects=[consent.subject],
           object_type="consent", object_id=consent.id, meta={"step": consent.step})
