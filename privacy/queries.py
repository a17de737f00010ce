"""Read queries of ``privacy``: which covenant version is in force, and its rule for a
receiving party, purpose and category."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from netwerk.db import db
from privacy.models import Consent, CovenantCategory, CovenantParty, CovenantPurpose, CovenantRule, CovenantVersion


def covenant_in_force(on: date) -> CovenantVersion | None:
    """The newest version valid on ``on`` (a later version supersedes an earlier one)."""
    return db.session.scalar(
        select(CovenantVersion)
        .where(CovenantVersion.valid_from <= on,
               or_(CovenantVersion.valid_until.is_(None), CovenantVersion.valid_until >= on))
        .order_by(CovenantVersion.valid_from.desc(), CovenantVersion.id.desc())
        .limit(1)
    )


def party_on(covenant: CovenantVersion, organisation_id: uuid.UUID, on: date) -> CovenantParty | None:
    """The organisation's membership of ``covenant`` if it is a party on ``on``."""
    return db.session.scalar(
        select(CovenantParty).where(
            CovenantParty.covenant_id == covenant.id,
            CovenantParty.organisation_id == organisation_id,
            CovenantParty.joined_on <= on,
            # From its leaving day on, an organisation is no longer a party (like a withdrawal).
            or_(CovenantParty.left_on.is_(None), CovenantParty.left_on > on),
        )
    )


@dataclass(frozen=True)
class Vocabulary:
    purposes: frozenset[str]
    categories: frozenset[str]


def vocabulary(covenant: CovenantVersion) -> Vocabulary:
    purposes = db.session.scalars(select(CovenantPurpose.code).where(CovenantPurpose.covenant_id == covenant.id))
    categories = db.session.scalars(
        select(CovenantCategory.code).where(CovenantCategory.covenant_id == covenant.id))
    return Vocabulary(frozenset(purposes), frozenset(categories))


def labels(covenant: CovenantVersion | None) -> tuple[dict[str, str], dict[str, str]]:
    """The covenant's purposes and categories, code -> Dutch label, in a stable order."""
    if covenant is None:
        return {}, {}
    purposes = db.session.execute(select(CovenantPurpose.code, CovenantPurpose.label)
                                  .where(CovenantPurpose.covenant_id == covenant.id).order_by(CovenantPurpose.id))
    categories = db.session.execute(select(CovenantCategory.code, CovenantCategory.label)
                                    .where(CovenantCategory.covenant_id == covenant.id).order_by(CovenantCategory.id))
    return {c: label for c, label in purposes}, {c: label for c, label in categories}


def rule_for(covenant: CovenantVersion, party: CovenantParty, purpose: str, category: str) -> CovenantRule | None:
    """The rule addressing this organisation itself, else the one for its type."""
    own, by_type = f"org:{party.organisation_id}", f"type:{party.party_type}"
    rules = db.session.scalars(
        select(CovenantRule).where(
            CovenantRule.covenant_id == covenant.id,
            CovenantRule.purpose_code == purpose,
            CovenantRule.category_code == category,
            CovenantRule.receiver.in_([own, by_type]),
        )
    ).all()
    return next((r for r in rules if r.receiver == own), None) or next(iter(rules), None)


def consent_on_record(subject: str, step: str, organisation_id: uuid.UUID | None, on: date) -> bool:
    stmt = select(Consent.id).where(
        Consent.subject == subject, Consent.step == step, Consent.given_on <= on,
        or_(Consent.withdrawn_on.is_(None), Consent.withdrawn_on > on),
    )
    if step == "delen_met_organisatie":
        stmt = stmt.where(Consent.organisation_id == organisation_id)
    return db.session.scalar(stmt.limit(1)) is not None
