"""The subject access report (AVG art. 15): what it lists and leaves out, the withheld
names and how the report documents them, bad input, its own audit entry, and who may
make it."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
from flask import current_app
from sqlalchemy import func, select

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import Family, Person, User
from netwerk.validators import pseudonym
from privacy import sar
from privacy.audit import Actor, blind
from privacy.models import AuditEntry
from privacy.policy import decide
from tests.conftest import csrf_token
from tests.factories import SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import html, logged_in, path_of, pdf_text

TODAY = date.today()
BSN = "111222333"  # passes the elfproef
SEQ_CELL = 'data-seq="'


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role="deelnemer", roles=frozenset({"deelnemer"}))


def person(first: str, born: date, bsn: str | None = None) -> Person:
    return ops.register_person(ops.PersonData(first, "Jansen", born, bsn=bsn), SYSTEM, TODAY, confirmed_new=True)


def household() -> tuple[Family, Person, Person]:
    mother, child = person("Sara", date(1985, 1, 1), bsn=BSN), person("Noor", date(2012, 3, 4))
    family = ops.compose_family([(mother, "ouder"), (child, "kind")], SYSTEM)
    db.session.commit()
    return family, mother, child


def read(user: User, *subjects: str, category: str = "zorgen", owner: User | None = None) -> tuple[int, bool]:
    """A read through the gate, as any screen does it: (its audit seq, allowed)."""
    decision = decide(actor_of(user), subjects=subjects, category=category, purpose="signalering",
                      object_type="note", object_id=uuid.uuid4(), owner_org_id=owner.organisation_id if owner else None)
    db.session.commit()
    return db.session.scalar(select(func.max(AuditEntry.seq))), decision.allowed


def seqs_on(page: str) -> list[int]:
    return [int(part.split('"', 1)[0]) for part in page.split(SEQ_CELL)[1:]]


def reports_made() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.subject_access_report")
                                   .order_by(AuditEntry.seq)))


@pytest.fixture
def officer(app):
    user = make_user("privacy", totp=True, name="Petra Privacy")
    client = app.test_client()
    logged_in(client, user)
    return client, user


@pytest.fixture
def world(app):
    """A household read by CJG, Veilig Thuis and the police (allowed), by a school (denied),
    plus a read about somebody outside the household."""
    cjg, vt = make_org("CJG Oost"), make_org("Veilig Thuis Regio", org_type="veilig_thuis", domain="veiligheid")
    police, school = make_org("Politie Oost", org_type="politie", domain="veiligheid"), make_org("School Oost")
    make_covenant(cjg, vt, police, school, rules=[allow(o, c) for o in (cjg, vt, police) for c in ("zorgen", "plan")])
    users = {"cjg": make_user(org=cjg, name="Carla Cjg"), "vt": make_user(org=vt, name="Vera Veilig"),
             "police": make_user(org=police, name="Paul Politie"), "school": make_user(org=school, name="Sem School")}
    family, mother, child = household()
    kees = person("Kees", date(1990, 5, 5))
    db.session.commit()
    m, c, f = blind("person", mother.id), blind("person", child.id), blind("family", family.id)
    reads = {
        "cjg_child": read(users["cjg"], c), "vt_mother": read(users["vt"], m),
        "police_child": read(users["police"], c), "cjg_plan": read(users["cjg"], f, m, c, category="plan"),
        "own": read(users["school"], c, category="school", owner=users["school"]),  # its own note
        "school_denied": read(users["school"], c), "cjg_kees": read(users["cjg"], blind("person", kees.id)),
    }
    assert [allowed for _seq, allowed in reads.values()] == [True] * 5 + [False, True]
    return family, mother, child, users, {k: seq for k, (seq, _) in reads.items()}


def test_the_report_lists_every_disclosure_and_documents_withheld_names(officer, world):
    client, officer_user = officer
    family, mother, _child, _users, seq = world
    page = html(client.get(f"/privacy/inzage/gezin/{family.id}"))
    expected = [seq[k] for k in ("cjg_child", "vt_mother", "police_child", "cjg_plan", "own")]
    assert seqs_on(page) == expected  # oldest first; no refusal, nobody outside the household
    for text in ("Carla Cjg", "CJG Oost", "Veilig Thuis Regio", "Politie Oost", "Signalering", "Zorgen en hulpvraag",
                 "Plan en acties", "Wettelijke taak\n(convenant test-", "art. 5", "Eigen organisatie", "artikel 15",
                 "5 keer bekeken, door 4 organisaties", family.pseudonym.removeprefix("Gezin ")):
        assert text in page, text
    # Veilig Thuis and police professionals are not named; the report says where and why.
    assert "Vera Veilig" not in page and "Paul Politie" not in page and "Sem School" in page
    assert "Bij regel 2 noemen we de naam van de medewerker niet. Die medewerker werkt bij Veilig Thuis Regio" in page
    assert page.index("Bij regel 2 noemen") < page.index("Bij regel 3 noemen we")
    assert "artikel 41, lid 1, onder d en i, UAVG" in page
    assert page.count("naam niet vermeld (zie Beperkingen)") == 2
    assert "Sara" not in page and "Noor" not in page and BSN not in page  # pseudonyms only

    pdf = client.get(f"/privacy/inzage/gezin/{family.id}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    for words in ("Carla Cjg", "Veilig Thuis Regio", "Politie Oost", "artikel 23", "Alle keren dat gegevens zijn",
                  "Samenvatting", "Beperkingen", "Wettelijke taak"):
        assert words in " ".join(text.split()), words
    assert "Vera" not in text and "Paul" not in text and "Sara" not in text

    # A person's report: only the entries naming that person (the household's plan names all).
    assert seqs_on(html(client.get(f"/privacy/inzage/persoon/{mother.id}"))) == [seq["vt_mother"], seq["cjg_plan"]]
    # A period: inclusive days; one without disclosures is a report that says so.
    day = datetime.now(sar.LOCAL).date().isoformat()  # the report's days are Dutch local days
    assert seqs_on(html(client.get(f"/privacy/inzage/gezin/{family.id}", query_string={"van": day, "tot": day}))) \
        == expected
    empty = html(client.get(f"/privacy/inzage/gezin/{family.id}", query_string={"tot": "2020-01-01"}))
    assert seqs_on(empty) == [] and "Er is dus niets gedeeld" in empty

    made = reports_made()
    assert [(e.meta["format"], e.meta["rows"], e.meta["withheld_rows"]) for e in made] == [
        ("html", 5, 2), ("pdf", 5, 2), ("html", 2, 1), ("html", 5, 2), ("html", 0, 0)]
    assert made[0].actor_user_id == officer_user.id and made[0].actor_role == "privacy"
    assert set(made[0].subject_ids) == {blind("family", family.id), *(blind("person", p.id) for p in family_members(
        family))} and made[2].subject_ids == [blind("person", mother.id)]
    assert all("Carla" not in str(e.meta) and "Jansen" not in str(e.meta) for e in made)

    # Past the cap: a Dutch request for a shorter period, no report and no entry.
    current_app.config["SAR_MAX_ROWS"], saved = 4, current_app.config["SAR_MAX_ROWS"]
    try:
        refused = client.get(f"/privacy/inzage/gezin/{family.id}/pdf")
    finally:
        current_app.config["SAR_MAX_ROWS"] = saved
    assert refused.status_code == 422 and "kies een kortere periode" in html(refused)
    assert len(reports_made()) == len(made)

    # The shielded organisation types are configuration (NETWERK_SAR_WITHHOLD_NAMES_TYPES).
    current_app.config["SAR_WITHHOLD_NAMES_TYPES"], saved = ("cjg",), current_app.config["SAR_WITHHOLD_NAMES_TYPES"]
    try:
        other = html(client.get(f"/privacy/inzage/gezin/{family.id}"))
    finally:
        current_app.config["SAR_WITHHOLD_NAMES_TYPES"] = saved
    assert "Vera Veilig" in other and "Carla Cjg" not in other
    assert "Bij de regels 1, 4 noemen we de naam van de medewerker niet. Die medewerker werkt bij CJG Oost" in other
    assert "Bij regel 5 noemen we" in other  # the school is of the cjg type too


def family_members(family: Family) -> list[Person]:
    return [m.person for m in family.members]


def test_bad_input_gets_a_dutch_message_and_an_empty_household_gets_a_report(officer):
    client, _ = officer
    make_covenant(make_org())
    family, mother, _child = household()
    unaudited = Person(id=uuid.uuid4(), pseudonym=pseudonym("Ad", "Bos", 1970), birth_year=1970)
    unaudited.first_name, unaudited.last_name, unaudited.birth_date_iso = "Ad", "Bos", "1970-01-01"
    db.session.add(unaudited)
    db.session.commit()
    cases = [
        (f"/privacy/inzage/persoon/{uuid.uuid4()}", {}, 404, "Deze persoon bestaat niet in Netwerk"),
        ("/privacy/inzage/persoon/geen-id", {}, 404, "Deze persoon bestaat niet in Netwerk"),
        (f"/privacy/inzage/gezin/{uuid.uuid4()}/pdf", {}, 404, "Dit gezin bestaat niet in Netwerk"),
        (f"/privacy/inzage/persoon/{unaudited.id}/pdf", {}, 404, "staat niets in het auditlog"),
        (f"/privacy/inzage/gezin/{family.id}", {"van": "2026-05-01", "tot": "2026-04-01"}, 422,
         "de einddatum ligt vóór de begindatum"),
        (f"/privacy/inzage/gezin/{family.id}/pdf", {"van": "gisteren", "tot": "0001-01-01"}, 422,
         "geen geldige datum"),
    ]
    for url, args, status, message in cases:
        response = client.get(url, query_string=args)
        assert (response.status_code, response.mimetype) == (status, "text/html"), url
        assert message in html(response), (url, html(response))
    assert reports_made() == []

    nothing = client.get(f"/privacy/inzage/gezin/{family.id}/pdf")
    assert nothing.status_code == 200 and "Er is dus niets gedeeld" in " ".join(pdf_text(nothing.data).split())

    token = csrf_token(client, "/privacy/inzage")
    found = client.post("/privacy/inzage/zoeken", data={"csrf_token": token, "bsn": BSN})
    assert found.status_code == 302 and path_of(found) == f"/privacy/inzage/persoon/{mother.id}"
    page = html(client.get(found.headers["Location"]))
    assert f"/privacy/inzage/gezin/{family.id}" in page and mother.pseudonym in page and "Sara" not in page
    missing = client.post("/privacy/inzage/zoeken", data={"csrf_token": token, "bsn": "123456782"})
    assert missing.status_code == 404 and "Er is geen persoon gevonden" in html(missing)
    invalid = client.post("/privacy/inzage/zoeken", data={"csrf_token": token, "bsn": "123456789"})
    assert invalid.status_code == 422 and "Dit BSN is ongeldig" in html(invalid)


def test_only_privacy_officers_may_make_a_report(app):
    family, _mother, _child = household()
    urls = ["/privacy/inzage", f"/privacy/inzage/gezin/{family.id}", f"/privacy/inzage/gezin/{family.id}/pdf"]
    for role in ("deelnemer", "beheerder", "voorzitter"):
        client = app.test_client()
        logged_in(client, make_user(role, totp=True))
        assert [client.get(url).status_code for url in urls] == [403] * 3, role
        token = csrf_token(client, "/account/")
        assert client.post("/privacy/inzage/zoeken", data={"csrf_token": token, "bsn": BSN}).status_code == 403
    anonymous = app.test_client().get(urls[1])
    assert anonymous.status_code == 302 and path_of(anonymous) == "/inloggen"
    assert reports_made() == [] and not db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "audit.subject_lookup"))


def test_row_numbers_are_written_as_ranges():
    assert sar._numbers([1, 2, 3, 5, 7, 8]) == "1-3, 5, 7-8"
    assert sar._numbers([4]) == "4" and sar._numbers([]) == ""
    assert sar.Period(date(2026, 1, 2), None).described == "vanaf 2 januari 2026"
    with pytest.raises(sar.SarError, match="einddatum ligt vóór"):
        sar.parse_period("2026-02-01", "31-01-2026")
    assert sar.parse_period("", "31-01-2026") == sar.Period(None, date(2026, 1, 31))
    assert sar.parse_period(None, None) == sar.Period() and TODAY - timedelta(days=1) < TODAY
