"""Read queries of ``privacy``: which covenant version is in force, and its rule for a
receiving party, purpose and category."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select

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


def _member_on(covenant: CovenantVersion, on: date) -> Any:
    return and_(CovenantParty.covenant_id == covenant.id, CovenantParty.joined_on <= on,
                # From its leaving day on, an organisation is no longer a party (like a withdrawal).
                or_(CovenantParty.left_on.is_(None), CovenantParty.left_on > on))


def party_on(covenant: CovenantVersion, organisation_id: uuid.UUID, on: date) -> CovenantParty | None:
    """The organisation's membership of ``covenant`` if it is a party on ``on``."""
    return db.session.scalar(
        select(CovenantParty).where(_member_on(covenant, on), CovenantParty.organisation_id == organisation_id))


def parties_in_force(on: date) -> set[uuid.UUID]:
    """The organisations that are a party to the covenant in force on ``on`` (none without one)."""
    covenant = covenant_in_force(on)
    if covenant is None:
        return set()
    return set(db.session.scalars(select(CovenantParty.organisation_id).where(_member_on(covenant, on))))


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


# --- the gate's fast path: compiled covenants and per-transaction memos ---------------------
# A covenant version is never edited (a change is a new version), so its vocabulary,
# parties and rules are compiled once per process. Which version is in force, and which
# consent is on record, are re-read once per database transaction: a decision never uses
# more than the transaction could see anyway, and a new request starts fresh.

@dataclass(frozen=True)
class Rule:
    allowed: bool
    legal_basis: str | None
    consent_step: str | None
    article: str


@dataclass(frozen=True)
class Party:
    party_type: str
    joined_on: date
    left_on: date | None


@dataclass(frozen=True)
class CompiledCovenant:
    id: int
    version: str
    purposes: frozenset[str]
    categories: frozenset[str]
    parties: dict[uuid.UUID, Party]
    rules: dict[tuple[str, str, str], Rule]  # (purpose, category, receiver)

    def party_on(self, organisation_id: uuid.UUID, on: date) -> tuple[str, Party] | None:
        party = self.parties.get(organisation_id)
        if party is None or party.joined_on > on or (party.left_on is not None and party.left_on <= on):
            return None
        return str(organisation_id), party

    def rule_for(self, organisation_id: str, party: Party, purpose: str, category: str) -> Rule | None:
        """The rule addressing this organisation itself, else the one for its type."""
        return (self.rules.get((purpose, category, f"org:{organisation_id}"))
                or self.rules.get((purpose, category, f"type:{party.party_type}")))


_COMPILED: dict[tuple[int, object], CompiledCovenant] = {}
_COMPILED_LOCK = threading.Lock()
_MEMO = "privacy_gate_memo"


def _memo() -> dict[str, Any]:
    """A dict that lives as long as the current database transaction."""
    session = db.session()
    if session.get_transaction() is None:
        session.connection()  # begin now, so the memo is keyed to the transaction that reads
    transaction = session.get_transaction()
    held = session.info.get(_MEMO)
    if held is None or held[0] is not transaction:
        held = (transaction, {})
        session.info[_MEMO] = held
    return held[1]


def forget_gate_memo() -> None:
    """Writers of covenants and consent call this so the same transaction sees the change."""
    db.session.info.pop(_MEMO, None)


def compiled_in_force(on: date) -> CompiledCovenant | None:
    memo = _memo()
    versions = memo.get("versions")
    if versions is None:
        versions = memo["versions"] = db.session.execute(
            select(CovenantVersion.id, CovenantVersion.created_at, CovenantVersion.valid_from,
                   CovenantVersion.valid_until)
            .order_by(CovenantVersion.valid_from.desc(), CovenantVersion.id.desc())).all()
    for version_id, created_at, valid_from, valid_until in versions:
        if valid_from <= on and (valid_until is None or valid_until >= on):
            return _compiled(version_id, created_at)
    return None


def _compiled(version_id: int, created_at: object) -> CompiledCovenant:
    # Keyed by id and creation time: a test database that is reset reuses ids.
    key = (version_id, created_at)
    found = _COMPILED.get(key)
    if found is None:
        found = _compile(version_id)
        with _COMPILED_LOCK:
            _COMPILED[key] = found
    return found


def _compile(version_id: int) -> CompiledCovenant:
    version = db.session.get(CovenantVersion, version_id)
    parties = db.session.scalars(select(CovenantParty).where(CovenantParty.covenant_id == version_id))
    rules = db.session.scalars(select(CovenantRule).where(CovenantRule.covenant_id == version_id))
    words = vocabulary(version)
    return CompiledCovenant(
        id=version_id, version=version.version, purposes=words.purposes, categories=words.categories,
        parties={p.organisation_id: Party(p.party_type, p.joined_on, p.left_on) for p in parties},
        rules={(r.purpose_code, r.category_code, r.receiver): Rule(r.allowed, r.legal_basis, r.consent_step,
                                                                   r.article) for r in rules})


def consents_on_record(subject: str, step: str, organisation_id: uuid.UUID | None, on: date) -> bool:
    """``consent_on_record`` with the subject's consent rows read once per transaction."""
    memo = _memo().setdefault("consent", {})
    rows = memo.get(subject)
    if rows is None:
        rows = memo[subject] = db.session.execute(
            select(Consent.step, Consent.organisation_id, Consent.given_on, Consent.withdrawn_on)
            .where(Consent.subject == subject)).all()
    return any(row_step == step and given_on <= on and (withdrawn_on is None or withdrawn_on > on)
               and (step != "delen_met_organisatie" or org == organisation_id)
               for row_step, org, given_on, withdrawn_on in rows)
