"""The privacy officer's audit explorer: who did what, about whom, on which basis.

Filters by person or family (through the ``audit_subject`` index), organisation, user,
data category, purpose, legal basis, outcome and period; pages newest first by keyset on
``seq`` (never OFFSET, so a page stays the same while new entries arrive); exports CSV
(streamed in keyset batches) and PDF (built in memory), each refused past its row cap
(``AUDIT_CSV_MAX_ROWS``, ``AUDIT_PDF_MAX_ROWS``) before anything is read: an unfiltered
export of a log with millions of entries gets a Dutch request to narrow the filter.

The explorer reads the audit log only: it shows codes, professionals' names and the
pseudonym of the person looked up, never case content. Every use is itself audited
("audit.subject_lookup", "audit.explored", "audit.exported") with ids and codes only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, literal, select, type_coerce, union
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.wrappers import Response

from netwerk.auth import current_actor
from netwerk.db import db
from netwerk.models import Family, FamilyMember, Organisation, Person, User
from netwerk.operations.families import PersonData, person_by_bsn, same_name_and_birth
from netwerk.pdf import LandscapeDocument, Letterhead
from netwerk.queries import organisations
from netwerk.validators import bsn_valid, day_field, normalise_bsn, parse_day
from netwerk.web import permission_required
from privacy.audit import Actor, blind, record
from privacy.csvsafe import csv_response
from privacy.forms import LEGAL_BASIS_LABELS
from privacy.models import LEGAL_BASES, AuditEntry, AuditSubject, CovenantCategory, CovenantPurpose

# Prefix /privacy, not /privacy/audit: Flask would put the export at /privacy/audit/.csv.
bp = Blueprint("audit_explorer", __name__, url_prefix="/privacy")

ROLE = "privacy"
PAGE_SIZE = 50
# An export beyond its cap (config AUDIT_CSV_MAX_ROWS, AUDIT_PDF_MAX_ROWS) is refused before
# the download starts: a bigger export is almost always an unfiltered one, and it would hold
# a worker for minutes (a PDF is built in memory, so its cap is lower).
CSV_BATCH = 1000

# The outcome filter groups the stored outcomes as a privacy officer asks about them.
OUTCOME_FILTERS: dict[str, tuple[str, ...]] = {
    "toegestaan": ("allowed", "success"), "geweigerd": ("denied",), "mislukt": ("failure",),
    "noodtoegang": ("emergency",),
}
OUTCOME_LABELS = {"allowed": "toegestaan", "success": "gelukt", "denied": "geweigerd", "failure": "mislukt",
                  "emergency": "noodtoegang"}
ACTION_LABELS = {
    "account.password_change": "wachtwoord gewijzigd", "action.accepted": "actie geaccepteerd",
    "action.added": "actie toegevoegd", "action.edited": "actie bewerkt", "action.lapsed": "actie vervallen",
    "action.updated": "actie bijgewerkt", "audit.explored": "auditlog doorzocht",
    "audit.exported": "auditlog geëxporteerd", "audit.subject_lookup": "persoon opgezocht in het auditlog",
    "audit.subject_access_report": "inzageoverzicht gemaakt",
    "auth.login": "inloggen", "auth.logout": "uitloggen", "auth.second_factor": "tweede factor",
    "auth.token_issued": "API-sleutel uitgegeven", "auth.token_revoked": "API-sleutel ingetrokken",
    "auth.token_used": "API-sleutel gebruikt", "consent.recorded": "instemming vastgelegd",
    "consent.withdrawn": "instemming ingetrokken", "content.emergency_access": "noodtoegang gevraagd",
    "content.read": "inhoud ingezien", "covenant.version_created": "convenantversie vastgesteld",
    "family.composed": "gezin samengesteld", "family.member_added": "gezinslid toegevoegd",
    "involvement.ended": "betrokkenheid beëindigd", "involvement.expired": "betrokkenheid verlopen",
    "involvement.matched": "match gevonden", "involvement.registered": "betrokkenheid gemeld",
    "match.acknowledged": "match gezien", "note.added": "notitie toegevoegd",
    "organisation.activated": "organisatie geactiveerd", "organisation.created": "organisatie aangemaakt",
    "organisation.updated": "organisatie gewijzigd", "person.identity_conflict": "BSN met afwijkende gegevens",
    "person.lookup_throttled": "te veel zoekacties", "person.registered": "persoon geregistreerd",
    "plan.adopted": "plan vastgesteld", "plan.closed": "plan afgesloten", "plan.concern_added": "zorg toegevoegd",
    "plan.coordinator_changed": "zorgcoördinator gewijzigd", "plan.evaluated": "plan geëvalueerd",
    "plan.goal_achieved": "doel behaald", "plan.goal_added": "doel toegevoegd", "plan.goal_dropped": "doel vervallen",
    "plan.goal_updated": "doel gewijzigd", "plan.network_added": "netwerklid toegevoegd",
    "plan.started": "plan gestart", "plan.updated": "plan gewijzigd", "user.activated": "account geactiveerd",
    "user.created": "account aangemaakt", "user.password_reset": "wachtwoord opnieuw ingesteld",
    "user.roles_changed": "rollen gewijzigd", "user.updated": "account gewijzigd",
    # meetings
    "meetings.overleg_created": "overleg aangemaakt", "meetings.section_added": "onderdeel toegevoegd",
    "meetings.year_planned": "jaarplanning gemaakt", "meetings.calendar_feed_issued": "agendakoppeling uitgegeven",
    "meetings.guest_added": "gast toegevoegd", "meetings.attendance": "aanwezigheid vastgelegd",
    "meetings.agenda_item_added": "gezin op de agenda gezet", "meetings.agenda_reordered": "agenda herschikt",
    "meetings.prepared": "overleg voorbereid", "meetings.letter_opened": "brief aan het gezin geopend",
    "meetings.letter_sent": "brief verstuurd", "meetings.inform_deferred": "informeren uitgesteld",
    "meetings.inform_anonymous": "anoniem besproken", "meetings.live": "overleg live gezet",
    "meetings.item_discussed": "punt besproken", "meetings.decision": "besluit vastgelegd",
    "meetings.action": "actie in het overleg vastgelegd", "meetings.blanked": "scherm op zwart",
    "meetings.unblanked": "scherm weer aan", "meetings.projector_link": "projectielink uitgegeven",
    "meetings.projector_revoked": "projectielink ingetrokken", "meetings.closed": "overleg gesloten",
    "meetings.besluitenlijst_opened": "besluitenlijst geopend",
    # escalation
    "escalation.proposed": "escalatie voorgesteld", "escalation.raised": "opgeschaald",
    "escalation.acknowledged": "escalatie ontvangen", "escalation.decided": "besluit over escalatie",
    "escalation.resolved": "escalatie opgelost", "escalation.deescalated": "afgeschaald",
    "escalation.dismissed": "voorstel afgewezen", "escalation.level_up": "niveau omhoog (termijn verstreken)",
    "escalation.top_overdue": "hoogste niveau, termijn verstreken", "escalation.scanned": "signaleringsregels getoetst",
    "escalation.ladder_seeded": "opschalingsladder klaargezet", "escalation.ladder_changed": "ladder aangepast",
    "escalation.rule_changed": "signaleringsregel aangepast",
    # the privacy officer's work
    "audit.verified": "auditlog gecontroleerd", "review.viewed": "signaal bekeken",
    "review.decided": "signaal beoordeeld", "review.revised": "beoordeling herzien",
    "retention.proposed": "proefrun bewaartermijnen", "retention.executed": "verlopen gegevens verwijderd",
    "retention.erased": "gegevens gewist op verzoek", "rights.request_registered": "verzoek geregistreerd",
    "rights.request_decided": "besluit op verzoek", "rights.rectification_routed": "correctie uitgezet",
    "rights.rectification_done": "correctie uitgevoerd", "rights.rectification_task_viewed": "correctietaak ingezien",
    "rights.request_person_not_found": "verzoek: persoon niet gevonden",
}


class FilterError(ValueError):
    """The filter cannot be applied; ``messages`` are Dutch and safe to show."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


# --- the filter ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    """A checked filter. ``subjects`` are the blinded ids the person or family resolves
    to; ``about`` is what the page may say about them (a pseudonym, nothing more)."""

    person_id: uuid.UUID | None = None
    family_id: uuid.UUID | None = None
    org_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    category: str | None = None
    purpose: str | None = None
    legal_basis: str | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    before: int | None = None
    subjects: tuple[str, ...] = ()
    about: str | None = None
    families: tuple[tuple[uuid.UUID, str], ...] = field(default=())  # the person's households

    def args(self, **changes: object) -> dict[str, str]:
        """The query string that reproduces this filter (for paging and the CSV link)."""
        values = {"persoon": self.person_id, "gezin": self.family_id, "organisatie": self.org_id,
                  "gebruiker": self.user_id, "categorie": self.category, "doel": self.purpose,
                  "grondslag": self.legal_basis, "uitkomst": self.outcome, "van": self.date_from,
                  "tot": self.date_to, "voor": self.before} | changes
        return {k: v.isoformat() if isinstance(v, date) else str(v) for k, v in values.items() if v is not None}

    def meta(self) -> dict[str, str]:
        """The filter as the audit entry keeps it: ids and codes, the person and family
        blinded like every subject in the log."""
        args = self.args()
        if self.person_id:
            args["persoon"] = blind("person", self.person_id)
        if self.family_id:
            args["gezin"] = blind("family", self.family_id)
        return args


def _uuid(args: Mapping[str, str], name: str, what: str, errors: list[str]) -> uuid.UUID | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        errors.append(f"De gekozen {what} bestaat niet.")
        return None


def _day(args: Mapping[str, str], name: str, what: str, errors: list[str]) -> date | None:
    return day_field(args.get(name), what, errors)


def _code(args: Mapping[str, str], name: str, allowed: Mapping[str, Any] | tuple[str, ...], message: str,
          errors: list[str]) -> str | None:
    raw = (args.get(name) or "").strip()
    if raw and raw not in allowed:
        errors.append(message)
        return None
    return raw or None


def _before(args: Mapping[str, str], errors: list[str]) -> int | None:
    raw = (args.get("voor") or "").strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        errors.append("Deze pagina bestaat niet; begin opnieuw bij de nieuwste regels.")
        return None
    return int(raw)


def parse_filter(args: Mapping[str, str], choices: Choices) -> AuditFilter:
    """Check every filter value; raise :class:`FilterError` with every problem at once."""
    errors: list[str] = []
    f = AuditFilter(
        person_id=_uuid(args, "persoon", "persoon", errors), family_id=_uuid(args, "gezin", "gezin", errors),
        org_id=_uuid(args, "organisatie", "organisatie", errors), user_id=_uuid(args, "gebruiker", "gebruiker", errors),
        category=_code(args, "categorie", choices.categories, "Deze categorie gegevens bestaat niet.", errors),
        purpose=_code(args, "doel", choices.purposes, "Dit doel bestaat niet.", errors),
        legal_basis=_code(args, "grondslag", LEGAL_BASES, "Deze grondslag bestaat niet.", errors),
        outcome=_code(args, "uitkomst", OUTCOME_FILTERS, "Deze uitkomst bestaat niet.", errors),
        date_from=_day(args, "van", "van", errors), date_to=_day(args, "tot", "tot en met", errors),
        before=_before(args, errors),
    )
    if f.date_from and f.date_to and f.date_to < f.date_from:
        errors.append("De periode klopt niet: de einddatum ligt vóór de begindatum.")
    if f.person_id and f.family_id:
        errors.append("Kies een persoon of een gezin, niet allebei.")
    if f.org_id and f.org_id not in choices.organisations:
        errors.append("De gekozen organisatie bestaat niet.")
    if f.user_id and f.user_id not in choices.users:
        errors.append("De gekozen gebruiker bestaat niet.")
    if errors:
        raise FilterError(errors)
    return _with_subjects(f)


def _with_subjects(f: AuditFilter) -> AuditFilter:
    if f.person_id:
        person = db.session.get(Person, f.person_id)
        if person is None:
            raise FilterError(["De gekozen persoon bestaat niet."])
        households = db.session.execute(select(Family.id, Family.pseudonym).join(FamilyMember)
                                        .where(FamilyMember.person_id == person.id)).all()
        return replace(f, subjects=(blind("person", person.id),), about=person.pseudonym,
                       families=tuple((row[0], row[1]) for row in households))
    if f.family_id:
        family = db.session.get(Family, f.family_id)
        if family is None:
            raise FilterError(["Het gekozen gezin bestaat niet."])
        members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == family.id))
        subjects = (blind("family", family.id), *(blind("person", m) for m in members))
        return replace(f, subjects=subjects, about=family.pseudonym)
    return f


# --- what the filter form offers ----------------------------------------------------------

@dataclass(frozen=True)
class Choices:
    organisations: dict[uuid.UUID, str]
    users: dict[uuid.UUID, str]  # "name (organisation)"
    categories: dict[str, str]
    purposes: dict[str, str]
    legal_bases: dict[str, str]


def _codes(model: type[CovenantCategory] | type[CovenantPurpose]) -> dict[str, str]:
    # Every code any covenant version ever had: old entries use old codes. The newest
    # version's label wins (rows come oldest first).
    rows = db.session.execute(select(model.code, model.label).order_by(model.covenant_id)).all()
    return dict(sorted({code: label for code, label in rows}.items(), key=lambda kv: kv[1].lower()))


def filter_choices() -> Choices:
    users = db.session.execute(select(User.id, User.name, Organisation.name).join(
        Organisation, Organisation.id == User.organisation_id).order_by(User.name)).all()
    return Choices(
        organisations={o.id: o.name for o in organisations()},
        users={row[0]: f"{row[1]} ({row[2]})" for row in users},
        categories=_codes(CovenantCategory), purposes=_codes(CovenantPurpose),
        legal_bases={b: LEGAL_BASIS_LABELS.get(b, b) for b in LEGAL_BASES},
    )


# --- the query -------------------------------------------------------------------------------

def _has_category(code: str) -> ColumnElement[bool]:
    if db.session.get_bind().dialect.name == "postgresql":
        return type_coerce(AuditEntry.data_categories, JSONB).contains([code])
    values = db.func.json_each(AuditEntry.data_categories).table_valued("value")
    return select(values.c.value).where(values.c.value == code).exists()


def _conditions(f: AuditFilter) -> list[ColumnElement[bool]]:
    e = AuditEntry
    conditions: list[ColumnElement[bool]] = []
    if f.org_id:
        conditions.append(e.actor_org_id == f.org_id)
    if f.user_id:
        conditions.append(e.actor_user_id == f.user_id)
    if f.category:
        conditions.append(_has_category(f.category))
    if f.purpose:
        conditions.append(e.purpose == f.purpose)
    if f.legal_basis:
        conditions.append(e.legal_basis == f.legal_basis)
    if f.outcome:
        conditions.append(e.outcome.in_(OUTCOME_FILTERS[f.outcome]))
    if f.date_from:
        conditions.append(e.occurred_at >= datetime.combine(f.date_from, time.min, tzinfo=UTC))
    if f.date_to:
        conditions.append(e.occurred_at < datetime.combine(f.date_to + timedelta(days=1), time.min, tzinfo=UTC))
    return conditions


def _entry_matches(f: AuditFilter) -> list[ColumnElement[bool]]:
    """The entry conditions for an index row, as one correlated primary-key probe.

    A scalar subquery, not a join: PostgreSQL then checks each index row it reads and
    stops at ``limit`` matches. As a join it may pick a merge join that walks
    ``audit_entry`` backwards from the newest entry — millions of rows for a quiet family.
    """
    conditions = _conditions(f)
    if not conditions:
        return []
    probe = select(literal(1)).where(AuditEntry.seq == AuditSubject.seq, *conditions).limit(1)
    return [probe.scalar_subquery().is_not(None)]


def _subject_seqs(f: AuditFilter, limit: int) -> Select:
    """The newest ``limit`` matching seqs about any of ``f.subjects``.

    One backward range scan of the (subject, seq) key per subject, each stopping after
    ``limit`` matches, then merged: a family with tens of thousands of entries costs no
    more than one with fifty. (``subject IN (...)`` would collect every entry of the
    family before sorting.)
    """
    bound = [AuditSubject.seq < f.before] if f.before is not None else []
    parts = []
    for subject in f.subjects:
        inner = (select(AuditSubject.seq.label("seq"))
                 .where(AuditSubject.subject == subject, *bound, *_entry_matches(f))
                 .order_by(AuditSubject.seq.desc()).limit(limit).subquery())
        parts.append(select(inner.c.seq))
    merged = union(*parts).subquery()
    return select(merged.c.seq).order_by(merged.c.seq.desc()).limit(limit)


def matching_entries(f: AuditFilter, limit: int) -> list[AuditEntry]:
    """The newest ``limit`` entries matching ``f`` with ``seq < f.before``, newest first;
    one statement."""
    stmt = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if f.subjects:
        return list(db.session.scalars(stmt.where(AuditEntry.seq.in_(_subject_seqs(f, limit)))))
    bound = [AuditEntry.seq < f.before] if f.before is not None else []
    return list(db.session.scalars(stmt.where(*bound, *_conditions(f)).limit(limit)))


def count_capped(f: AuditFilter, cap: int) -> int:
    """How many entries match, counted no further than ``cap`` (so a huge result costs
    ``cap`` index entries, not the whole log)."""
    if f.subjects:
        seqs = (select(AuditSubject.seq).where(AuditSubject.subject.in_(f.subjects), *_entry_matches(f))
                .distinct().limit(cap))
    else:
        seqs = select(AuditEntry.seq).where(*_conditions(f)).limit(cap)
    return db.session.scalar(select(db.func.count()).select_from(seqs.subquery())) or 0


# --- lines: what a page or CSV row shows --------------------------------------------------

@dataclass(frozen=True)
class Line:
    seq: int
    when: str
    user: str
    organisation: str
    role: str
    on_behalf_of: str
    action: str
    action_code: str
    outcome: str
    categories: str
    purpose: str
    covenant_version: str
    article: str
    legal_basis: str
    object_type: str
    object_id: str
    link: str | None


def _object_link(entry: AuditEntry) -> str | None:
    """Only objects with a privacy officer's page of their own; the others are case pages
    the privacy officer may not open (no content for them either)."""
    if entry.object_type == "covenant_version" and entry.object_id and entry.object_id.isdigit():
        return url_for("privacy.covenant_version", covenant_id=int(entry.object_id))
    return None


def _no_user(access_point: str | None) -> str:
    # A failed login with an unknown e-mail address, or a job: say where it came from.
    return f"geen gebruiker ({access_point})" if access_point else "geen gebruiker"


def lines_of(entries: list[AuditEntry], choices: Choices) -> list[Line]:
    """Plain lines for the page and the CSV: two statements (user and organisation names)
    however many entries. Names of deleted users or organisations show as their id."""
    user_ids = {e.actor_user_id for e in entries} | {e.on_behalf_of_user_id for e in entries}
    user_ids.discard(None)
    org_ids = {e.actor_org_id for e in entries if e.actor_org_id}
    users = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all()) if user_ids else {}
    orgs = (dict(db.session.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(org_ids))
                                    ).all()) if org_ids else {})

    def name(table: dict, key: uuid.UUID | None, none: str) -> str:
        return none if key is None else table.get(key, str(key))

    return [Line(
        seq=e.seq, when=e.occurred_at.strftime("%d-%m-%Y %H:%M:%S"),
        user=name(users, e.actor_user_id, _no_user(e.access_point)), organisation=name(orgs, e.actor_org_id, ""),
        role=e.actor_role or "", on_behalf_of=name(users, e.on_behalf_of_user_id, ""),
        action=ACTION_LABELS.get(e.action, e.action), action_code=e.action,
        outcome=OUTCOME_LABELS.get(e.outcome, e.outcome),
        categories=", ".join(choices.categories.get(c, c) for c in e.data_categories or ()),
        purpose=choices.purposes.get(e.purpose, e.purpose) if e.purpose else "",
        covenant_version=e.covenant_version or "", article=e.covenant_article or "",
        legal_basis=LEGAL_BASIS_LABELS.get(e.legal_basis, e.legal_basis) if e.legal_basis else "",
        object_type=e.object_type or "", object_id=e.object_id or "", link=_object_link(e),
    ) for e in entries]


# --- the audit trail of the explorer itself ------------------------------------------------

def log_exploration(actor: Actor, f: AuditFilter, kind: str, shown: int) -> None:
    """Audit a page view or export: the filter (ids and codes) and how many lines, nothing
    the lines said. Not about the subjects: looking at the log is not processing their data."""
    action, summary = ("audit.explored", "audit log explored") if kind == "html" else \
        ("audit.exported", "audit log exported")
    record(action, actor=actor, summary=summary, meta={"filter": f.meta(), "lines": shown, "format": kind})


@dataclass(frozen=True)
class Lookup:
    bsn: str = ""
    first_name: str = ""
    last_name: str = ""
    birth_date: str = ""


def find_persons(lookup: Lookup) -> list[Person]:
    """The persons a BSN, or an exact name and birth date, identify. Uses the same blind
    indexes as reporting an involvement: nothing is decrypted but same-day candidates."""
    if lookup.bsn.strip():
        bsn = normalise_bsn(lookup.bsn)
        if not bsn_valid(bsn):
            raise FilterError(["Dit BSN is ongeldig (het voldoet niet aan de elfproef)."])
        person = person_by_bsn(bsn)
        return [person] if person else []
    if not (lookup.first_name.strip() and lookup.last_name.strip() and lookup.birth_date.strip()):
        raise FilterError(["Vul een BSN in, of voornaam, achternaam en geboortedatum."])
    data = PersonData(first_name=lookup.first_name.strip(), last_name=lookup.last_name.strip(),
                      birth_date=_birth_date(lookup.birth_date))
    return sorted(same_name_and_birth(data), key=lambda p: p.pseudonym)


def _birth_date(raw: str) -> date:
    try:
        born = parse_day(raw)
    except ValueError:
        raise FilterError(["De geboortedatum is geen geldige datum (gebruik dd-mm-jjjj)."]) from None
    if not 1900 <= born.year <= datetime.now(UTC).year:
        raise FilterError(["De geboortedatum ligt niet tussen 1900 en vandaag."])
    return born


def log_lookup(actor: Actor, lookup: Lookup, found: list[Person]) -> None:
    """The look-up is about the persons found; how they were looked for, never the BSN
    or the name typed in."""
    record("audit.subject_lookup", actor=actor, outcome="success" if found else "failure",
           summary="person looked up for the audit log", subjects=[blind("person", p.id) for p in found],
           object_type="person", meta={"by": "bsn" if lookup.bsn.strip() else "name_birth_date", "found": len(found)})


# --- CSV --------------------------------------------------------------------------------------
# Separator, BOM and formula neutralising come from privacy.csvsafe, shared by every export.

CSV_HEADER = ("Volgnummer", "Tijdstip (UTC)", "Gebruiker", "Organisatie", "Rol", "Namens", "Handeling", "Code",
              "Uitkomst", "Categorieën", "Doel", "Convenantversie", "Artikel", "Grondslag", "Objecttype", "Object-id")


def _csv_row(line: Line) -> tuple[object, ...]:
    return (line.seq, line.when, line.user, line.organisation, line.role, line.on_behalf_of, line.action,
            line.action_code, line.outcome, line.categories, line.purpose, line.covenant_version, line.article,
            line.legal_basis, line.object_type, line.object_id)


def csv_rows(f: AuditFilter, choices: Choices, batch: int = CSV_BATCH) -> Iterator[tuple[object, ...]]:
    """Every matching entry as a CSV row, one keyset batch at a time, so memory stays flat
    however long the export is."""
    cursor = f
    while entries := matching_entries(cursor, batch):
        yield from (_csv_row(line) for line in lines_of(entries, choices))
        if len(entries) < batch:
            return
        cursor = replace(cursor, before=entries[-1].seq)


# --- views ------------------------------------------------------------------------------------

def _page(choices: Choices, f: AuditFilter | None, errors: list[str], lines: list[Line] | None = None,
          next_before: int | None = None, candidates: list[Person] | None = None,
          lookup: Lookup | None = None, status: int = 200) -> tuple[str, int]:
    page = render_template("privacy/audit/index.html", choices=choices, f=f or AuditFilter(), errors=errors,
                           lines=lines, next_before=next_before, candidates=candidates or [],
                           lookup=lookup or Lookup(), outcomes=OUTCOME_FILTERS, raw=request.args)
    return page, status


@bp.route("/audit")
@permission_required("audit.read")
def index() -> tuple[str, int]:
    choices = filter_choices()
    try:
        f = parse_filter(request.args, choices)
    except FilterError as exc:
        return _page(choices, None, exc.messages, status=422)
    entries = matching_entries(f, PAGE_SIZE + 1)
    lines = lines_of(entries[:PAGE_SIZE], choices)
    next_before = entries[PAGE_SIZE - 1].seq if len(entries) > PAGE_SIZE else None
    log_exploration(current_actor(ROLE), f, "html", len(lines))
    db.session.commit()
    return _page(choices, f, [], lines, next_before)


@bp.route("/audit/persoon", methods=["POST"])
@permission_required("audit.read")
def lookup_person() -> Response | tuple[str, int]:
    choices = filter_choices()
    form = request.form
    lookup = Lookup(form.get("bsn", ""), form.get("voornaam", ""), form.get("achternaam", ""),
                    form.get("geboortedatum", ""))
    try:
        found = find_persons(lookup)
    except FilterError as exc:
        return _page(choices, None, exc.messages, lookup=replace(lookup, bsn=""), status=422)
    log_lookup(current_actor(ROLE), lookup, found)
    db.session.commit()
    if len(found) == 1:
        return redirect(url_for(".index", persoon=found[0].id))
    if not found:
        return _page(choices, None, ["Er is geen persoon gevonden met deze gegevens."], status=404)
    return _page(choices, None, [], candidates=found)


def _count_or_refusal(f: AuditFilter, cap: int, what: str) -> tuple[int, tuple[str, int] | None]:
    """How many entries match (counted no further than one past ``cap``), and the refusal
    page when that is more than ``cap``."""
    total = count_capped(f, cap + 1)
    if total <= cap:
        return total, None
    return total, (render_template("privacy/audit/too_many.html", cap=cap, what=what, args=f.args()), 422)


@bp.route("/audit.csv")
@permission_required("audit.read")
def export_csv() -> Response | tuple[str, int]:
    choices = filter_choices()
    try:
        f = parse_filter(request.args, choices)
    except FilterError as exc:
        return _page(choices, None, exc.messages, status=422)
    total, refused = _count_or_refusal(f, current_app.config["AUDIT_CSV_MAX_ROWS"], "CSV")
    if refused:
        return refused
    log_exploration(current_actor(ROLE), f, "csv", total)
    db.session.commit()  # the export is on record before its first byte leaves
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return csv_response(f"auditlog-{stamp}.csv", CSV_HEADER, csv_rows(f, choices))


# --- PDF --------------------------------------------------------------------------------------

PDF_HEADINGS = ("Nr.", "Tijdstip (UTC)", "Wie", "Namens", "Handeling", "Uitkomst", "Categorieën", "Doel",
                "Convenant", "Grondslag", "Object")
PDF_WIDTHS = (15, 24, 38, 22, 26, 18, 28, 22, 24, 22, 18)  # 257 mm: A4 landscape within the margins


def _pdf_row(line: Line) -> tuple[object, ...]:
    who = f"{line.user}\n{line.organisation}{f' · {line.role}' if line.role else ''}" if line.organisation \
        else line.user
    covenant = f"versie {line.covenant_version}{f', {line.article}' if line.article else ''}" \
        if line.covenant_version else ""
    return (line.seq, line.when, who, line.on_behalf_of, line.action, line.outcome, line.categories, line.purpose,
            covenant, line.legal_basis, line.object_type)


def _filter_described(f: AuditFilter, choices: Choices) -> str:
    """The filter in words for the PDF's heading: labels and pseudonyms, never a name typed in."""
    parts = []
    if f.about:
        parts.append(f"{'gezin' if f.family_id else 'persoon'} {f.about}")
    for value, table, label in ((f.org_id, choices.organisations, "organisatie"), (f.user_id, choices.users,
                                "gebruiker"), (f.category, choices.categories, "categorie"),
                                (f.purpose, choices.purposes, "doel"), (f.legal_basis, choices.legal_bases,
                                "grondslag")):
        if value:
            parts.append(f"{label} {table.get(value, value)}")
    if f.outcome:
        parts.append(f"uitkomst {f.outcome}")
    if f.date_from or f.date_to:
        parts.append(f"periode {f.date_from.strftime('%d-%m-%Y') if f.date_from else '…'} tot en met "
                     f"{f.date_to.strftime('%d-%m-%Y') if f.date_to else '…'}")
    return ", ".join(parts) or "geen filter (alle regels)"


def render_pdf(f: AuditFilter, choices: Choices, officer: str, cap: int) -> tuple[bytes, int]:
    """The matching entries (at most ``cap``, newest first) as a landscape PDF table."""
    entries = matching_entries(f, cap)
    doc = LandscapeDocument("Auditlog", Letterhead.from_config())
    doc.title_block(f"Filter: {_filter_described(f, choices)}. {len(entries)} "
                    f"{'regel' if len(entries) == 1 else 'regels'}, nieuwste eerst. Gemaakt door {officer} op "
                    f"{datetime.now(UTC).strftime('%d-%m-%Y %H:%M')} UTC. Het auditlog toont codes en namen van "
                    "professionals, nooit de inhoud van een casus.")
    if entries:
        doc.grid(PDF_HEADINGS, [_pdf_row(line) for line in lines_of(entries, choices)], PDF_WIDTHS, size=7,
                 line_height=3.2)
    else:
        doc.paragraph("Geen regels gevonden met dit filter.")
    return doc.render(), len(entries)


@bp.route("/audit.pdf")
@permission_required("audit.read")
def export_pdf() -> Response | tuple[str, int]:
    choices = filter_choices()
    try:
        f = parse_filter(request.args, choices)
    except FilterError as exc:
        return _page(choices, None, exc.messages, status=422)
    cap = current_app.config["AUDIT_PDF_MAX_ROWS"]
    _total, refused = _count_or_refusal(f, cap, "PDF")
    if refused:
        return refused
    pdf, shown = render_pdf(f, choices, current_user.name, cap)
    log_exploration(current_actor(ROLE), f, "pdf", shown)
    db.session.commit()  # on record before it leaves
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="auditlog-{stamp}.pdf"'})
