"""State changes of ``privacy``: covenant versions (a change is always a new version) and
stepped consent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
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
    CovenantRetention,
    CovenantRule,
    CovenantVersion,
)
from privacy.queries import forget_gate_memo


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


@dataclass(frozen=True)
class RetentionSpec:
    """A retention period: ``kind`` of record, for a category or purpose ("*": all)."""

    kind: str
    months: int
    category: str = "*"
    purpose: str = "*"
    grounds: str = ""


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
    retention: list[RetentionSpec] = field(default_factory=list)


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
    check_retention(spec)


def create_covenant_version(spec: CovenantSpec, actor: Actor, meta: dict | None = None) -> CovenantVersion:
    """Write a complete new covenant version; the one in force is chosen by its dates.
    ``meta`` adds to the audit entry what the change was (ids and codes only)."""
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
        + [CovenantRetention(covenant_id=covenant.id, kind=r.kind, category_code=r.category,
                             purpose_code=r.purpose, months=r.months, grounds=r.grounds) for r in spec.retention]
    )
    db.session.flush()
    forget_gate_memo()
    record("covenant.version_created", actor=actor, summary="covenant version created",
           object_type="covenant_version", object_id=covenant.id, covenant_version=covenant.version,
           meta={"parties": len(spec.parties), "rules": len(spec.rules),
                 "valid_from": spec.valid_from.isoformat(),
                 "valid_until": spec.valid_until.isoformat() if spec.valid_until else None} | (meta or {}))
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
    forget_gate_memo()
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
    db.session.flush()
    forget_gate_memo()
    record("consent.withdrawn", actor=actor, summary="consent withdrawn", subjects=[consent.subject],
           object_type="consent", object_id=consent.id, meta={"step": consent.step})


# --- the privacy officer's editor: a new version is a copy of one version with a change ----
# The views never touch covenant rows: they describe the change, and these functions copy
# the base version into a CovenantSpec, apply it, check it and write it as a new version.

@dataclass(frozen=True)
class VersionHeader:
    """What the officer sets on every new version."""

    version: str
    title: str
    valid_from: date
    valid_until: date | None
    involvement_max_years: int | None = None
    involvement_age_limit: int | None = None


@dataclass(frozen=True)
class RuleCell:
    """The officer's choice for one receiver and category of one purpose.

    ``allowed`` None means "no rule of its own": an organisation then follows its type's rule.
    """

    allowed: bool | None
    article: str = ""
    legal_basis: str | None = None
    consent_step: str | None = None


def spec_from_version(covenant: CovenantVersion) -> CovenantSpec:
    """An exact copy of ``covenant`` (in the order it was written), to change and write anew."""
    of = covenant.id
    purposes = db.session.scalars(
        select(CovenantPurpose).where(CovenantPurpose.covenant_id == of).order_by(CovenantPurpose.id))
    categories = db.session.scalars(
        select(CovenantCategory).where(CovenantCategory.covenant_id == of).order_by(CovenantCategory.id))
    parties = db.session.scalars(
        select(CovenantParty).where(CovenantParty.covenant_id == of).order_by(CovenantParty.id))
    rules = db.session.scalars(
        select(CovenantRule).where(CovenantRule.covenant_id == of).order_by(CovenantRule.id))
    retention = db.session.scalars(
        select(CovenantRetention).where(CovenantRetention.covenant_id == of).order_by(CovenantRetention.id))
    return CovenantSpec(
        version=covenant.version, title=covenant.title, valid_from=covenant.valid_from,
        valid_until=covenant.valid_until,
        purposes={p.code: p.label for p in purposes},
        categories={c.code: (c.label, c.special, c.criminal) for c in categories},
        parties=[PartySpec(p.organisation_id, p.party_type, p.joined_on, p.left_on) for p in parties],
        rules=[RuleSpec(r.purpose_code, r.category_code, r.receiver, r.allowed, r.article, r.legal_basis,
                        r.consent_step) for r in rules],
        involvement_max_years=covenant.involvement_max_years,
        involvement_age_limit=covenant.involvement_age_limit,
        retention=[RetentionSpec(r.kind, r.months, r.category_code, r.purpose_code, r.grounds) for r in retention],
    )


def next_version_code(covenant: CovenantVersion) -> str:
    """A free code after ``covenant``'s: "2026-1" becomes "2026-2" (or the next one unused)."""
    stem, number = covenant.version, 1
    head = covenant.version.rstrip("0123456789")
    if head != covenant.version:
        stem, number = head, int(covenant.version[len(head):])
    else:
        stem += "-"
    taken = set(db.session.scalars(select(CovenantVersion.version)))
    while f"{stem}{number}" in taken or f"{stem}{number}" == covenant.version:
        number += 1
    return f"{stem}{number}"


def receivers(spec: CovenantSpec) -> set[str]:
    """Every receiver a rule of ``spec`` may name: each party, and each party type."""
    return {f"org:{p.organisation_id}" for p in spec.parties} | {f"type:{p.party_type}" for p in spec.parties}


def with_header(spec: CovenantSpec, header: VersionHeader) -> CovenantSpec:
    return replace(spec, version=header.version, title=header.title, valid_from=header.valid_from,
                   valid_until=header.valid_until, involvement_max_years=header.involvement_max_years,
                   involvement_age_limit=header.involvement_age_limit)


def with_purpose_rules(spec: CovenantSpec, purpose: str, cells: dict[tuple[str, str], RuleCell]) -> CovenantSpec:
    """Apply the officer's matrix for ``purpose`` (keyed by (receiver, category)).

    A cell the matrix does not name keeps its rule. "Not allowed" for a party type keeps an
    existing rule as a refusal (the version shows it was withdrawn) and otherwise writes
    nothing, since no rule already means no; for one organisation it is a refusal of its
    own that overrides its type's rule.
    """
    if purpose not in spec.purposes:
        raise CovenantError(f"Onbekend doel: {purpose}.")
    known = receivers(spec)
    for receiver, category in cells:
        if receiver not in known:
            raise CovenantError(f"Een regel noemt een ontvanger die geen partij is: {receiver}.")
        if category not in spec.categories:
            raise CovenantError(f"Onbekende categorie in een regel: {category}.")
    old = {(r.receiver, r.category): r for r in spec.rules if r.purpose == purpose}
    changed: dict[tuple[str, str], RuleSpec | None] = {}
    for (receiver, category), cell in cells.items():
        before, article = old.get((receiver, category)), cell.article.strip()
        if cell.allowed is None or (cell.allowed is False and receiver.startswith("type:") and before is None):
            changed[receiver, category] = None
            continue
        article = article or (before.article if before and not cell.allowed else "")
        if not article:
            raise CovenantError("Noem bij elke regel het artikel van het convenant.")
        if cell.allowed and cell.legal_basis not in LEGAL_BASES:
            raise CovenantError("Een regel die delen toestaat, noemt een geldige grondslag.")
        if cell.consent_step is not None and cell.consent_step not in CONSENT_STEPS:
            raise CovenantError(f"Onbekende instemmingsstap: {cell.consent_step}.")
        changed[receiver, category] = RuleSpec(
            purpose, category, receiver, cell.allowed, article,
            cell.legal_basis if cell.allowed else None, cell.consent_step if cell.allowed else None)
    rules: list[RuleSpec] = []
    for rule in spec.rules:  # keep the order of the rules that stay
        key = (rule.receiver, rule.category)
        if rule.purpose != purpose or key not in changed:
            rules.append(rule)
        elif changed[key] is not None:
            rules.append(changed.pop(key))  # type: ignore[arg-type]
    rules += [rule for key, rule in changed.items() if rule is not None and key not in old]
    return replace(spec, rules=rules)


def with_party_changes(spec: CovenantSpec, leaving: dict[uuid.UUID, date | None],
                       joining: PartySpec | None = None) -> CovenantSpec:
    """Set the leaving date of parties (None: still a party) and add one that joins."""
    by_org = {p.organisation_id: p for p in spec.parties}
    if set(leaving) - set(by_org):
        raise CovenantError("Een organisatie die geen partij is, kan niet vertrekken.")
    parties = []
    for party in spec.parties:
        left_on = leaving.get(party.organisation_id, party.left_on)
        if left_on is not None and left_on < party.joined_on:
            raise CovenantError(f"Een partij kan niet vertrekken vóór de dag waarop zij toetrad "
                                f"({party.joined_on:%d-%m-%Y}).")
        parties.append(replace(party, left_on=left_on))
    if joining is not None:
        if joining.organisation_id in by_org:
            raise CovenantError("Deze organisatie is al partij bij het convenant.")
        if joining.left_on is not None and joining.left_on < joining.joined_on:
            raise CovenantError("Een partij kan niet vertrekken vóór de dag waarop zij toetrad.")
        parties.append(joining)
    return replace(spec, parties=parties)


def _content(spec: CovenantSpec) -> tuple:
    """Everything that decides, apart from the version code and its first day."""
    return (spec.title, spec.valid_until, spec.involvement_max_years, spec.involvement_age_limit,
            spec.purposes, spec.categories, frozenset(spec.parties), frozenset(spec.rules),
            frozenset(spec.retention))


def create_changed_version(base: CovenantVersion, header: VersionHeader, actor: Actor, *, today: date,
                           purpose: str | None = None, cells: dict[tuple[str, str], RuleCell] | None = None,
                           leaving: dict[uuid.UUID, date | None] | None = None,
                           joining: PartySpec | None = None,
                           retention: list[RetentionSpec] | None = None) -> CovenantVersion:
    """Copy ``base``, apply the header and the change, and write it as a new version.

    ``base`` itself is never touched. A new version starts today or later (decisions already
    made stay traceable to the version they used) and must differ from ``base``.
    """
    if header.valid_from < today:
        raise CovenantError("Een nieuwe versie kan niet in het verleden ingaan; kies vandaag of later.")
    original = spec_from_version(base)
    spec = with_header(original, header)
    if purpose is not None:
        spec = with_purpose_rules(spec, purpose, cells or {})
    if leaving or joining:
        spec = with_party_changes(spec, leaving or {}, joining)
    if retention is not None:
        spec = replace(spec, retention=list(retention))
    if _content(spec) == _content(original):
        raise CovenantError(f"Er is niets gewijzigd ten opzichte van versie {base.version}; "
                            "er is geen nieuwe versie vastgesteld.")
    change = f"rules:{purpose}" if purpose is not None else "parties" if leaving or joining else \
        "retention" if retention is not None else "general"
    return create_covenant_version(spec, actor, meta={"based_on": base.version, "change": change})


# --- retention periods (issue 7 item 4) -------------------------------------------------------
# Which dimension a kind of record is told apart by: a note has a category, an agenda item the
# purpose of its section; the others have one period for all.
RETENTION_DIMENSION = {"notitie": "category", "agendapunt": "purpose", "betrokkenheid": None, "plan": None,
                       "persoon": None}


def check_retention(spec: CovenantSpec) -> None:
    """Every period names a known kind and a category or purpose of this covenant (or "*"),
    1 to 1200 months, once."""
    seen = set()
    for r in spec.retention:
        if r.kind not in RETENTION_DIMENSION:
            raise CovenantError(f"Onbekende soort gegevens in een bewaartermijn: {r.kind}.")
        if not isinstance(r.months, int) or not 1 <= r.months <= 1200:
            raise CovenantError("Een bewaartermijn is 1 tot en met 1200 maanden.")
        dimension = RETENTION_DIMENSION[r.kind]
        if r.category != "*" and (dimension != "category" or r.category not in spec.categories):
            raise CovenantError(f"Een bewaartermijn voor {r.kind} kan niet per categorie {r.category} gelden.")
        if r.purpose != "*" and (dimension != "purpose" or r.purpose not in spec.purposes):
            raise CovenantError(f"Een bewaartermijn voor {r.kind} kan niet per doel {r.purpose} gelden.")
        if (r.kind, r.category, r.purpose) in seen:
            raise CovenantError(f"Er staan twee bewaartermijnen voor hetzelfde ({r.kind}).")
        seen.add((r.kind, r.category, r.purpose))
