"""Persons on screen: reporting an involvement (identification without an existence
oracle, refusals that write nothing but the counted look-up), the person page at the
"that" level, content through the privacy gate with a purpose from context or emergency
access, notes, household members, consent and ending an involvement; the family page."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import (
    Family,
    Involvement,
    Match,
    Note,
    Notification,
    OutboxMail,
    Person,
    PersonLookup,
    PurposeClaim,
    User,
)
from netwerk.operations.notes import add_note
from privacy.models import AuditEntry, Consent
from privacy.operations import ConsentSpec, CovenantSpec, PartySpec, add_consent, create_covenant_version
from tests.conftest import csrf_token, post_form
from tests.factories import CATEGORIES, PURPOSES, SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import html, logged_in, path_of

TODAY = utcnow().date()
VALID_BSN = "111222333"  # passes the elfproef
OTHER_BSN = "123456782"  # passes too
REPORT_URL = "/betrokkenheid/melden"
NOBODY = "00000000-0000-4000-8000-000000000000"
# Tables a request may touch without "writing" anything: the session's last-seen stamp,
# and the data key the keyring creates on first use.
BOOKKEEPING = {"login_session", "data_key"}


# --- helpers --------------------------------------------------------------------------------

def snapshot() -> dict[str, list[str]]:
    """Every row of every table, so an insert, update or delete anywhere shows up."""
    db.session.expire_all()
    return {table.name: sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
            for table in db.metadata.sorted_tables if table.name not in BOOKKEEPING}


def written(before: dict[str, list[str]]) -> set[str]:
    after = snapshot()
    return {name for name in after if after[name] != before[name]}


def count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def client_for(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    logged_in(client, user)
    return client


def identity(first: str = "Noor", last: str = "Jansen", born: str = "2012-03-04", bsn: str = "",
             **extra: str) -> dict[str, str]:
    return {"first_name": first, "last_name": last, "birth_date": born, "bsn": bsn, "municipality": "Leiden",
            "address": "Dorpsstraat 1, Leiden"} | extra


def report_data(user: User, **changes: str | None) -> dict[str, str]:
    data = identity() | {"contact_name": user.name, "contact_phone": "071 123 4567", "contact_email": user.email,
                         "start_date": TODAY.isoformat(), "end_date": ""}
    data |= changes
    return {k: v for k, v in data.items() if v is not None}


def report(client: FlaskClient, user: User, **changes: str | None):
    return post_form(client, REPORT_URL, report_data(user, **changes))


def person_of(response) -> Person:
    assert response.status_code == 302, html(response)
    return db.session.get(Person, uuid.UUID(path_of(response).rsplit("/", 1)[1]))


def register(first: str = "Noor", last: str = "Jansen", born: date = date(2012, 3, 4), **extra: object) -> Person:
    found = ops.register_person(ops.PersonData(first, last, born, **extra), SYSTEM, TODAY, confirmed_new=True)
    db.session.commit()
    return found


def involve(who: Person, user: User, phone: str | None = "071 123 4567") -> Involvement:
    involvement = ops.register_involvement(
        who, ops.InvolvementData(user.organisation_id, user.name, user.email, TODAY, contact_phone=phone),
        SYSTEM, TODAY)
    db.session.commit()
    return involvement


def note(who: Person, writer: User, category: str, text: str | None = None) -> Note:
    written_note = add_note(who, writer, category, text or f"MARKER-{category}", actor_for(writer, "deelnemer"),
                            TODAY)
    db.session.commit()
    return written_note


CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]+"')


def same_page(first, second) -> bool:
    """Whether two responses are the same page (the CSRF token is signed with a timestamp)."""
    return (first.status_code, CSRF_VALUE.sub(r"\1", html(first))) == (
        second.status_code, CSRF_VALUE.sub(r"\1", html(second)))


def flashed(client: FlaskClient, url: str) -> str:
    return html(client.get(url))


# --- the world ------------------------------------------------------------------------------

@pytest.fixture
def world(app):
    return make_world()


def make_world():
    """Four organisations under one covenant: the police may receive "zorgen" for
    signalering and nazorg, the school "zorgen" for nazorg; "gezondheid" goes to nobody."""
    cjg, police = make_org("CJG Test", "cjg"), make_org("Politie Test", "politie", "veiligheid")
    school, third = make_org("School Test", "school", "onderwijs"), make_org("Derde Test", "jongerenwerk")
    make_covenant(cjg, police, school, third, rules=[
        allow(police, "zorgen", "signalering"), allow(police, "zorgen", "nazorg"), allow(school, "zorgen", "nazorg")])
    users = {
        "cjg": make_user("deelnemer", org=cjg, name="Wim Wijkcoach", email="wim@cjg.example.test"),
        "police": make_user("deelnemer", org=police, name="Agent Anna", email="anna@politie.example.test"),
        "school": make_user("deelnemer", org=school, name="Juf Jet", email="jet@school.example.test"),
        "third": make_user("deelnemer", org=third, name="Derde Dirk", email="dirk@derde.example.test"),
    }
    return SimpleNamespace(orgs={"cjg": cjg, "police": police, "school": school, "third": third}, **users)


# --- reporting an involvement ---------------------------------------------------------------

def test_reporting_a_new_person_registers_person_and_involvement(app, world):
    client = client_for(app, world.cjg)
    page = client.get(REPORT_URL)
    assert page.status_code == 200 and world.cjg.email in html(page)  # the contact is pre-filled
    noor = person_of(report(client, world.cjg, bsn=VALID_BSN))
    assert (noor.first_name, noor.last_name, noor.birth_date, noor.bsn) == ("Noor", "Jansen", date(2012, 3, 4),
                                                                             VALID_BSN)
    involvement = db.session.scalar(select(Involvement))
    assert (involvement.person_id, involvement.organisation_id, involvement.contact_email) == (
        noor.id, world.orgs["cjg"].id, world.cjg.email)
    assert count(PersonLookup, PersonLookup.outcome == "nieuw") == 1
    assert count(Match) == 0
    page = html(client.get(f"/personen/{noor.id}"))
    assert "Betrokkenheid gemeld." in page and "Noor Jansen" in page
    for query in ("noor", "jansen", "N.J.", "2012", VALID_BSN):
        assert f"/personen/{noor.id}" in html(client.get("/personen", query_string={"q": query})), query
    assert f"/personen/{noor.id}" not in html(client.get("/personen?q=sem"))


def test_a_known_bsn_with_the_same_identity_joins_silently_and_makes_a_client_match(app, world):
    noor = person_of(report(client_for(app, world.cjg), world.cjg, bsn=VALID_BSN))
    police = client_for(app, world.police)
    response = report(police, world.police, bsn=VALID_BSN, first_name="noor", last_name="JANSEN",
                      address="Ergens Anders 5")
    assert person_of(response).id == noor.id  # no second person, no question asked
    assert count(Person) == 1
    assert count(PersonLookup, PersonLookup.outcome == "bekend_bsn") == 1
    match = db.session.scalar(select(Match))
    assert match.kind == "client"
    link = f"/matches/{match.id}"
    notices = db.session.scalars(select(Notification)).all()
    assert sorted((n.user_id, n.link) for n in notices) == sorted([(world.cjg.id, link), (world.police.id, link)])
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "involvement_match")).all()
    assert sorted(m.recipient for m in mails) == sorted([world.cjg.email, world.police.email])
    for mail in mails:
        assert mail.state == "queued" and link in mail.body
        for secret in ("Noor", "Jansen", noor.pseudonym, "2012", VALID_BSN, "Dorpsstraat", "Leiden"):
            assert secret not in mail.body and secret not in mail.subject
    # The address typed by the second reporter did not overwrite the person's.
    db.session.expire_all()
    assert db.session.get(Person, noor.id).address == "Dorpsstraat 1, Leiden"


def test_a_known_bsn_with_another_identity_looks_like_an_unknown_one_and_is_flagged(app, world):
    """Refusing would confirm the BSN is registered: the report goes through on a new person
    without the BSN (so no match, nothing disclosed) and the privacy officer gets a flag."""
    known = register(bsn=VALID_BSN)
    involve(known, world.cjg)
    client = client_for(app, world.police)
    response = report(client, world.police, bsn=VALID_BSN, first_name="Anna")
    assert response.status_code == 302
    assert "past niet" not in html(client.get(path_of(response)))  # no hint on the new person's page
    conflict = db.session.scalar(select(Person).where(Person.id != known.id))
    assert conflict.bsn is None and count(Match) == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.identity_conflict"))
    assert entry.meta["flag"] == "review" and entry.outcome == "denied"
    assert count(PersonLookup, PersonLookup.outcome == "geweigerd") == 1


def test_same_name_and_birth_date_without_bsn_offers_pseudonyms_then_the_choice(app, world):
    noor = register(municipality="Katwijk", address="Geheimstraat 9")
    involve(noor, world.cjg)
    client = client_for(app, world.police)
    before = snapshot()
    response = report(client, world.police, municipality="Leiden", address="")
    body = html(response)
    assert response.status_code == 422 and "Is dit dezelfde persoon?" in body
    assert f'value="{noor.id}"' in body and noor.pseudonym in body
    # Nothing about the candidate beyond the pseudonym: not where they live.
    assert "Katwijk" not in body and "Geheimstraat" not in body
    assert written(before) == {"person_lookup"}
    assert count(PersonLookup, PersonLookup.outcome == "kandidaten") == 1
    # A choice that is not among the candidates asks again.
    assert report(client, world.police, choice=NOBODY).status_code == 422
    assert count(Involvement) == 1
    response = report(client, world.police, choice=str(noor.id))
    assert person_of(response).id == noor.id
    assert db.session.scalar(select(Match.kind)) == "client"


def test_same_name_and_birth_date_choosing_new_registers_someone_else(app, world):
    noor = register()
    client = client_for(app, world.police)
    assert report(client, world.police).status_code == 422
    other = person_of(report(client, world.police, choice=ops.NEW_PERSON))
    assert other.id != noor.id and count(Person) == 2 and count(Match) == 0


def test_a_bsn_given_for_a_same_name_person_without_one_is_attached_on_choosing(app, world):
    noor = register()
    involve(noor, world.cjg)
    client = client_for(app, world.police)
    response = report(client, world.police, bsn=VALID_BSN)
    assert response.status_code == 422 and f'value="{noor.id}"' in html(response)
    db.session.expire_all()
    assert db.session.get(Person, noor.id).bsn is None  # not before the choice
    assert person_of(report(client, world.police, bsn=VALID_BSN, choice=str(noor.id))).id == noor.id
    db.session.expire_all()
    assert db.session.get(Person, noor.id).bsn == VALID_BSN
    # Someone with another BSN is certainly someone else: no question, a new person.
    other = person_of(report(client_for(app, world.school), world.school, bsn=OTHER_BSN))
    assert other.id != noor.id


FUTURE = (TODAY + timedelta(days=1)).isoformat()
BAD_REPORTS = [
    pytest.param({"bsn": "123456789"}, "het voldoet niet aan de elfproef", id="bsn-elfproef"),
    pytest.param({"bsn": "12345678"}, "het voldoet niet aan de elfproef", id="bsn-8-digits"),
    pytest.param({"bsn": "1234567820"}, "Een BSN bestaat uit 9 cijfers.", id="bsn-10-digits"),
    pytest.param({"bsn": "12345678a"}, "Een BSN bestaat uit 9 cijfers.", id="bsn-letters"),
    pytest.param({"birth_date": FUTURE}, "De geboortedatum ligt in de toekomst.", id="born-in-future"),
    pytest.param({"birth_date": "2012-13-45"}, "Ongeldige datum.", id="birth-date-malformed"),
    pytest.param({"birth_date": "04-03-2012"}, "Ongeldige datum.", id="birth-date-dutch-order"),
    pytest.param({"start_date": FUTURE}, "De startdatum ligt in de toekomst.", id="start-in-future"),
    pytest.param({"start_date": TODAY.isoformat(), "end_date": (TODAY - timedelta(days=1)).isoformat()},
                 "De einddatum ligt vóór de startdatum.", id="end-before-start"),
    pytest.param({"contact_name": ""}, "Dit veld is verplicht.", id="contact-name-empty"),
    pytest.param({"contact_email": "geen-adres"}, "Vul een geldig e-mailadres in.", id="contact-email-bad"),
    pytest.param({"first_name": ""}, "Dit veld is verplicht.", id="first-name-empty"),
    pytest.param({"first_name": "No\x00or"}, "Dit veld bevat ongeldige tekens.", id="first-name-nul"),
    pytest.param({"first_name": "N" * 101}, "Gebruik 1 tot 100 tekens.", id="first-name-too-long"),
    pytest.param({"reden": "zorgen over thuissituatie"}, "onbekende velden: reden", id="free-text-refused"),
    pytest.param({"birth_date": (TODAY.replace(year=TODAY.year - 24) if (TODAY.month, TODAY.day) != (2, 29)
                                 else date(TODAY.year - 24, 2, 28)).isoformat()},
                 "leeftijdsgrens", id="past-age-limit"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_REPORTS)
def test_bad_reports_are_refused_in_dutch_and_write_no_person(app, world, changes, message):
    client = client_for(app, world.cjg)
    before = snapshot()
    response = report(client, world.cjg, **changes)
    assert response.status_code == 422, html(response)
    body = html(response)
    assert message in body, body
    assert "Traceback" not in body and '<html lang="nl">' in body
    assert written(before) <= {"person_lookup"}  # a refused identification is still counted
    assert count(Person) == 0 and count(Involvement) == 0


def test_a_deceased_person_cannot_be_reported(app, world):
    noor = register(bsn=VALID_BSN)
    noor.date_of_death = TODAY - timedelta(days=3)
    db.session.commit()
    client = client_for(app, world.cjg)
    before = snapshot()
    response = report(client, world.cjg, bsn=VALID_BSN)
    assert response.status_code == 422 and "Deze persoon is overleden" in html(response)
    assert written(before) == {"person_lookup"}


def test_reporting_twice_for_the_same_organisation_is_refused(app, world):
    client = client_for(app, world.cjg)
    person_of(report(client, world.cjg, bsn=VALID_BSN))
    response = report(client, world.cjg, bsn=VALID_BSN)
    assert response.status_code == 422 and "al als betrokken geregistreerd" in html(response)
    assert count(Involvement) == 1


def test_a_report_without_csrf_token_is_refused(app, world):
    client = client_for(app, world.cjg)
    response = client.post(REPORT_URL, data=report_data(world.cjg))
    assert response.status_code == 400 and "Het formulier is verlopen of ongeldig" in html(response)
    assert count(Person) == 0 and count(PersonLookup) == 0


def test_too_many_look_ups_are_throttled_and_flagged(app, world):
    app.config["LOOKUP_LIMIT_PER_HOUR"] = 2
    try:
        client = client_for(app, world.police)
        register(bsn=VALID_BSN)
        for name in ("Anna", "Bea"):
            assert report(client, world.police, bsn=VALID_BSN, first_name=name).status_code == 302
        response = report(client, world.police, bsn=VALID_BSN)  # even a correct one, now
        assert response.status_code == 422 and "veel personen opgezocht" in html(response)
        assert count(Involvement) == 2  # the two before the limit
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.lookup_throttled"))
        assert entry.outcome == "denied" and entry.meta["flag"] == "review"
    finally:
        app.config["LOOKUP_LIMIT_PER_HOUR"] = 30


# --- the person page ------------------------------------------------------------------------

def test_the_own_organisation_sees_the_identity_with_a_masked_bsn(app, world):
    noor = register(bsn=VALID_BSN, address="Dorpsstraat 1, Leiden", municipality="Leiden")
    involve(noor, world.cjg)
    body = html(client_for(app, world.cjg).get(f"/personen/{noor.id}"))
    assert "Noor Jansen" in body and "2012-03-04" in body and "Dorpsstraat 1, Leiden" in body
    assert "•••••2333" in body and VALID_BSN not in body


def test_a_safety_flag_hides_the_address_even_from_the_own_organisation(app, world):
    noor = register(address="Geheimstraat 9", safety_flag=True)
    involve(noor, world.cjg)
    body = html(client_for(app, world.cjg).get(f"/personen/{noor.id}"))
    assert "Afgeschermd" in body and "Geheimstraat" not in body


@pytest.fixture
def household(world):
    """Sara (parent), Noor and Sem (children): the CJG is involved with Noor, the school
    with Sem (a family match), the police with nobody in it."""
    sara = register("Sara", "Jansen", date(1985, 1, 1), address="Dorpsstraat 1")
    noor, sem = register(bsn=VALID_BSN), register("Sem", "Jansen", date(2014, 6, 1))
    family = ops.compose_family([(sara, "ouder"), (noor, "kind"), (sem, "kind")], SYSTEM)
    db.session.commit()
    involve(noor, world.cjg)
    involve(sem, world.school)
    return SimpleNamespace(sara=sara, noor=noor, sem=sem, family=family)


def test_a_household_organisation_sees_the_pseudonym_only(app, world, household):
    body = html(client_for(app, world.school).get(f"/personen/{household.noor.id}"))
    assert household.noor.pseudonym in body
    for secret in ("Noor", "2012-03-04", "2333", "Dorpsstraat"):
        assert secret not in body
    parent = html(client_for(app, world.school).get(f"/personen/{household.sara.id}"))
    assert "Sara" not in parent and "Dorpsstraat" not in parent and household.sara.pseudonym in parent


def test_a_person_out_of_sight_answers_exactly_like_none_at_all(app, world, household):
    police = client_for(app, world.police)
    for path in ("", "/gezinslid"):
        hidden, missing = police.get(f"/personen/{household.noor.id}{path}"), police.get(f"/personen/{NOBODY}{path}")
        assert hidden.status_code == missing.status_code == 404
        assert same_page(hidden, missing)
    assert police.get("/personen/not-a-uuid").status_code == 404
    token = csrf_token(police, "/personen")
    for path in ("/notities", "/noodtoegang", "/instemming", "/instemming/1/intrekken",
                 f"/betrokkenheid/{NOBODY}/beeindigen"):
        hidden = police.post(f"/personen/{household.noor.id}{path}", data={"csrf_token": token})
        missing = police.post(f"/personen/{NOBODY}{path}", data={"csrf_token": token})
        assert hidden.status_code == missing.status_code == 404 and same_page(hidden, missing)
    listed = html(police.get("/personen?q=noor")) + html(police.get(f"/personen?q={VALID_BSN}"))
    assert household.noor.pseudonym not in listed and str(household.noor.id) not in listed


@pytest.mark.parametrize("role", ["beheerder", "privacy"])
def test_roles_without_person_work_are_refused_whatever_the_person(app, world, household, role):
    user = make_user(role, org=world.orgs["cjg"], totp=True)  # the CJG is involved with Noor
    client = client_for(app, user)
    for url in (f"/personen/{household.noor.id}", f"/personen/{NOBODY}", "/personen", REPORT_URL,
                f"/gezinnen/{household.family.id}", "/matches"):
        assert client.get(url).status_code == 403, url


def test_the_safety_flag_keeps_a_person_out_of_the_household_and_family_matches(app, world):
    sara = register("Sara", "Jansen", date(1985, 1, 1))
    noor, sem = register(safety_flag=True), register("Sem", "Jansen", date(2014, 6, 1))
    ops.compose_family([(sara, "ouder"), (noor, "kind"), (sem, "kind")], SYSTEM)
    db.session.commit()
    involve(noor, world.cjg)
    involve(sem, world.school)
    assert count(Match) == 0
    school = client_for(app, world.school)
    assert school.get(f"/personen/{noor.id}").status_code == 404
    sem_page = html(school.get(f"/personen/{sem.id}"))
    assert f"/personen/{noor.id}" not in sem_page and sara.pseudonym in sem_page
    family = html(school.get(f"/gezinnen/{db.session.scalar(select(Family.id))}"))
    assert f"/personen/{noor.id}" not in family and sem.pseudonym in family
    # The flagged person's own organisation still sees the household.
    assert sem.pseudonym in html(client_for(app, world.cjg).get(f"/personen/{noor.id}"))


def test_the_family_name_does_not_give_away_a_flagged_child(app, world):
    sara = register("Sara", "Jansen", date(1985, 1, 1))
    noor, sem = register(safety_flag=True), register("Sem", "Jansen", date(2014, 6, 1))
    ops.compose_family([(sara, "ouder"), (noor, "kind"), (sem, "kind")], SYSTEM)
    db.session.commit()
    involve(sem, world.school)
    school = client_for(app, world.school)
    for url in (f"/personen/{sem.id}", f"/gezinnen/{db.session.scalar(select(Family.id))}"):
        assert noor.pseudonym not in html(school.get(url)), url


# --- content through the gate ---------------------------------------------------------------

@pytest.fixture
def noted(world, household):
    """Notes by the CJG on Noor in two categories; the police joins Noor (a client match)."""
    for category in ("zorgen", "gezondheid"):
        note(household.noor, world.cjg, category)
    involve(household.noor, world.police)
    return household


def test_the_own_organisation_always_sees_its_notes(app, world, noted):
    body = html(client_for(app, world.cjg).get(f"/personen/{noted.noor.id}"))
    assert "MARKER-zorgen" in body and "MARKER-gezondheid" in body


def test_a_match_gives_a_purpose_and_the_covenant_decides_per_category(app, world, noted):
    body = html(client_for(app, world.police).get(f"/personen/{noted.noor.id}"))
    assert "signalering" in body and "Match in de verwijsindex" in body
    assert "MARKER-zorgen" in body and "MARKER-gezondheid" not in body
    line = "Er is informatie bij CJG Test — neem contact op met Wim Wijkcoach, 071 123 4567."
    assert body.count(line) == 1
    reads = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read",
                                                        AuditEntry.actor_user_id == world.police.id)).all()
    assert {(e.data_categories[0], e.outcome, e.purpose) for e in reads} == {
        ("zorgen", "allowed", "signalering"), ("gezondheid", "denied", "signalering")}
    assert all(e.meta.get("context") == "match" for e in reads)


def test_asking_for_a_purpose_the_context_does_not_give_shows_own_content_only(app, world, noted):
    note(noted.noor, world.police, "zorgen", "POLICE-OWN")
    body = html(client_for(app, world.police).get(f"/personen/{noted.noor.id}?doel=nazorg"))
    assert "Er is geen doel uit de context" in body and "“nazorg”" in body
    assert "POLICE-OWN" in body
    assert "MARKER-zorgen" not in body and "MARKER-gezondheid" not in body  # nazorg would allow zorgen
    assert "Er is informatie bij CJG Test" in body


def test_a_family_match_gives_signalering_which_the_covenant_gives_the_school_nothing_for(app, world, noted):
    # The school has a family match with the CJG (Noor and Sem share a parent): signalering,
    # for which the covenant gives the school no category.
    body = html(client_for(app, world.school).get(f"/personen/{noted.noor.id}"))
    assert "MARKER-" not in body and "Er is informatie bij CJG Test" in body


def emergency_setup(world):
    """The school sees Noor through the household (no parent, so no family match) and
    has no purpose from context."""
    noor, sem = register(), register("Sem", "Jansen", date(2014, 6, 1))
    ops.compose_family([(noor, "kind"), (sem, "broer_zus")], SYSTEM)
    db.session.commit()
    involve(noor, world.cjg)
    involve(sem, world.school)
    for category in ("zorgen", "gezondheid"):
        note(noor, world.cjg, category)
    assert count(Match) == 0
    return noor


REASON = "Acute zorg: het kind is vannacht niet thuisgekomen en de school zoekt contact."


@pytest.mark.parametrize(("reason", "message"), [
    ("te kort", "Gebruik 20 tot 500 tekens."),
    ("a" + " " * 30 + "b", "Geef een reden van minstens 20 tekens."),
    ("x" * 501, "Gebruik 20 tot 500 tekens."),
    ("", "Dit veld is verplicht."),
])
def test_emergency_access_needs_a_proper_reason(app, world, reason, message):
    noor = emergency_setup(world)
    school = client_for(app, world.school)
    url = f"/personen/{noor.id}"
    before = snapshot()
    response = post_form(school, f"{url}/noodtoegang", {"purpose": "nazorg", "reason": reason}, token_from=url)
    assert response.status_code == 302
    changed = written(before)
    assert count(PurposeClaim) == 0 and "purpose_claim" not in changed
    assert count(AuditEntry, AuditEntry.action == "content.emergency_access") == 0
    assert message in flashed(school, url)


def test_emergency_access_for_an_unknown_purpose_is_refused(app, world):
    noor = emergency_setup(world)
    school = client_for(app, world.school)
    url = f"/personen/{noor.id}"
    response = post_form(school, f"{url}/noodtoegang", {"purpose": "nieuwsgierigheid", "reason": REASON},
                         token_from=url)
    assert response.status_code == 302 and count(PurposeClaim) == 0
    assert "Ongeldige keuze" in flashed(school, url)


def test_emergency_access_is_audited_flagged_bounded_by_the_covenant_and_expires(app, world):
    noor = emergency_setup(world)
    school = client_for(app, world.school)
    url = f"/personen/{noor.id}"
    assert "MARKER-" not in html(school.get(url))
    assert school.post(f"{url}/noodtoegang", data={"purpose": "nazorg", "reason": REASON}).status_code == 400
    response = post_form(school, f"{url}/noodtoegang", {"purpose": "nazorg", "reason": REASON}, token_from=url)
    assert response.status_code == 302 and "doel=nazorg" in response.headers["Location"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "content.emergency_access"))
    assert (entry.outcome, entry.purpose, entry.meta["flag"]) == ("emergency", "nazorg", "review")
    assert entry.actor_user_id == world.school.id and REASON not in str(entry.meta)
    claim = db.session.scalar(select(PurposeClaim))
    assert claim.reason == REASON
    assert claim.expires_at - claim.created_at == timedelta(minutes=app.config["EMERGENCY_ACCESS_MINUTES"])
    body = html(school.get(response.headers["Location"]))
    assert "Noodtoegang (wordt beoordeeld)" in body
    assert "MARKER-zorgen" in body and "MARKER-gezondheid" not in body  # the covenant still decides
    assert "MARKER-zorgen" in html(school.get(url))  # the claim is the page's purpose while it lasts
    # The claim is for nazorg only: another purpose gives nothing.
    assert "MARKER-" not in html(school.get(f"{url}?doel=signalering"))
    # Time travel: the claim has expired.
    db.session.execute(update(PurposeClaim).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert "MARKER-" not in html(school.get(url)) and "MARKER-" not in html(school.get(f"{url}?doel=nazorg"))


def test_an_organisation_that_left_the_covenant_cannot_claim_emergency_access(app, world):
    noor = emergency_setup(world)
    orgs = world.orgs
    create_covenant_version(CovenantSpec(
        version="school-vertrokken", title="Testconvenant", valid_from=TODAY - timedelta(days=1), valid_until=None,
        purposes=PURPOSES, categories=CATEGORIES,
        parties=[PartySpec(orgs["cjg"].id, "cjg", TODAY - timedelta(days=30), None),
                 PartySpec(orgs["school"].id, "school", TODAY - timedelta(days=30), TODAY)],
        rules=[allow(orgs["school"], "zorgen", "nazorg")]), SYSTEM)
    db.session.commit()
    school = client_for(app, world.school)
    url = f"/personen/{noor.id}"
    before = snapshot()
    response = post_form(school, f"{url}/noodtoegang", {"purpose": "nazorg", "reason": REASON}, token_from=url)
    assert response.status_code == 302
    assert count(PurposeClaim) == 0 and "purpose_claim" not in written(before)
    page = flashed(school, url)
    assert "Uw organisatie is geen partij bij het convenant dat nu geldt" in page and "MARKER-" not in page


def test_without_a_covenant_in_force_notes_and_emergency_access_are_refused(app):
    org = make_org("CJG Zonder", "cjg")
    make_covenant(org, valid_from=TODAY - timedelta(days=60), valid_until=TODAY - timedelta(days=1))  # expired
    user = make_user("deelnemer", org=org)
    noor = register()
    involve(noor, user)
    client = client_for(app, user)
    url = f"/personen/{noor.id}"
    page = client.get(url)
    assert page.status_code == 200 and "Notitie toevoegen" not in html(page)
    before = snapshot()
    post_form(client, f"{url}/notities", {"category": "zorgen", "text": "Tekst"}, token_from=url)
    post_form(client, f"{url}/noodtoegang", {"purpose": "nazorg", "reason": REASON}, token_from=url)
    assert written(before) == set()
    assert "Ongeldige keuze" in flashed(client, url)


# --- notes ----------------------------------------------------------------------------------

def test_adding_a_note_as_the_own_organisation(app, world, household):
    cjg = client_for(app, world.cjg)
    url = f"/personen/{household.noor.id}"
    response = post_form(cjg, f"{url}/notities", {"category": "zorgen", "text": "  Eerste <b>notitie</b>  "},
                         token_from=url)
    assert response.status_code == 302
    saved = db.session.scalar(select(Note))
    assert (saved.category, saved.text, saved.organisation_id) == ("zorgen", "Eerste <b>notitie</b>",
                                                                   world.orgs["cjg"].id)
    body = flashed(cjg, url)
    assert "Notitie opgeslagen." in body and "Eerste &lt;b&gt;notitie&lt;/b&gt;" in body


@pytest.mark.parametrize(("data", "message"), [
    ({"category": "zorgen", "text": ""}, "Dit veld is verplicht."),
    ({"category": "zorgen", "text": "   \n  "}, "Dit veld is verplicht."),
    ({"category": "zorgen", "text": "x" * 10_001}, "Gebruik hoogstens 10000 tekens."),
    ({"category": "zorgen", "text": "bel \x07 mij"}, "De notitie bevat ongeldige tekens."),
    ({"category": "roddels", "text": "tekst"}, "Ongeldige keuze"),
    ({"category": "zorgen", "text": "tekst", "reden": "x"}, "onbekende velden"),
])
def test_bad_notes_are_refused_and_write_nothing(app, world, household, data, message):
    cjg = client_for(app, world.cjg)
    url = f"/personen/{household.noor.id}"
    before = snapshot()
    response = post_form(cjg, f"{url}/notities", data, token_from=url)
    assert response.status_code == 302
    assert written(before) == set() and count(Note) == 0
    assert message in flashed(cjg, url)


def test_only_the_involved_organisation_adds_notes(app, world, household):
    school = client_for(app, world.school)  # sees Noor through the household
    url = f"/personen/{household.noor.id}"
    assert 'action="/personen/' + str(household.noor.id) + '/notities"' not in html(school.get(url))
    response = post_form(school, f"{url}/notities", {"category": "zorgen", "text": "tekst"}, token_from=url)
    assert response.status_code == 404 and count(Note) == 0
    cjg = client_for(app, world.cjg)
    assert cjg.post(f"{url}/notities", data={"category": "zorgen", "text": "tekst"}).status_code == 400
    assert count(Note) == 0


# --- household members ----------------------------------------------------------------------

def member_data(first: str, born: str, relation: str, bsn: str = "", **extra: str) -> dict[str, str]:
    return identity(first, "Jansen", born, bsn, address="", municipality="") | {"relation": relation} | extra


def add_member(client: FlaskClient, anchor: Person, data: dict[str, str]):
    url = f"/personen/{anchor.id}/gezinslid"
    return post_form(client, url, data)


def test_adding_household_members_composes_the_family(app, world):
    cjg = client_for(app, world.cjg)
    noor = person_of(report(cjg, world.cjg))
    assert cjg.get(f"/personen/{noor.id}/gezinslid").status_code == 200
    response = add_member(cjg, noor, member_data("Sara", "1985-01-01", "ouder", OTHER_BSN, anchor_relation="kind"))
    assert response.status_code == 302 and path_of(response) == f"/personen/{noor.id}"
    family = db.session.scalar(select(Family))
    assert {(m.person.first_name, m.relation) for m in family.members} == {("Noor", "kind"), ("Sara", "ouder")}
    assert add_member(cjg, noor, member_data("Sem", "2014-06-01", "kind")).status_code == 302
    db.session.expire_all()
    family = db.session.get(Family, family.id)
    assert sorted(m.person.first_name for m in family.members) == ["Noor", "Sara", "Sem"]
    assert count(Family) == 1
    page = html(cjg.get(f"/personen/{noor.id}"))
    assert family.pseudonym in page and "S.J. (1985)" in page and "S.J. (2014)" in page
    # The same person twice: refused, nothing written but the look-up.
    before = snapshot()
    response = add_member(cjg, noor, member_data("Sara", "1985-01-01", "ouder", OTHER_BSN))
    assert response.status_code == 422 and "Deze persoon hoort al bij het gezin." in html(response)
    assert written(before) == {"person_lookup"}
    # The person themself: refused too.
    response = add_member(cjg, noor, member_data("Noor", "2012-03-04", "kind", choice=str(noor.id)))
    assert response.status_code == 422 and "Dit is dezelfde persoon." in html(response)


@pytest.mark.parametrize(("data", "message"), [
    ({"relation": "oom"}, "Ongeldige keuze"),
    ({"birth_date": FUTURE}, "De geboortedatum ligt in de toekomst."),
    ({"bsn": "123456789"}, "elfproef"),
    ({"reden": "x"}, "onbekende velden"),
])
def test_bad_household_members_are_refused(app, world, household, data, message):
    cjg = client_for(app, world.cjg)
    before = snapshot()
    response = add_member(cjg, household.noor, member_data("Opa", "1950-01-01", "anders") | data)
    assert response.status_code == 422 and message in html(response)
    assert written(before) <= {"person_lookup"}


def test_only_the_involved_organisation_adds_household_members(app, world, household):
    school = client_for(app, world.school)
    assert school.get(f"/personen/{household.noor.id}/gezinslid").status_code == 404
    token = csrf_token(school, f"/personen/{household.sem.id}/gezinslid")
    response = school.post(f"/personen/{household.noor.id}/gezinslid",
                           data=member_data("Opa", "1950-01-01", "anders") | {"csrf_token": token})
    assert response.status_code == 404 and count(Person) == 3


def test_adding_a_child_that_shares_a_parent_makes_a_family_match(app, world):
    cjg, police = client_for(app, world.cjg), client_for(app, world.police)
    noor = person_of(report(cjg, world.cjg))
    sem = person_of(report(police, world.police, **identity("Sem", born="2014-06-01", bsn=OTHER_BSN)))
    assert count(Match) == 0
    add_member(cjg, noor, member_data("Sara", "1985-01-01", "ouder", anchor_relation="kind"))
    assert count(Match) == 0  # no other organisation in the household yet
    response = add_member(cjg, noor, member_data("Sem", "2014-06-01", "kind", OTHER_BSN))
    assert response.status_code == 302, html(response)
    match = db.session.scalar(select(Match))
    assert match.kind == "gezin"
    assert {match.first.person_id, match.second.person_id} == {noor.id, sem.id}
    assert count(Notification) == 2
    # The police now sees Noor through the household, as a pseudonym.
    body = html(police.get(f"/personen/{noor.id}"))
    assert noor.pseudonym in body and "Noor" not in body


def test_no_family_match_when_the_child_has_the_safety_flag(app, world):
    cjg, police = client_for(app, world.cjg), client_for(app, world.police)
    noor = person_of(report(cjg, world.cjg))
    sem = person_of(report(police, world.police, **identity("Sem", born="2014-06-01", bsn=OTHER_BSN),
                           safety_flag="y"))
    assert sem.safety_flag
    add_member(cjg, noor, member_data("Sara", "1985-01-01", "ouder", anchor_relation="kind"))
    assert add_member(cjg, noor, member_data("Sem", "2014-06-01", "kind", OTHER_BSN)).status_code == 302
    assert count(Match) == 0
    assert len(db.session.scalar(select(Family)).members) == 3
    # Out of the household's sight, even for the organisation that added them.
    assert cjg.get(f"/personen/{sem.id}").status_code == 404
    assert sem.pseudonym not in html(cjg.get(f"/personen/{noor.id}"))


# --- consent --------------------------------------------------------------------------------

def born_years_ago(years: int) -> date:
    return date(TODAY.year - years, 1, 1)


def consent_data(given_by: str, step: str = "contact", organisation_id: str = "", **extra: str) -> dict[str, str]:
    return {"step": step, "organisation_id": organisation_id, "given_by": given_by, "form": "mondeling",
            "given_on": TODAY.isoformat()} | extra


@pytest.mark.parametrize(("age", "given_by", "ok"), [
    (10, "ouder", True), (10, "jongere", False), (10, "ouder_en_jongere", False),
    (13, "ouder_en_jongere", True), (13, "ouder", False), (13, "jongere", False),
    (17, "jongere", True), (17, "ouder_en_jongere", True), (17, "ouder", False),
])
def test_consent_through_the_page_follows_the_age_rules(app, world, age, given_by, ok):
    youth = register(born=born_years_ago(age))
    involve(youth, world.cjg)
    cjg = client_for(app, world.cjg)
    url = f"/personen/{youth.id}"
    response = post_form(cjg, f"{url}/instemming", consent_data(given_by), token_from=url)
    assert response.status_code == 302
    page = flashed(cjg, url)
    if ok:
        assert count(Consent) == 1 and "Instemming vastgelegd." in page
    else:
        assert count(Consent) == 0 and f"Op {age}-jarige leeftijd geeft" in page


@pytest.mark.parametrize(("data", "message"), [
    ({"step": "delen_met_organisatie"}, "Kies de organisatie waarmee gedeeld mag worden."),
    ({"step": "delen_met_organisatie", "organisation_id": NOBODY}, "Kies de organisatie waarmee gedeeld mag worden."),
    ({"step": "onbekend"}, "Ongeldige keuze"),
    ({"given_on": FUTURE}, "De datum van instemming ligt in de toekomst."),
    ({"given_on": "gisteren"}, "Ongeldige datum."),
    ({"form": "telepathisch"}, "Ongeldige keuze"),
])
def test_bad_consent_is_refused_and_writes_nothing(app, world, data, message):
    youth = register(born=born_years_ago(17))
    involve(youth, world.cjg)
    cjg = client_for(app, world.cjg)
    url = f"/personen/{youth.id}"
    before = snapshot()
    assert post_form(cjg, f"{url}/instemming", consent_data("jongere") | data, token_from=url).status_code == 302
    assert written(before) == set()
    assert message in flashed(cjg, url)


def test_sharing_consent_names_the_organisation_and_withdrawing_twice_says_so(app, world):
    youth = register(born=born_years_ago(17))
    involve(youth, world.cjg)
    cjg = client_for(app, world.cjg)
    url = f"/personen/{youth.id}"
    police_id = str(world.orgs["police"].id)
    post_form(cjg, f"{url}/instemming", consent_data("jongere", "delen_met_organisatie", police_id), token_from=url)
    consent = db.session.scalar(select(Consent))
    assert (consent.step, str(consent.organisation_id)) == ("delen_met_organisatie", police_id)
    assert "Delen met organisatie: Politie Test" in html(cjg.get(url))
    withdraw = f"{url}/instemming/{consent.id}/intrekken"
    assert cjg.post(withdraw).status_code == 400  # no CSRF token
    assert post_form(cjg, withdraw, {}, token_from=url).status_code == 302
    assert "Instemming ingetrokken" in flashed(cjg, url)
    db.session.expire_all()
    assert db.session.get(Consent, consent.id).withdrawn_on == TODAY
    before = snapshot()
    assert post_form(cjg, withdraw, {}, token_from=url).status_code == 302
    assert written(before) == set()
    assert "Deze instemming is al ingetrokken." in flashed(cjg, url)


def test_consent_of_another_person_cannot_be_reached_by_id(app, world, household):
    add_consent(ops.subject_of(household.sem), household.sem.id, ConsentSpec("contact", "ouder", "mondeling", TODAY),
                SYSTEM)
    db.session.commit()
    theirs = db.session.scalar(select(Consent))
    cjg = client_for(app, world.cjg)
    url = f"/personen/{household.noor.id}"
    assert post_form(cjg, f"{url}/instemming/{theirs.id}/intrekken", {}, token_from=url).status_code == 404
    assert post_form(cjg, f"{url}/instemming/999999/intrekken", {}, token_from=url).status_code == 404
    # Sem is the school's: the CJG reaches him through the household only, not his consent.
    assert post_form(cjg, f"/personen/{household.sem.id}/instemming/{theirs.id}/intrekken", {},
                     token_from=url).status_code == 404
    assert 'id="instemming"' not in html(cjg.get(f"/personen/{household.sem.id}"))
    db.session.expire_all()
    assert db.session.get(Consent, theirs.id).withdrawn_on is None


# --- ending an involvement ------------------------------------------------------------------

def test_ending_the_own_involvement(app, world, household):
    involve(household.noor, world.police)
    cjg = client_for(app, world.cjg)
    url = f"/personen/{household.noor.id}"
    own = db.session.scalar(select(Involvement).where(Involvement.organisation_id == world.orgs["cjg"].id))
    police = db.session.scalar(select(Involvement).where(Involvement.organisation_id == world.orgs["police"].id))
    school = db.session.scalar(select(Involvement).where(Involvement.organisation_id == world.orgs["school"].id))
    # Another organisation's involvement on this person: refused, unchanged.
    response = post_form(cjg, f"{url}/betrokkenheid/{police.id}/beeindigen", {}, token_from=url)
    assert response.status_code == 302 and "Alleen de eigen organisatie" in flashed(cjg, url)
    # An involvement on someone else (Sem, the school's): not found.
    assert post_form(cjg, f"{url}/betrokkenheid/{school.id}/beeindigen", {}, token_from=url).status_code == 404
    assert post_form(cjg, f"{url}/betrokkenheid/{NOBODY}/beeindigen", {}, token_from=url).status_code == 404
    assert cjg.post(f"{url}/betrokkenheid/{own.id}/beeindigen").status_code == 400  # no CSRF token
    db.session.expire_all()
    assert {i.status for i in db.session.scalars(select(Involvement))} == {"actief"}
    response = post_form(cjg, f"{url}/betrokkenheid/{own.id}/beeindigen", {}, token_from=url)
    assert response.status_code == 302 and path_of(response) == "/personen"
    db.session.expire_all()
    assert (db.session.get(Involvement, own.id).status, db.session.get(Involvement, police.id).status) == (
        "beeindigd", "actief")
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "involvement.ended"))
    assert entry.object_id == str(own.id)
    assert cjg.get(url).status_code == 404  # no longer involved, not in the household of anyone it is


# --- the family page ------------------------------------------------------------------------

def test_the_family_page_is_for_organisations_involved_with_a_member(app, world, household):
    url = f"/gezinnen/{household.family.id}"
    police = client_for(app, world.police)
    hidden, missing = police.get(url), police.get(f"/gezinnen/{NOBODY}")
    assert hidden.status_code == missing.status_code == 404 and same_page(hidden, missing)
    assert police.get("/gezinnen/x").status_code == 404
    body = html(client_for(app, world.school).get(url))
    for who in (household.sara, household.noor, household.sem):
        assert who.pseudonym in body
    assert "CJG Test: Wim Wijkcoach" in body and "School Test: Juf Jet" in body
    assert "Noor" not in body and "Sara" not in body


def test_the_family_page_shows_each_members_content_through_the_gate(app, world, household):
    note(household.noor, world.cjg, "zorgen", "NOOR-ZORGEN")
    note(household.noor, world.cjg, "gezondheid", "NOOR-GEZONDHEID")
    note(household.sem, world.school, "zorgen", "SEM-ZORGEN")
    note(household.sem, world.school, "gezondheid", "SEM-GEZONDHEID")
    # The police joins Sem: a client match with the school and a family match with the
    # CJG (Noor), so signalering for both children; the parent has no match and no context.
    involve(household.sem, world.police)
    assert sorted(db.session.scalars(select(Match.kind))) == ["client", "gezin", "gezin"]
    url = f"/gezinnen/{household.family.id}"
    police = html(client_for(app, world.police).get(url))
    assert "SEM-ZORGEN" in police and "NOOR-ZORGEN" in police  # zorgen for signalering
    assert "GEZONDHEID" not in police
    assert "Er is informatie bij CJG Test — neem contact op met Wim Wijkcoach" in police
    assert "Er is informatie bij School Test — neem contact op met Juf Jet" in police
    assert police.count("Doel: <strong>signalering</strong>") == 2
    assert "Geen doel uit de context" in police  # Sara's section
    cjg = html(client_for(app, world.cjg).get(url))
    assert "NOOR-ZORGEN" in cjg and "NOOR-GEZONDHEID" in cjg  # its own
    assert "SEM-" not in cjg  # signalering gives the CJG nothing from the school
    reads = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read",
                                                        AuditEntry.actor_user_id == world.police.id)).all()
    assert {(e.data_categories[0], e.outcome) for e in reads} == {("zorgen", "allowed"), ("gezondheid", "denied")}
