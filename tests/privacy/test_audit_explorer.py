"""The privacy officer's audit explorer: the subject index, every filter, keyset paging,
the CSV export (formula-safe, capped), bad input, permissions, no case content, and a
statement budget that does not grow with the log."""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import delete, event, func, select

from netwerk import operations as ops
from netwerk.content import content_for, plan_content
from netwerk.db import db, utcnow
from netwerk.models import Family, Person, User
from privacy import explorer
from privacy.audit import Actor, blind, record, verify_chain
from privacy.models import AuditEntry, AuditSubject
from tests.conftest import csrf_token
from tests.factories import SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import html, logged_in, path_of, pdf_text

URL, CSV_URL, PDF_URL = "/privacy/audit", "/privacy/audit.csv", "/privacy/audit.pdf"
LOOKUP_URL = "/privacy/audit/persoon"
TODAY = date.today()
MARKER = "GEHEIM-MARKER-7f3a"
BSN = "111222333"  # passes the elfproef


# --- helpers -----------------------------------------------------------------------------------

def actor_of(user: User, role: str = "deelnemer") -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role=role, roles=frozenset({role}))


def entry(action: str = "content.read", actor: Actor = SYSTEM, subjects: tuple[str, ...] = (), **fields) -> int:
    fields.setdefault("summary", "test entry")
    seq = record(action, actor=actor, subjects=subjects, **fields).seq
    db.session.commit()
    return seq


def _seqs(since: int = 0, **args: str) -> list[int]:
    """The seqs the filter ``args`` finds, newest first, from ``since`` on (the factories
    write entries of their own)."""
    f = explorer.parse_filter(args, explorer.filter_choices())
    return [e.seq for e in explorer.matching_entries(f, 1000) if e.seq >= since]


def person(first: str, born: date, bsn: str | None = None) -> Person:
    return ops.register_person(ops.PersonData(first, "Jansen", born, bsn=bsn), SYSTEM, TODAY, confirmed_new=True)


def household() -> tuple[Family, Person, Person]:
    mother, child = person("Sara", date(1985, 1, 1), bsn=BSN), person("Noor", date(2012, 3, 4))
    family = ops.compose_family([(mother, "ouder"), (child, "kind")], SYSTEM)
    db.session.commit()
    return family, mother, child


def csv_rows(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.fixture
def officer(app):
    user = make_user("privacy", totp=True, name="Petra Privacy")
    client = app.test_client()
    logged_in(client, user)
    return client, user


# --- the subject index ---------------------------------------------------------------------------

def test_record_writes_one_index_row_per_distinct_subject_and_the_chain_still_verifies(app):
    seq = entry(subjects=("person:b", "family:a", "person:b"))
    entry(subjects=())
    rows = db.session.execute(select(AuditSubject.subject, AuditSubject.seq).order_by(AuditSubject.subject)).all()
    assert [tuple(r) for r in rows] == [("family:a", seq), ("person:b", seq)]
    result = verify_chain()
    assert result.ok and result.entries == 2, result


def _migration():
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0011_audit_subjects.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_migration_backfills_the_index_from_existing_entries(app):
    expected = set()
    for i in range(7):
        subjects = (f"person:{i}", f"family:{i % 3}", f"person:{i}")
        seq = entry(subjects=subjects)
        expected |= {(s, seq) for s in subjects}
    entry()
    db.session.execute(delete(AuditSubject))  # as before the migration: entries, no index
    written = _migration().backfill(db.session.connection(), batch=3)
    db.session.commit()
    assert written == len(expected)
    assert {tuple(r) for r in db.session.execute(select(AuditSubject.subject, AuditSubject.seq))} == expected
    assert verify_chain().ok


# --- filters --------------------------------------------------------------------------------------

@pytest.fixture
def log(app):
    """Entries that differ in one field each, written with ``record`` directly."""
    a, b = make_org("Alfa"), make_org("Beta")
    make_covenant(a, b)
    ua, ub = make_user(org=a, name="Anna"), make_user(org=b, name="Bert")
    s = {
        "base": entry(actor=actor_of(ua), subjects=("person:x",), categories=["zorgen"], purpose="signalering",
                      legal_basis="wettelijke_taak", outcome="allowed"),
        "org_b": entry(actor=actor_of(ub), categories=["school"], purpose="procesregie",
                       legal_basis="toestemming", outcome="denied"),
        "emergency": entry("content.emergency_access", actor=actor_of(ua), subjects=("person:y",),
                           purpose="signalering", outcome="emergency"),
        "login": entry("auth.login", actor=actor_of(ub), outcome="success"),
        "failure": entry("auth.login", actor=actor_of(ub), outcome="failure"),
        "both": entry(actor=actor_of(ua), subjects=("person:x", "person:y"), categories=["zorgen", "gezondheid"],
                      purpose="nazorg", legal_basis="vitaal_belang", outcome="allowed"),
    }
    return s, a, b, ua, ub


def test_each_filter_narrows_to_exactly_its_entries(log):
    s, a, _b, _ua, ub = log
    every = sorted(s.values(), reverse=True)
    seqs = functools.partial(_seqs, min(every))
    assert seqs() == every
    assert seqs(organisatie=str(a.id)) == [s["both"], s["emergency"], s["base"]]
    assert seqs(gebruiker=str(ub.id)) == [s["failure"], s["login"], s["org_b"]]
    assert seqs(categorie="zorgen") == [s["both"], s["base"]]
    assert seqs(categorie="gezondheid") == [s["both"]]
    assert seqs(doel="signalering") == [s["emergency"], s["base"]]
    assert seqs(grondslag="toestemming") == [s["org_b"]]
    assert seqs(uitkomst="toegestaan") == [s["both"], s["login"], s["base"]]
    assert seqs(uitkomst="geweigerd") == [s["org_b"]]
    assert seqs(uitkomst="noodtoegang") == [s["emergency"]]
    assert seqs(uitkomst="mislukt") == [s["failure"]]
    assert seqs(organisatie=str(a.id), categorie="zorgen", doel="nazorg") == [s["both"]]


def test_period_filter_is_inclusive_of_both_days(log):
    today, every = utcnow().date(), sorted(log[0].values(), reverse=True)
    seqs = functools.partial(_seqs, min(every))
    assert seqs(van=today.isoformat(), tot=today.isoformat()) == every
    assert seqs(van=(today + timedelta(days=1)).isoformat()) == []
    assert seqs(tot=(today - timedelta(days=1)).isoformat()) == []
    assert seqs(van=today.strftime("%d-%m-%Y")) == every  # typed the Dutch way


def test_person_and_family_filters_use_the_subject_index(app):
    family, mother, child = household()
    other = person("Kees", date(1990, 5, 5))
    db.session.commit()
    about_child = entry(subjects=(blind("person", child.id),))
    about_family = entry(subjects=(blind("family", family.id),))
    about_other = entry(subjects=(blind("person", other.id),))
    about_mother = entry(subjects=(blind("person", mother.id), blind("person", other.id)))
    assert _seqs(about_child, persoon=str(child.id)) == [about_child]
    assert _seqs(about_child, persoon=str(other.id)) == [about_mother, about_other]
    assert _seqs(about_child, gezin=str(family.id)) == [about_mother, about_family, about_child]
    # Before these: what the operations wrote (registering, composing the household).
    earlier = _seqs(gezin=str(family.id))[3:]
    assert earlier and earlier == sorted(earlier, reverse=True) and max(earlier) < about_child


def test_family_filter_finds_entries_written_by_real_operations(app):
    cjg = make_org(org_type="cjg")
    make_covenant(cjg, rules=[allow(cjg, "zorgen"), allow(cjg, "plan")])
    author = make_user(org=cjg)
    family, _mother, child = household()
    note = ops.add_note(child, author, "zorgen", "Notitie", actor_of(author), TODAY)
    db.session.commit()
    reader = make_user(org=make_org())
    content_for(actor_of(reader), [child], "signalering")  # a refusal, audited by the gate
    db.session.commit()
    found = db.session.scalars(select(AuditEntry).where(AuditEntry.seq.in_(_seqs(gezin=str(family.id))))).all()
    actions = {e.action for e in found}
    assert {"family.composed", "note.added", "content.read"} <= actions
    refused = [e for e in found if e.action == "content.read"]
    assert refused[0].outcome == "denied" and str(note.id) in refused[0].meta["notes"]
    assert _seqs(gezin=str(family.id), uitkomst="geweigerd") == [refused[0].seq]
    assert verify_chain().ok  # the index is written beside the chain, never into it


# --- paging ----------------------------------------------------------------------------------------

def test_keyset_paging_is_stable_while_new_entries_arrive(app):
    subject = ("person:paging",)
    newest_first = [entry(subjects=subject) for _ in range(120)][::-1]

    def page(before: int | None) -> list[int]:
        f = explorer.AuditFilter(subjects=subject, before=before)
        return [e.seq for e in explorer.matching_entries(f, explorer.PAGE_SIZE + 1)]

    page1 = page(None)
    assert page1[:50] == newest_first[:50] and len(page1) == 51
    for _ in range(10):
        entry(subjects=subject)  # they arrive between page 1 and page 2
    page2 = page(page1[49])
    assert page2[:50] == newest_first[50:100]
    assert page(page2[49]) == newest_first[100:]


def test_the_next_link_carries_the_last_seq_and_the_filter(officer):
    client, _ = officer
    _family, _mother, child = household()
    written = [entry(subjects=(blind("person", child.id),), purpose="x") for _ in range(55)]
    page = html(client.get(URL, query_string={"persoon": str(child.id)}))
    own = [e.seq for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
           if blind("person", child.id) in e.subject_ids]
    newest_first = own[::-1]
    last_shown = newest_first[49]
    assert f'voor={last_shown}' in page and f"persoon={child.id}" in page
    second = html(client.get(URL, query_string={"persoon": str(child.id), "voor": str(last_shown)}))
    assert f"<td>{newest_first[50]}</td>" in second and f"<td>{last_shown}</td>" not in second
    assert written[0] in own


# --- the page -------------------------------------------------------------------------------------

def test_page_shows_who_on_whose_behalf_article_and_dutch_action(officer, log):
    client, _ = officer
    _s, a, _b, ua, _ub = log
    secretary = make_user(org=a, name="Sam Secretaris")
    entry(actor=Actor(user_id=secretary.id, org_id=a.id, role="secretaris", on_behalf_of=ua.id),
          covenant_version="2026.1", covenant_article="art. 7", purpose="signalering", categories=["zorgen"],
          legal_basis="wettelijke_taak", outcome="allowed")
    entry("something.unknown")
    page = html(client.get(URL))
    for text in ("Sam Secretaris", "Anna", "Alfa", "versie 2026.1, art. 7", "inhoud ingezien", "toegestaan",
                 "Zorgen en hulpvraag", "Signalering", "something.unknown"):
        assert text in page, text


def test_a_covenant_version_entry_links_to_its_page(officer):
    client, _ = officer
    covenant = make_covenant(make_org())
    entry("covenant.version_created", object_type="covenant_version", object_id=covenant.id)
    entry("note.added", object_type="note", object_id=uuid.uuid4())
    page = html(client.get(URL))
    assert f'href="/privacy/convenant/{covenant.id}"' in page
    assert 'href="/notities' not in page


def test_every_use_is_audited_with_the_filter_and_no_content(officer, log):
    client, officer_user = officer
    _s, a, *_ = log
    assert client.get(URL, query_string={"organisatie": str(a.id), "categorie": "zorgen"}).status_code == 200
    explored = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.explored")).all()
    assert len(explored) == 1
    e = explored[0]
    assert e.actor_user_id == officer_user.id and e.actor_role == "privacy"
    assert e.meta["filter"] == {"organisatie": str(a.id), "categorie": "zorgen"} and e.meta["lines"] == 2
    assert client.get(CSV_URL, query_string={"doel": "nazorg"}).status_code == 200
    exported = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.exported"))
    assert exported.meta["filter"] == {"doel": "nazorg"} and exported.meta["lines"] == 1


def test_person_lookup_by_bsn_is_audited_and_shows_only_the_pseudonym(officer):
    client, _ = officer
    family, mother, _child = household()
    token = csrf_token(client, URL)
    response = client.post(LOOKUP_URL, data={"csrf_token": token, "bsn": BSN})
    assert response.status_code == 302 and path_of(response) == URL
    assert f"persoon={mother.id}" in response.headers["Location"]
    lookup = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "audit.subject_lookup"))
    assert lookup.subject_ids == [blind("person", mother.id)] and lookup.meta == {"by": "bsn", "found": 1}
    assert BSN not in str(lookup.meta) and BSN not in lookup.summary
    page = html(client.get(response.headers["Location"]))
    assert mother.pseudonym in page and "Sara" not in page and "Jansen" not in page and BSN not in page
    assert f"gezin={family.id}" in page  # the way to the whole household


def test_person_lookup_by_name_and_birth_date(officer):
    client, _ = officer
    _family, mother, _child = household()
    token = csrf_token(client, URL)
    found = client.post(LOOKUP_URL, data={"csrf_token": token, "voornaam": "sara", "achternaam": "Jansen",
                                          "geboortedatum": "1985-01-01"})
    assert found.status_code == 302 and f"persoon={mother.id}" in found.headers["Location"]
    missing = client.post(LOOKUP_URL, data={"csrf_token": token, "voornaam": "Sara", "achternaam": "Jansen",
                                            "geboortedatum": "1985-01-02"})
    assert missing.status_code == 404 and "Er is geen persoon gevonden" in html(missing)
    outcomes = db.session.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "audit.subject_lookup")
                                  .order_by(AuditEntry.seq)).all()
    assert outcomes == ["success", "failure"]


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    ({"van": "2026-05-01", "tot": "2026-04-01"}, "de einddatum ligt vóór de begindatum"),
    ({"van": "gisteren"}, "geen geldige datum"),
    ({"tot": "31-02-2026"}, "geen geldige datum"),
    ({"van": "0000-01-01"}, "geen geldige datum"),
    ({"tot": "10000-01-01"}, "geen geldige datum"),
    ({"van": "0001-01-01"}, "moet tussen"),
    ({"categorie": "dagboek"}, "Deze categorie gegevens bestaat niet"),
    ({"doel": "nieuwsgierigheid"}, "Dit doel bestaat niet"),
    ({"uitkomst": "misschien"}, "Deze uitkomst bestaat niet"),
    ({"grondslag": "omdat"}, "Deze grondslag bestaat niet"),
    ({"gebruiker": "niet-een-id"}, "De gekozen gebruiker bestaat niet"),
    ({"gebruiker": str(uuid.uuid4())}, "De gekozen gebruiker bestaat niet"),
    ({"organisatie": "'; DROP TABLE audit_entry; --"}, "De gekozen organisatie bestaat niet"),
    ({"organisatie": str(uuid.uuid4())}, "De gekozen organisatie bestaat niet"),
    ({"persoon": str(uuid.uuid4())}, "De gekozen persoon bestaat niet"),
    ({"gezin": "x"}, "De gekozen gezin bestaat niet"),
    ({"gezin": str(uuid.uuid4())}, "Het gekozen gezin bestaat niet"),
    ({"voor": "-1"}, "Deze pagina bestaat niet"),
    ({"voor": "9" * 40}, "Deze pagina bestaat niet"),
])
def test_bad_filters_get_a_dutch_message_not_a_crash(officer, args, message):
    client, _ = officer
    make_covenant(make_org())
    for url in (URL, CSV_URL, PDF_URL):
        response = client.get(url, query_string=args)
        assert response.status_code == 422, (url, args)
        assert message in html(response), html(response)
        assert "Content-Disposition" not in response.headers
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.in_(["audit.explored", "audit.exported"]))) == 0


@pytest.mark.parametrize(("data", "message", "status"), [
    ({"bsn": "123456789"}, "Dit BSN is ongeldig", 422),
    ({"bsn": "abc"}, "Dit BSN is ongeldig", 422),
    ({"bsn": "123456782"}, "Er is geen persoon gevonden", 404),
    ({}, "Vul een BSN in, of voornaam, achternaam en geboortedatum", 422),
    ({"voornaam": "A", "achternaam": "B", "geboortedatum": "1-1"}, "geen geldige datum", 422),
    ({"voornaam": "A", "achternaam": "B", "geboortedatum": "0000-01-01"}, "geen geldige datum", 422),
    ({"voornaam": "A", "achternaam": "B", "geboortedatum": "1850-01-01"}, "tussen 1900 en vandaag", 422),
])
def test_bad_person_lookups_get_a_dutch_message(officer, data, message, status):
    client, _ = officer
    response = client.post(LOOKUP_URL, data={"csrf_token": csrf_token(client, URL), **data})
    assert response.status_code == status and message in html(response)
    if data.get("bsn"):
        assert f'value="{data["bsn"]}"' not in html(response)  # a typed BSN is not echoed back


# --- permissions -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["beheerder", "deelnemer", "voorzitter", "secretaris"])
def test_only_privacy_officers_may_explore(app, role):
    user = make_user(role, totp=True)
    client = app.test_client()
    logged_in(client, user)
    assert client.get(URL).status_code == 403
    assert client.get(CSV_URL).status_code == 403
    assert client.get(PDF_URL).status_code == 403
    token = csrf_token(client, "/account/")
    assert client.post(LOOKUP_URL, data={"csrf_token": token, "bsn": BSN}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.like("audit.%"))) == 0


def test_anonymous_visitors_are_sent_to_the_login(app):
    client = app.test_client()
    for url in (URL, CSV_URL, PDF_URL):
        response = client.get(url)
        assert response.status_code == 302 and path_of(response) == "/inloggen"


# --- CSV ----------------------------------------------------------------------------------------------

def test_csv_export_is_excel_ready_and_formula_safe(officer):
    client, _ = officer
    entry(actor=Actor(user_id=None, org_id=None, role="@SUM(1)", access_point="jobs"),
          covenant_version="-1", covenant_article="+1", object_type="=cmd|' /C calc'!A0",
          object_id="=HYPERLINK(\"x\")")
    response = client.get(CSV_URL)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="auditlog-')
    rows = csv_rows(response)
    assert rows[0][:3] == ["Volgnummer", "Tijdstip (UTC)", "Gebruiker"]
    row = next(r for r in rows[1:] if r[7] == "content.read")
    assert row[2] == "geen gebruiker (jobs)" and row[4] == "'@SUM(1)"
    assert row[11] == "'-1" and row[12] == "'+1"
    assert row[14] == "'=cmd|' /C calc'!A0" and row[15] == "'=HYPERLINK(\"x\")"
    for cells in rows:
        assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), cells


def test_csv_reads_every_matching_entry_in_keyset_batches(app):
    written = [entry(subjects=("person:csv",)) for _ in range(11)]
    rows = list(explorer.csv_rows(explorer.AuditFilter(subjects=("person:csv",)), explorer.filter_choices(), batch=4))
    assert [r[0] for r in rows] == written[::-1]


def test_csv_beyond_the_cap_is_refused_before_the_download_starts(officer, monkeypatch):
    client, _ = officer
    monkeypatch.setitem(current_app.config, "AUDIT_CSV_MAX_ROWS", 3)
    for _ in range(4):
        entry(subjects=("person:many",))
    response = client.get(CSV_URL, query_string={"doel": ""})
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    assert "maak het filter kleiner" in html(response)
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "audit.exported")) == 0
    assert explorer.count_capped(explorer.AuditFilter(subjects=("person:many",)), 10) == 4
    assert explorer.count_capped(explorer.AuditFilter(subjects=("person:many",)), 2) == 2


def test_pdf_export_shows_the_filter_and_both_exports_stop_at_their_cap(officer, log, monkeypatch):
    client, _ = officer
    s, a, _b, _ua, ub = log
    response = client.get(PDF_URL, query_string={"organisatie": str(a.id)})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="auditlog-')
    text = " ".join(pdf_text(response.data).split())
    assert "Filter: organisatie Alfa. 3 regels, nieuwste eerst" in text and "Petra Privacy" in text
    for words in ("Anna", "noodtoegang gevraagd", "Zorgen en hulpvraag", "Vitaal belang", str(s["both"])):
        assert words in text, words
    assert "Bert" not in text
    exported = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.exported")).all()
    assert [(e.meta["format"], e.meta["lines"]) for e in exported] == [("pdf", 3)]
    # Past the cap (5,000 by default; 100,000 for CSV): refused before anything is read or logged.
    monkeypatch.setitem(current_app.config, "AUDIT_PDF_MAX_ROWS", 2)
    monkeypatch.setitem(current_app.config, "AUDIT_CSV_MAX_ROWS", 2)
    for url in (PDF_URL, CSV_URL):
        refused = client.get(url, query_string={"organisatie": str(a.id)})
        assert refused.status_code == 422 and refused.mimetype == "text/html"
        assert "meer dan 2 regels" in html(refused) and "maak het filter kleiner" in html(refused)
    assert client.get(PDF_URL, query_string={"gebruiker": str(ub.id), "uitkomst": "geweigerd"}).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "audit.exported")) == 2


# --- no case content ------------------------------------------------------------------------------

def test_neither_the_page_nor_the_csv_shows_case_content(officer):
    client, _ = officer
    cjg = make_org(org_type="cjg")
    make_covenant(cjg, rules=[allow(cjg, "zorgen"), allow(cjg, "plan"), allow(cjg, "gezondheid")])
    coordinator = make_user(org=cjg, name="Sanne Coördinator")
    family, _mother, child = household()
    ops.register_involvement(child, ops.InvolvementData(
        organisation_id=cjg.id, contact_name="Contact", contact_email="c@example.test",
        start_date=TODAY - timedelta(days=3)), SYSTEM, TODAY)
    db.session.commit()
    worker = actor_of(coordinator)
    ops.add_note(child, coordinator, "zorgen", f"Notitie {MARKER}", worker, TODAY)
    plan = ops.start_plan(family, coordinator, worker, TODAY)
    ops.add_goal(plan, "gezondheid", f"Doel {MARKER}", coordinator, worker)
    ops.update_plan(plan, family_view=f"Visie {MARKER}", strengths=None, next_evaluation=TODAY + timedelta(days=30),
                    family_agreement_required=False, expected_version=plan.version, actor=worker, today=TODAY)
    db.session.commit()
    assert content_for(worker, [child], "signalering")[child.id].notes  # read through the gate: audited
    assert plan_content(worker, plan, "signalering").goals
    db.session.commit()
    for query in ({}, {"gezin": str(family.id)}, {"persoon": str(child.id)}):
        page = html(client.get(URL, query_string=query))
        assert "inhoud ingezien" in page
        assert MARKER not in page and "Noor" not in page and "Sara" not in page
        export = client.get(CSV_URL, query_string=query).get_data(as_text=True)
        assert "content.read" in export and MARKER not in export and "Noor" not in export
    pdf = pdf_text(client.get(PDF_URL, query_string={"gezin": str(family.id)}).data)
    assert "inhoud ingezien" in pdf and MARKER not in pdf and "Noor" not in pdf


# --- statement budget --------------------------------------------------------------------------

def _statements(client, query: dict) -> int:
    seen: list[str] = []

    def count(*args) -> None:
        seen.append(args[2])

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(URL, query_string=query).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_page_costs_the_same_statements_for_5_or_60_entries(officer):
    client, _ = officer
    family, _mother, child = household()
    orgs = [make_org() for _ in range(3)]
    users = [make_user(org=o) for o in orgs]

    def write(n: int) -> None:
        for i in range(n):
            entry(actor=actor_of(users[i % 3]), subjects=(blind("person", child.id),), categories=["zorgen"])

    write(5)
    few = {q: _statements(client, {"gezin": str(family.id)} if q else {}) for q in (True, False)}
    write(55)
    many = {q: _statements(client, {"gezin": str(family.id)} if q else {}) for q in (True, False)}
    assert few == many, (few, many)
    assert max(many.values()) <= 25
