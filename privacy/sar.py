"""The subject access report (inzageoverzicht, AVG art. 15): every disclosure of a person's
or a household's data, read from the audit log.

A disclosure is an allowed ``content.read`` entry that names the person (or, for a
household, the household or any member) among its subjects, found through the
``audit_subject`` index. For each one the report gives the receiving organisation and
professional by name, the date, the purpose, the data categories and the legal basis
(covenant version and article). It lists metadata only: the privacy officer who makes it
sees the audit log, never case content, so the report cannot say *what* was read.

Naming a recipient can endanger someone: a Veilig Thuis employee who handled a report, a
police officer working with an informant. For recipients of the organisation types in
``SAR_WITHHOLD_NAMES_TYPES`` (default ``veilig_thuis,politie``) the professional's name
is withheld, and the report says so: which rows, which organisation, on which ground
(AVG art. 23 lid 1 with UAVG art. 41 lid 1). Nothing is left out silently: the row itself,
its organisation, date, purpose, category and basis stay.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from netwerk.db import db, utcnow
from netwerk.models import ORG_TYPES, Family, FamilyMember, Organisation, Person, User
from netwerk.pdf import Document, Letterhead, dutch_date
from netwerk.validators import day_field
from privacy.audit import Actor, blind, record
from privacy.forms import LEGAL_BASIS_LABELS
from privacy.models import AuditEntry, AuditSubject, CovenantCategory, CovenantPurpose

LOCAL = ZoneInfo("Europe/Amsterdam")  # the family reads local time, not UTC

# Why a name may be withheld, per organisation type; any other configured type gets the
# general ground (the protection of others).
GROUND_OTHERS = ("artikel 23, lid 1, onder i, AVG en artikel 41, lid 1, onder i, UAVG: "
                 "bescherming van de rechten en vrijheden van anderen")
GROUNDS = {
    "veilig_thuis": GROUND_OTHERS + " (de veiligheid van wie een melding deed en van de medewerker)",
    "politie": ("artikel 23, lid 1, onder d en i, AVG en artikel 41, lid 1, onder d en i, UAVG: "
                "het voorkomen en opsporen van strafbare feiten en de bescherming van anderen "
                "(de veiligheid van informanten en van de medewerker)"),
}
OWN_ORGANISATION = "Eigen organisatie: de organisatie die de gegevens zelf heeft vastgelegd"


class SarError(ValueError):
    """The report cannot be made as asked; ``message`` is Dutch and safe to show."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message, self.status = message, status


# --- what the report is about ----------------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    """A person or a household, as the privacy officer may know them: by pseudonym."""

    kind: str  # "person" or "family"
    id: uuid.UUID
    pseudonym: str
    blinded: tuple[str, ...]  # the audit subjects: a household and each of its members
    members: tuple[str, ...] = ()  # pseudonyms of the household's members
    families: tuple[tuple[uuid.UUID, str], ...] = ()  # a person's households

    @property
    def described(self) -> str:
        if self.kind != "family":
            return self.pseudonym
        # Household pseudonyms read "Gezin N.J. (2012)": no "het gezin Gezin ..."
        name = self.pseudonym
        return f"het {name[0].lower()}{name[1:]}" if name.lower().startswith("gezin ") else f"het gezin {name}"


def person_subject(person_id: uuid.UUID) -> Subject:
    person = db.session.get(Person, person_id)
    if person is None:
        raise SarError("Deze persoon bestaat niet in Netwerk. Zoek de persoon opnieuw op BSN, "
                       "of op naam en geboortedatum.", 404)
    households = db.session.execute(select(Family.id, Family.pseudonym).join(FamilyMember)
                                    .where(FamilyMember.person_id == person.id).order_by(Family.pseudonym)).all()
    return Subject("person", person.id, person.pseudonym, (blind("person", person.id),),
                   families=tuple((row[0], row[1]) for row in households))


def family_subject(family_id: uuid.UUID) -> Subject:
    family = db.session.get(Family, family_id)
    if family is None:
        raise SarError("Dit gezin bestaat niet in Netwerk. Zoek een gezinslid op en kies dan het gezin.", 404)
    members = db.session.execute(select(Person.id, Person.pseudonym).join(FamilyMember)
                                 .where(FamilyMember.family_id == family.id).order_by(Person.pseudonym)).all()
    blinded = (blind("family", family.id), *(blind("person", row[0]) for row in members))
    return Subject("family", family.id, family.pseudonym, blinded, members=tuple(row[1] for row in members))


def ever_audited(subject: Subject) -> bool:
    """Whether the audit log names the subject at all (one index probe)."""
    return db.session.scalar(select(AuditSubject.seq).where(AuditSubject.subject.in_(subject.blinded)).limit(1)) \
        is not None


# --- the period --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None  # inclusive

    def args(self) -> dict[str, str]:
        return {k: v.isoformat() for k, v in (("van", self.start), ("tot", self.end)) if v}

    @property
    def described(self) -> str:
        if self.start and self.end:
            return f"van {dutch_date(self.start)} tot en met {dutch_date(self.end)}"
        if self.start:
            return f"vanaf {dutch_date(self.start)}"
        if self.end:
            return f"tot en met {dutch_date(self.end)}"
        return "de hele tijd dat Netwerk gegevens bijhoudt"


def parse_period(start: str | None, end: str | None) -> Period:
    """The period from the form; raise :class:`SarError` with every problem at once."""
    errors: list[str] = []
    period = Period(day_field(start, "van", errors), day_field(end, "tot en met", errors))
    if period.start and period.end and period.end < period.start:
        errors.append("De periode klopt niet: de einddatum ligt vóór de begindatum.")
    if errors:
        raise SarError(" ".join(errors))
    return period


# --- the disclosures -----------------------------------------------------------------------------

DISCLOSURE_COLUMNS = (AuditEntry.seq, AuditEntry.occurred_at, AuditEntry.actor_user_id, AuditEntry.actor_org_id,
                      AuditEntry.on_behalf_of_user_id, AuditEntry.data_categories, AuditEntry.purpose,
                      AuditEntry.covenant_version, AuditEntry.covenant_article, AuditEntry.legal_basis,
                      AuditEntry.meta)


def disclosure_rows(subjects: Sequence[str], period: Period, limit: int) -> list:
    """The allowed content reads naming any of ``subjects`` in ``period``, oldest first, at
    most ``limit``; one statement. The index gives the subject's seqs; each is checked
    against its entry by primary key."""
    about = select(AuditSubject.seq).where(AuditSubject.subject.in_(list(subjects)))
    conditions = [AuditEntry.seq.in_(about), AuditEntry.action == "content.read", AuditEntry.outcome == "allowed"]
    # Days as the family reads them: Dutch local days, like the dates in the report.
    if period.start:
        conditions.append(AuditEntry.occurred_at >= _utc(datetime.combine(period.start, time.min, tzinfo=LOCAL)))
    if period.end:
        conditions.append(AuditEntry.occurred_at < _utc(datetime.combine(period.end + timedelta(days=1), time.min,
                                                                         tzinfo=LOCAL)))
    stmt = select(*DISCLOSURE_COLUMNS).where(*conditions).order_by(AuditEntry.seq).limit(limit)
    return list(db.session.execute(stmt))


@dataclass(frozen=True)
class Disclosure:
    number: int  # the row number in the report
    seq: int  # the audit entry
    when: datetime  # local time
    organisation: str
    recipient: str | None  # None: withheld
    on_behalf_of: str | None
    purpose: str
    categories: str
    basis: str
    withheld: bool = False

    @property
    def day(self) -> str:
        return self.when.strftime("%d-%m-%Y")

    @property
    def recipient_text(self) -> str:
        if self.withheld:
            return "naam niet vermeld (zie Beperkingen)"
        text = self.recipient or "onbekend"
        return f"{text} (namens {self.on_behalf_of})" if self.on_behalf_of else text


@dataclass(frozen=True)
class OrganisationSummary:
    organisation: str
    count: int
    first: datetime
    last: datetime
    purposes: str
    categories: str


@dataclass(frozen=True)
class Restriction:
    organisation: str
    org_type: str
    ground: str
    rows: tuple[int, ...]

    @property
    def rows_text(self) -> str:
        return _numbers(self.rows)


@dataclass(frozen=True)
class Report:
    subject: Subject
    period: Period
    made_at: datetime
    made_by: str
    disclosures: list[Disclosure]
    summaries: list[OrganisationSummary] = field(default_factory=list)
    restrictions: list[Restriction] = field(default_factory=list)

    @property
    def withheld_rows(self) -> int:
        return sum(len(r.rows) for r in self.restrictions)


def _numbers(rows: Sequence[int]) -> str:
    """"1-3, 7, 9-10": consecutive row numbers as ranges."""
    parts: list[str] = []
    start = prev = None
    for n in [*rows, None]:
        if n is not None and prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    return ", ".join(parts)


def _labels(model: type[CovenantCategory] | type[CovenantPurpose]) -> dict[str, str]:
    # Every code any covenant version had (old entries use old codes); the newest label wins.
    return {code: label for code, label in db.session.execute(
        select(model.code, model.label).order_by(model.covenant_id)).all()}


def withhold_types() -> tuple[str, ...]:
    return tuple(current_app.config["SAR_WITHHOLD_NAMES_TYPES"])


def _basis(legal_basis: str | None, version: str | None, article: str | None, reason: object) -> str:
    if legal_basis:
        label = LEGAL_BASIS_LABELS.get(legal_basis, legal_basis)
        where = ", ".join(p for p in (f"convenant {version}" if version else "", article or "") if p)
        return f"{label}\n({where})" if where else label  # two short lines in the PDF's column
    return OWN_ORGANISATION if reason == "own_organisation" else "onbekend"


def build_report(subject: Subject, period: Period, officer: str, now: datetime | None = None,
                 cap: int | None = None) -> Report:
    """The report: three statements after the subject (disclosures, users, organisations),
    however many rows. Raise :class:`SarError` when there are more rows than ``cap``."""
    cap = cap if cap is not None else current_app.config["SAR_MAX_ROWS"]
    rows = disclosure_rows(subject.blinded, period, cap + 1)
    if len(rows) > cap:
        raise SarError(f"Er zijn meer dan {cap:,} verstrekkingen in deze periode. Zo'n overzicht is niet meer "
                       "leesbaar: kies een kortere periode en maak het overzicht in delen.".replace(",", "."))
    user_ids = {r.actor_user_id for r in rows} | {r.on_behalf_of_user_id for r in rows}
    user_ids.discard(None)
    users = {row[0]: (row[1], row[2]) for row in db.session.execute(
        select(User.id, User.name, User.organisation_id).where(User.id.in_(user_ids)))} if user_ids else {}
    org_ids = {r.actor_org_id for r in rows} | {org for _name, org in users.values()}
    org_ids.discard(None)
    orgs = {row[0]: (row[1], row[2]) for row in db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.org_type).where(Organisation.id.in_(org_ids)))} \
        if org_ids else {}
    purposes, categories = _labels(CovenantPurpose), _labels(CovenantCategory)
    shield = set(withhold_types())

    def shielded(org_id: uuid.UUID | None) -> bool:
        return org_id is not None and orgs.get(org_id, ("", ""))[1] in shield

    disclosures = []
    for number, row in enumerate(rows, start=1):
        recipient = users.get(row.actor_user_id)
        behalf = users.get(row.on_behalf_of_user_id)
        withheld = shielded(row.actor_org_id) or (behalf is not None and shielded(behalf[1]))
        org_name = orgs.get(row.actor_org_id, ("onbekende organisatie", ""))[0] if row.actor_org_id else \
            "geen organisatie"
        disclosures.append(Disclosure(
            number=number, seq=row.seq, when=_aware(row.occurred_at).astimezone(LOCAL), organisation=org_name,
            recipient=None if withheld else (recipient[0] if recipient else None),
            on_behalf_of=None if withheld or behalf is None else behalf[0],
            purpose=purposes.get(row.purpose, row.purpose) if row.purpose else "geen doel vastgelegd",
            categories=", ".join(categories.get(c, c) for c in row.data_categories or ()) or "onbekend",
            basis=_basis(row.legal_basis, row.covenant_version, row.covenant_article, (row.meta or {}).get("reason")),
            withheld=withheld))
    return Report(subject, period, now or utcnow(), officer, disclosures, _summaries(disclosures),
                  _restrictions(disclosures, rows, orgs))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _summaries(disclosures: list[Disclosure]) -> list[OrganisationSummary]:
    groups: dict[str, list[Disclosure]] = {}
    for d in disclosures:
        groups.setdefault(d.organisation, []).append(d)

    def joined(values: list[str]) -> str:
        return ", ".join(sorted(set(", ".join(values).split(", "))))

    return [OrganisationSummary(org, len(items), items[0].when, items[-1].when, joined([d.purpose for d in items]),
                                joined([d.categories for d in items]))
            for org, items in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def _restrictions(disclosures: list[Disclosure], rows: list, orgs: dict) -> list[Restriction]:
    groups: dict[tuple[str, str], list[int]] = {}
    for d, row in zip(disclosures, rows, strict=True):
        if d.withheld:
            org_type = orgs.get(row.actor_org_id, ("", ""))[1]
            groups.setdefault((d.organisation, org_type), []).append(d.number)
    return [Restriction(org, ORG_TYPES.get(org_type, org_type), GROUNDS.get(org_type, GROUND_OTHERS), tuple(numbers))
            for (org, org_type), numbers in sorted(groups.items(), key=lambda kv: kv[1][0])]


def log_report(actor: Actor, report: Report, kind: str) -> None:
    """The report is itself on record: about its subjects, with the period and counts,
    nothing the rows said."""
    record("audit.subject_access_report", actor=actor, summary="subject access report made",
           subjects=report.subject.blinded, object_type=report.subject.kind,
           meta={"format": kind, "rows": len(report.disclosures), "withheld_rows": report.withheld_rows,
                 "period": report.period.args()})


# --- plain Dutch (B1) text, shared by the HTML preview and the PDF --------------------------------

def introduction(report: Report) -> list[str]:
    who = "uw gezin" if report.subject.kind == "family" else "u"
    return [
        f"U heeft gevraagd welke gegevens over {who} zijn gedeeld. Dat mag u altijd vragen. "
        "Dat staat in de wet: de Algemene verordening gegevensbescherming (AVG), artikel 15.",
        f"In dit overzicht ziet u welke organisaties gegevens over {who} hebben bekeken. U ziet ook wie dat "
        "deed, wanneer, waarvoor en waarom dat mocht.",
        "U ziet niet wát er over u is vastgelegd. Dat weet de organisatie die de gegevens heeft vastgelegd. "
        "Wilt u dat weten? Vraag het dan aan die organisatie.",
        "Klopt er iets niet? Of wilt u dat gegevens worden verbeterd of verwijderd? Neem dan contact op met "
        "de privacy officer. U kunt ook een klacht indienen bij de Autoriteit Persoonsgegevens.",
    ]


WORDS = [
    ("Doel", "waarvoor de organisatie de gegevens nodig had."),
    ("Soort gegevens", "over welk onderwerp de gegevens gingen, bijvoorbeeld school of gezondheid."),
    ("Grondslag", "waarom het mocht volgens de wet."),
    ("Convenant", "de afspraken tussen de organisaties over het delen van gegevens. Het artikel zegt welke "
                  "afspraak het was."),
]


def summary_sentence(report: Report) -> str:
    n, orgs = len(report.disclosures), len(report.summaries)
    if not n:
        return (f"In deze periode heeft geen enkele organisatie gegevens over {report.subject.described} "
                "bekeken. Er is dus niets gedeeld.")
    times = "1 keer" if n == 1 else f"{n} keer"
    by = "1 organisatie" if orgs == 1 else f"{orgs} organisaties"
    return f"Gegevens over {report.subject.described} zijn {times} bekeken, door {by}."


def restriction_text(r: Restriction) -> str:
    rows = f"regel {r.rows_text}" if len(r.rows) == 1 else f"de regels {r.rows_text}"
    return (f"Bij {rows} noemen we de naam van de medewerker niet. Die medewerker werkt bij {r.organisation} "
            f"({r.org_type}). Als we de naam noemen, kan dat iemand in gevaar brengen. De wet staat toe dat we "
            f"de naam dan weglaten. Grond: {r.ground}. De organisatie, de datum, het doel en de soort gegevens "
            "ziet u wel.")


# --- PDF ----------------------------------------------------------------------------------------

TABLE_HEADINGS = ("Nr.", "Datum", "Organisatie", "Medewerker", "Doel", "Soort gegevens", "Grondslag")
TABLE_WIDTHS = (8, 18, 30, 27, 21, 24, 42)  # 170 mm: A4 within the margins


def table_rows(report: Report) -> list[tuple[object, ...]]:
    return [(d.number, d.day, d.organisation, d.recipient_text, d.purpose, d.categories, d.basis)
            for d in report.disclosures]


def render_pdf(report: Report) -> bytes:
    doc = Document("Overzicht: wie heeft uw gegevens bekeken?", Letterhead.from_config())
    doc.title_block(f"Over: {report.subject.described}. Periode: {report.period.described}. "
                    f"Gemaakt op {dutch_date(report.made_at.astimezone(LOCAL))}.")
    if report.subject.members:
        doc.paragraph("Gezinsleden: " + ", ".join(report.subject.members) + ".")
    for text in introduction(report):
        doc.paragraph(text)
    doc.heading("Woorden in dit overzicht")
    doc.facts(WORDS, label_width=35)
    doc.heading("Samenvatting")
    doc.paragraph(summary_sentence(report))
    if report.summaries:
        doc.grid(("Organisatie", "Aantal keer", "Eerste keer", "Laatste keer", "Doel", "Soort gegevens"),
                 [(s.organisation, s.count, s.first.strftime("%d-%m-%Y"), s.last.strftime("%d-%m-%Y"), s.purposes,
                   s.categories) for s in report.summaries], (36, 17, 20, 20, 33, 44), size=8.5)
    if report.restrictions:
        doc.heading("Beperkingen: namen die we niet noemen")
        for r in report.restrictions:
            doc.paragraph(restriction_text(r))
    if report.disclosures:
        doc.heading("Alle keren dat gegevens zijn bekeken")
        doc.paragraph("De tijden zijn Nederlandse tijd. Nr. is het nummer van de regel in dit overzicht.")
        doc.grid(TABLE_HEADINGS, table_rows(report), TABLE_WIDTHS, size=7, line_height=3.2)
    doc.heading("Vragen?")
    doc.paragraph(f"Dit overzicht is gemaakt door {report.made_by}, privacy officer. Heeft u vragen? "
                  "Neem dan contact met ons op. Het adres staat bovenaan deze brief.")
    return doc.render()
