"""The register of processing activities (AVG art. 30), generated from the covenant in force.

Everything but the security measures is read from the covenant version: its parties are the
controllers, its purposes and categories are what is processed, and its rules say who may
receive which category for which purpose, on what basis. Nothing is typed in by hand, so
the register cannot drift from what the privacy gate actually decides by.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from sqlalchemy import select

from netwerk.db import db
from netwerk.models import ORG_TYPES, ROLES, Organisation
from privacy.forms import CONSENT_STEP_LABELS, LEGAL_BASIS_LABELS
from privacy.models import CovenantVersion
from privacy.operations import CovenantSpec, PartySpec, RuleSpec, spec_from_version
from privacy.queries import covenant_in_force
from privacy.retention import KIND_LABELS, TRIGGERS, Period, period_for, periods_of


@dataclass(frozen=True)
class Controller:
    name: str
    party_type: str  # the covenant's type label ("CJG", "Politie", ...)
    joined_on: date
    left_on: date | None


@dataclass(frozen=True)
class Recipient:
    receiver: str  # the rule's receiver: "type:<org type>" or "org:<uuid>"
    label: str
    members: tuple[str, ...]  # for a type: the parties of that type; for one organisation: ()
    excluded: tuple[str, ...]  # parties of the type with a refusal of their own
    legal_basis: str
    consent_step: str | None
    article: str


@dataclass(frozen=True)
class CategoryLine:
    code: str
    label: str
    kind: str
    recipients: tuple[Recipient, ...]


@dataclass(frozen=True)
class PurposeLine:
    code: str
    label: str
    categories: tuple[CategoryLine, ...]  # only those some party may receive for this purpose
    legal_bases: tuple[str, ...]


@dataclass(frozen=True)
class RetentionLine:
    kind: str  # what kind of record ("Notities", ...)
    scope: str  # "alle categorieën", a category's or a purpose's label
    term: str  # "24 maanden nadat ..."
    grounds: str


@dataclass(frozen=True)
class Register:
    covenant: CovenantVersion
    controllers: tuple[Controller, ...]
    purposes: tuple[PurposeLine, ...]
    categories: tuple[tuple[str, str, str], ...]  # (code, label, kind) of every category
    retention: str  # said where the covenant sets no period
    involvement_term: str
    retention_lines: tuple[RetentionLine, ...] = ()
    category_retention: tuple[tuple[str, str], ...] = ()  # (category code, its periods in words)
    purpose_retention: tuple[tuple[str, str], ...] = ()  # (purpose code, its agenda items' period)

    def retention_of_category(self, code: str) -> str:
        return dict(self.category_retention).get(code) or self.retention

    def retention_of_purpose(self, code: str) -> str:
        return dict(self.purpose_retention).get(code) or self.retention


def category_kind(special: bool, criminal: bool) -> str:
    if special:
        return "Bijzonder persoonsgegeven (AVG art. 9)"
    if criminal:
        return "Strafrechtelijk gegeven (AVG art. 10)"
    return "Gewoon persoonsgegeven"


def build_register(on: date) -> Register | None:
    """The register for the covenant in force on ``on``; None when no covenant is."""
    covenant = covenant_in_force(on)
    if covenant is None:
        return None
    spec = spec_from_version(covenant)
    names = _names({p.organisation_id for p in spec.parties})
    categories = tuple((code, label, category_kind(special, criminal))
                       for code, (label, special, criminal) in spec.categories.items())
    periods = periods_of(covenant.id)
    return Register(
        covenant=covenant,
        controllers=tuple(sorted((Controller(names.get(p.organisation_id, str(p.organisation_id)),
                                             ORG_TYPES.get(p.party_type, p.party_type), p.joined_on, p.left_on)
                                  for p in spec.parties), key=lambda c: c.name.lower())),
        purposes=tuple(_purpose(spec, code, label, categories, names, _current(spec.parties, on))
                       for code, label in spec.purposes.items()),
        categories=categories,
        # Where the covenant sets no period, say so rather than invent a term.
        retention=f"niet vastgelegd in convenant {covenant.version}",
        involvement_term=_involvement_term(covenant, current_app.config),
        retention_lines=_retention_lines(spec, periods),
        category_retention=tuple((code, text) for code, _, _ in categories
                                 if (text := _category_retention(periods, code))),
        purpose_retention=tuple((code, text) for code in spec.purposes
                                if (text := _term(period_for(periods, "agendapunt", purpose=code), "agendapunt"))),
    )


def _term(period: Period | None, kind: str) -> str:
    if period is None:
        return ""
    return f"{KIND_LABELS[kind].split(' (')[0]}: {period.months} maanden {TRIGGERS[kind]}"


def _retention_lines(spec: CovenantSpec, periods: list[Period]) -> tuple[RetentionLine, ...]:
    """Every period of the covenant, as the privacy officer set it, with its grounds."""
    lines = []
    for p in periods:
        if p.category != "*":
            scope = f"categorie {spec.categories.get(p.category, (p.category,))[0]}"
        elif p.purpose != "*":
            scope = f"doel {spec.purposes.get(p.purpose, p.purpose)}"
        else:
            scope = "alle"
        lines.append(RetentionLine(KIND_LABELS[p.kind], scope, f"{p.months} maanden {TRIGGERS[p.kind]}", p.grounds))
    return tuple(lines)


def _category_retention(periods: list[Period], code: str) -> str:
    """What the covenant keeps of one category: its notes, and for the involvement and plan
    categories the registrations and plans themselves."""
    parts = [_term(period_for(periods, "notitie", category=code), "notitie")]
    if code == "betrokkenheid":
        parts.append(_term(period_for(periods, "betrokkenheid"), "betrokkenheid"))
    if code == "plan":
        parts.append(_term(period_for(periods, "plan"), "plan"))
    return "; ".join(p for p in parts if p)


def _names(ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))).all())


def _current(parties: list[PartySpec], on: date) -> list[PartySpec]:
    """Parties that have not left by ``on``: one that left receives nothing any more."""
    return [p for p in parties if p.left_on is None or p.left_on > on]


def _purpose(spec: CovenantSpec, code: str, label: str, categories: tuple[tuple[str, str, str], ...],
             names: dict[uuid.UUID, str], parties: list[PartySpec]) -> PurposeLine:
    rules = [r for r in spec.rules if r.purpose == code]
    lines = []
    for category, category_label, kind in categories:
        recipients = _recipients([r for r in rules if r.category == category], parties, names)
        if recipients:
            lines.append(CategoryLine(category, category_label, kind, recipients))
    bases = sorted({LEGAL_BASIS_LABELS.get(r.legal_basis, r.legal_basis) for r in rules
                    if r.allowed and r.legal_basis})
    return PurposeLine(code, label, tuple(lines), tuple(bases))


def _recipients(rules: list[RuleSpec], parties: list[PartySpec], names: dict[uuid.UUID, str]) -> tuple[Recipient, ...]:
    """Who may receive one category for one purpose, exactly as the rules decide it: a rule
    for an organisation goes before its type's rule, so a type's permission lists the
    organisations that refuse it on their own as exceptions."""
    own = {r.receiver: r for r in rules if r.receiver.startswith("org:")}
    found = []
    for rule in rules:
        if not rule.allowed:
            continue
        if rule.receiver.startswith("type:"):
            of_type = [p for p in parties if f"type:{p.party_type}" == rule.receiver]
            # An organisation with a rule of its own follows that rule, not its type's.
            refusing = [p for p in of_type if (o := own.get(f"org:{p.organisation_id}")) and not o.allowed]
            members = [names.get(p.organisation_id, str(p.organisation_id)) for p in of_type
                       if f"org:{p.organisation_id}" not in own]
            excluded = [names.get(p.organisation_id, str(p.organisation_id)) for p in refusing]
            party_type = rule.receiver.removeprefix("type:")
            label = f"Alle partijen van het type {ORG_TYPES.get(party_type, party_type)}"
        else:
            org_id = uuid.UUID(rule.receiver.removeprefix("org:"))
            if all(p.organisation_id != org_id for p in parties):
                continue  # the organisation has left the covenant
            members, excluded, label = [], [], names.get(org_id, str(org_id))
        found.append(Recipient(rule.receiver, label, tuple(sorted(members, key=str.lower)),
                               tuple(sorted(excluded, key=str.lower)),
                               LEGAL_BASIS_LABELS.get(rule.legal_basis or "", rule.legal_basis or ""),
                               CONSENT_STEP_LABELS.get(rule.consent_step) if rule.consent_step else None,
                               rule.article))
    return tuple(sorted(found, key=lambda r: (not r.receiver.startswith("type:"), r.label.lower())))


def _involvement_term(covenant: CovenantVersion, config: Any) -> str:
    """How long an involvement registration lasts: the covenant's limits, else the
    installation's settings (the same fallback the registry itself uses)."""
    years = covenant.involvement_max_years or config["INVOLVEMENT_MAX_YEARS"]
    age = covenant.involvement_age_limit or config["INVOLVEMENT_AGE_LIMIT"]
    return (f"Een registratie van betrokkenheid loopt hoogstens {years} jaar en eindigt uiterlijk als de persoon "
            f"{age} jaar wordt. Dat is de looptijd van de registratie, geen bewaartermijn.")


def security_measures(config: Any) -> list[str]:
    """What Netwerk itself does, stated only as far as the code does it (see the modules
    named); measures of the hosting party are not Netwerk's to claim."""
    two_factor = ", ".join(ROLES.get(r, r) for r in config["TWO_FACTOR_ROLES"]) or "geen rollen"
    if config["DEMO_MODE"] and not config["DEMO_2FA"]:
        two_factor += " (demo-accounts in de demomodus uitgezonderd)"
    return [
        "Gevoelige velden (namen, geboortedatum, BSN, adres, notities, plannen en acties) worden versleuteld "
        "opgeslagen met AES-256-GCM. De datasleutels staan in de database, zelf versleuteld met een hoofdsleutel "
        "uit een sleutelbestand buiten de database; elke versleutelde waarde is gebonden aan haar tabel, kolom en "
        "rij. Datasleutels kunnen worden vervangen zonder onderbreking.",
        "Een BSN is alleen op exacte waarde te vinden, via een HMAC-index; de waarde zelf blijft versleuteld.",
        "Eén toegangspoort beslist over elke inzage in inhoud, per ontvanger, persoon, categorie en doel, volgens "
        "het convenant dat van kracht is; elke beslissing komt in het auditlog.",
        "Het auditlog is een hashketen: elke regel bevat de hash van de vorige. De database weigert wijzigen en "
        "verwijderen van regels. Checkpoints worden met Ed25519 ondertekend en ook buiten de database in een "
        "bestand bewaard. De hele keten wordt dagelijks gecontroleerd; bij een afwijking krijgen de privacy "
        "officers een melding.",
        f"Tweestapsverificatie (TOTP) is verplicht voor de rollen: {two_factor}.",
        f"Wachtwoorden worden opgeslagen als Argon2id-hash; na {config['LOGIN_MAX_FAILURES']} mislukte pogingen "
        f"wordt een account {config['LOGIN_LOCK_MINUTES']} minuten geblokkeerd.",
        f"Een sessie verloopt na {config['SESSION_IDLE_MINUTES']} minuten zonder activiteit en uiterlijk na "
        f"{config['SESSION_ABSOLUTE_HOURS']} uur; uitloggen en deactiveren beëindigen sessies direct.",
        "E-mails en meldingen bevatten alleen de naam van de ontvanger en een link, nooit inhoud of namen van "
        "personen over wie informatie wordt gedeeld.",
        "Versleutelde verbindingen (TLS) worden verwacht bij de reverse proxy vóór Netwerk; Netwerk zelf stelt in "
        "productie beveiligde cookies en HSTS in.",
    ]


CSV_HEADER = ("Convenant", "Doel", "Omschrijving doel", "Categorie", "Soort gegevens", "Ontvanger",
              "Partijen", "Uitgezonderd", "Grondslag", "Instemmingsstap", "Artikel", "Bewaartermijn")


def csv_rows(register: Register) -> Iterator[list[str]]:
    """One row per purpose, category and recipient; a purpose without any recipient and a
    category no purpose shares still get a row, so the file names all of them."""
    version = register.covenant.version
    shared = set()
    for purpose in register.purposes:
        if not purpose.categories:
            yield [version, purpose.code, purpose.label, "", "", "geen verstrekking toegestaan",
                   "", "", "", "", "", register.retention_of_purpose(purpose.code)]
        for line in purpose.categories:
            shared.add(line.code)
            for r in line.recipients:
                yield [version, purpose.code, purpose.label, line.label, line.kind, r.label, ", ".join(r.members),
                       ", ".join(r.excluded), r.legal_basis, r.consent_step or "", r.article,
                       register.retention_of_category(line.code)]
    for code, label, kind in register.categories:
        if code not in shared:
            yield [version, "", "", label, kind, "geen verstrekking toegestaan", "", "", "", "", "",
                   register.retention_of_category(code)]
