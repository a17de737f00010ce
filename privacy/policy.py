"""The one policy decision point for family content.

Every read of family content — anything beyond the bare fact *that* an organisation is
involved, with its contact person — asks :func:`decide` first. It decides for
(viewer, subject, data category, purpose), names the covenant version, article and legal
basis it relied on, and writes the audit entry itself, allowed or denied, so no channel
can read without leaving a trace.

Deny by default: without a covenant rule that allows the disclosure, the answer is no.
There is no administrator bypass: the beheerder role manages accounts and organisations
and is refused here whatever the covenant says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from netwerk.db import utcnow
from privacy.audit import Actor, record
from privacy.queries import CompiledCovenant, compiled_in_force, consents_on_record

# Roles that can never be the reason someone sees case content.
NEVER_CONTENT_ROLES = frozenset({"beheerder"})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # stable code, for tests and the audit meta
    message: str  # Dutch, safe to show the viewer
    covenant_version: str | None = None
    article: str | None = None
    legal_basis: str | None = None
    consent_step: str | None = None


def consent_given(subjects: list[str], step: str, viewer: Actor, on: date) -> bool:
    """Whether ``step`` is on record, given by ``on`` and not withdrawn by then, for every
    person among ``subjects`` (and, for "delen_met_organisatie", for the viewer's
    organisation). Subjects that are not persons (a family) need no consent of their own;
    a question without any person in it has no consent and is refused."""
    persons = [s for s in subjects if s.startswith("person:")]
    if not persons:
        return False
    return all(consents_on_record(person, step, viewer.org_id, on) for person in persons)


def decide(
    viewer: Actor,
    *,
    subjects: Iterable[str],
    category: str,
    purpose: str | None,
    object_type: str | None = None,
    object_id: object | None = None,
    owner_org_id: uuid.UUID | None = None,
    on: date | None = None,
    meta: dict | None = None,
) -> Decision:
    """Decide whether ``viewer`` may see ``category`` content about ``subjects`` (blinded
    ids, see :func:`privacy.audit.blind`) for ``purpose``, and audit the decision.

    ``purpose`` is None when neither the context nor the viewer gave one: only the owning
    organisation's own content can then be shown. ``owner_org_id`` is the organisation the
    content belongs to: its own people see it (still audited). ``on`` is the day whose
    covenant applies (today unless a test travels in time); ``meta`` adds ids to the audit entry (never content).
    """
    subjects = list(subjects)
    decision = evaluate(viewer, subjects, category, purpose, on or utcnow().date(), owner_org_id)
    record(
        "content.read",
        actor=viewer,
        outcome="allowed" if decision.allowed else "denied",
        subjects=subjects,
        object_type=object_type,
        object_id=object_id,
        categories=[category],
        purpose=purpose,
        covenant_version=decision.covenant_version,
        covenant_article=decision.article,
        legal_basis=decision.legal_basis,
        summary="content disclosed" if decision.allowed else "content refused",
        meta=(meta or {}) | {"reason": decision.reason}
        | ({"consent_step": decision.consent_step} if decision.consent_step else {}),
    )
    return decision


@dataclass(frozen=True)
class Ask:
    """One question of a list view: may the viewer see ``category`` content of
    ``owner_org_id`` about ``subjects`` for ``purpose``, for the object ``object_id``."""

    subjects: tuple[str, ...]
    category: str
    purpose: str | None
    owner_org_id: uuid.UUID | None
    object_id: object


def decide_many(viewer: Actor, asks: list[Ask], *, object_type: str, on: date | None = None,
                meta: dict | None = None) -> list[Decision]:
    """Decide every ask exactly as :func:`decide` would, and audit them as one entry per
    group of equal outcome (same category, purpose, owner, decision and basis).

    A list view — Mijn acties over 500 households — is one act of reading: one entry per
    outcome names every subject (so each household's audit trail and the subject access
    report still find it) and lists the objects, instead of 500 entries that each take the
    chain's lock."""
    day = on or utcnow().date()
    decisions = [evaluate(viewer, list(a.subjects), a.category, a.purpose, day, a.owner_org_id) for a in asks]
    groups: dict[tuple, list[Ask]] = {}
    for ask, decision in zip(asks, decisions, strict=True):
        groups.setdefault((ask.category, ask.purpose, ask.owner_org_id, decision), []).append(ask)
    for (category, purpose, owner, decision), items in groups.items():
        record(
            "content.read", actor=viewer, outcome="allowed" if decision.allowed else "denied",
            subjects=sorted({s for ask in items for s in ask.subjects}), object_type=object_type,
            object_id=items[0].object_id if len(items) == 1 else None, categories=[category], purpose=purpose,
            covenant_version=decision.covenant_version, covenant_article=decision.article,
            legal_basis=decision.legal_basis,
            summary="content disclosed" if decision.allowed else "content refused",
            meta=(meta or {}) | {"reason": decision.reason, "objects": [str(a.object_id) for a in items],
                                 "owner_org": str(owner) if owner else None}
            | ({"consent_step": decision.consent_step} if decision.consent_step else {}),
        )
    return decisions


def _refuse(reason: str, message: str, covenant: CompiledCovenant | None = None) -> Decision:
    return Decision(False, reason, message, covenant.version if covenant else None)


def evaluate(viewer: Actor, subjects: list[str], category: str, purpose: str | None, on: date,
             owner_org_id: uuid.UUID | None = None) -> Decision:
    """The decision alone, without its audit entry: only :func:`decide` (which always
    audits) may be used to disclose; this is public for the benchmark and for screens that
    must know beforehand whether asking makes sense."""
    if viewer.user_id is None or viewer.org_id is None:
        return _refuse("no_viewer", "Alleen een ingelogde professional kan inhoud inzien.")
    if viewer.role is None or viewer.role in NEVER_CONTENT_ROLES:
        return _refuse("role_never_content", "Deze rol geeft nooit toegang tot de inhoud van een casus.")
    if viewer.role not in viewer.roles:
        return _refuse("role_not_held", "U handelt in een rol die u niet heeft.")
    covenant = compiled_in_force(on)
    if owner_org_id is not None and owner_org_id == viewer.org_id:
        return Decision(True, "own_organisation", "Informatie van uw eigen organisatie.",
                        covenant.version if covenant else None)
    if purpose is None:
        return _refuse("no_purpose", "Kies eerst het doel waarvoor u deze informatie wilt inzien.", covenant)
    if covenant is None:
        return _refuse("no_covenant", "Er is geen convenant van kracht; er wordt geen inhoud gedeeld.")
    if purpose not in covenant.purposes:
        return _refuse("unknown_purpose", "Dit doel staat niet in het convenant.", covenant)
    if category not in covenant.categories:
        return _refuse("unknown_category", "Deze categorie gegevens staat niet in het convenant.", covenant)
    membership = covenant.party_on(viewer.org_id, on)
    if membership is None:
        return _refuse("not_a_party", "Uw organisatie is geen partij bij het convenant dat nu geldt.", covenant)
    rule = covenant.rule_for(*membership, purpose, category)
    if rule is None or not rule.allowed:
        return _refuse(
            "no_covenant_rule" if rule is None else "covenant_forbids",
            "Het convenant staat niet toe dat uw organisatie deze informatie voor dit doel ontvangt.", covenant,
        )
    if rule.consent_step and not consent_given(subjects, rule.consent_step, viewer, on):
        return Decision(False, "consent_missing", "Voor deze informatie is eerst instemming nodig.",
                        covenant.version, rule.article, rule.legal_basis, rule.consent_step)
    return Decision(True, "covenant_rule", "Toegestaan op grond van het convenant.",
                    covenant.version, rule.article, rule.legal_basis, rule.consent_step)
