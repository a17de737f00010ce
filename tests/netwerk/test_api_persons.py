"""The JSON API for persons, families, involvements, matches and notes: the same answers as
the HTML pages, a person the caller may not know of is indistinguishable from no one,
content only through the privacy gate (with its audit entries), refusals in Dutch with
nothing written, and every answer true to the OpenAPI document."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import (
    Family,
    Involvement,
    Match,
    Note,
    Notification,
    Person,
    PersonLookup,
    PurposeClaim,
    User,
)
from privacy.models import AuditEntry, Consent
from privacy.operations import CovenantSpec, PartySpec, create_covenant_version
from tests.factories import CATEGORIES, PURPOSES, SYSTEM, allow, make_covenant, make_org, make_user
from tests.netwerk.test_api import assert_error, bearer, response_schema, schema_validator, token_for

TODAY = date.today()
NOOR = {"first_name": "Noor", "last_name": "Jansen", "birth_date": "2012-03-04", "bsn": "111222333",
        "municipality": "Leiden", "address": "Breestraat 1"}
GHOST = "00000000-0000-4000-8000-000000000000"


def count(model: type) -> int:
    query = select(func.count()).select_from(model)
    if model is AuditEntry:
        # Every API request audits the token's use; these tests count what else was written.
        query = query.where(AuditEntry.action != "auth.token_used")
    return db.session.scalar(query)


def counts() -> dict[str, int]:
    return {m.__name__: count(m) for m in (Person, Involvement, Match, Note, PurposeClaim, Consent, Family)}


class Api:
    """One user's bearer-token client, checking every answer against the OpenAPI document."""

    def __init__(self, client: FlaskClient, user: User, document: dict) -> None:
        self.client, self.user, self.document = client, user, document
        self.headers = bearer(token_for(client, user))

    def call(self, method: str, path: str, documented: str | None = None, **kwargs):
        response = self.client.open("/api/v1" + path, method=method, headers=self.headers, **kwargs)
        template = documented or path.split("?")[0]
        ref = response_schema(self.document, template, method.lower(), response.status_code)
        if ref is not None:
            schema_validator(self.document, ref).validate(response.get_json())
        return response

    def get(self, path: str, documented: str | None = None, **kwargs):
        return self.call("GET", path, documented, **kwargs)

    def post(self, path: str, documented: str | None = None, **kwargs):
        return self.call("POST", path, documented, **kwargs)

    def report(self, person: dict | None = None, **extra):
        body = {"person": person or NOOR, "contact_name": self.user.name, "contact_email": self.user.email,
                "contact_phone": "071 123 4567", "start_date": TODAY.isoformat()} | extra
        return self.post("/involvements", json=body)


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def world(app, client, document):
    cjg = make_org("CJG Test", "cjg")
    police = make_org("Politie Test", "politie", "veiligheid")
    school = make_org("School Test", "school", "onderwijs")
    make_covenant(cjg, police, school, rules=[allow(police, "zorgen", "signalering")])
    users = {"cjg": make_user("deelnemer", org=cjg, name="Wijkcoach Wim", email="wim@cjg.example.test"),
             "police": make_user("deelnemer", org=police, name="Agent Anna", email="anna@politie.example.test"),
             "school": make_user("deelnemer", org=school, name="Juf Jet", email="jet@school.example.test")}
    apis = {name: Api(client, user, document) for name, user in users.items()}
    return {"orgs": {"cjg": cjg, "police": police, "school": school}, "users": users, **apis}


def noor_reported(world) -> str:
    response = world["cjg"].report()
    assert response.status_code == 201, response.get_json()
    return response.get_json()["person_id"]


# --- reporting and reading at the "that" level -------------------------------------------------

def test_report_then_read_the_person(world):
    response = world["cjg"].report()
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"id", "person_id"}
    involvement = db.session.get(Involvement, uuid.UUID(body["id"]))
    assert (str(involvement.person_id), involvement.organisation_id) == (body["person_id"],
                                                                        world["orgs"]["cjg"].id)
    person = world["cjg"].get(f"/persons/{body['person_id']}", "/persons/{person_id}").get_json()
    assert person == {
        "id": body["person_id"], "pseudonym": "N.J. (2012)", "birth_year": 2012, "relation": "betrokken",
        "first_name": "Noor", "last_name": "Jansen", "birth_date": "2012-03-04", "municipality": "Leiden",
        "address": "Breestraat 1", "safety_flag": False, "family_id": None, "match_ids": [],
        "involvements": [{"id": body["id"], "organisation": {"id": str(world["orgs"]["cjg"].id), "name": "CJG Test"},
                          "contact_name": "Wijkcoach Wim", "contact_phone": "071 123 4567",
                          "contact_email": "wim@cjg.example.test", "start_date": TODAY.isoformat(),
                          "status": "actief"}],
    }
    for q in ("noor", "N.J.", "2012", "111222333"):
        listed = world["cjg"].get(f"/persons?q={q}").get_json()
        assert listed == {"persons": [{"id": body["person_id"], "pseudonym": "N.J. (2012)", "birth_year": 2012,
                                       "relation": "betrokken"}]}, q
    assert world["cjg"].get("/persons?q=Pietersen").get_json() == {"persons": []}
    # Nobody else knows of her: not in their list, and her page is a 404.
    assert world["school"].get("/persons").get_json() == {"persons": []}
    assert world["school"].get("/persons?q=111222333").get_json() == {"persons": []}
    assert_error(world["school"].get(f"/persons/{body['person_id']}", "/persons/{person_id}"), 404)


def test_a_safety_flag_hides_the_address(world):
    response = world["cjg"].report(NOOR | {"safety_flag": True})
    person = world["cjg"].get(f"/persons/{response.get_json()['person_id']}", "/persons/{person_id}").get_json()
    assert person["safety_flag"] is True and person["address"] is None
    assert "Breestraat" not in str(person)


def _family(world) -> dict[str, Person]:
    """Mother Sara, children Noor (CJG involved) and Sem (police involved), and Lotte under a
    safety flag; the school is involved with no one."""
    born = {"sara": date(1985, 1, 1), "noor": date(2012, 3, 4), "sem": date(2014, 6, 1), "lotte": date(2016, 2, 2)}
    people = {name: ops.register_person(ops.PersonData(name.title(), "Jansen", day, safety_flag=name == "lotte"),
                                        SYSTEM, TODAY, confirmed_new=True) for name, day in born.items()}
    ops.compose_family([(people["sara"], "ouder"), (people["noor"], "kind"), (people["sem"], "kind"),
                        (people["lotte"], "kind")], SYSTEM)
    for name, org in (("noor", "cjg"), ("sem", "police")):
        ops.register_involvement(people[name], ops.InvolvementData(
            world["orgs"][org].id, f"Contact {org}", f"{org}@example.test", TODAY), SYSTEM, TODAY)
    db.session.commit()
    return people


def test_family_members_at_the_that_level(world):
    people = _family(world)
    family = db.session.scalar(select(Family))
    body = world["cjg"].get(f"/families/{family.id}", "/families/{family_id}").get_json()
    assert body["id"] == str(family.id) and body["pseudonym"] == family.pseudonym
    members = {m["pseudonym"]: m for m in body["members"]}
    assert set(members) == {"S.J. (1985)", "N.J. (2012)", "S.J. (2014)"}  # not Lotte (safety flag)
    noor, sem, sara = members["N.J. (2012)"], members["S.J. (2014)"], members["S.J. (1985)"]
    assert (noor["relation"], noor["family_relation"]) == ("betrokken", "kind")
    assert (sem["relation"], sara["relation"], sara["family_relation"]) == ("gezin", "gezin", "ouder")
    assert [i["organisation"]["name"] for i in sem["involvements"]] == ["Politie Test"]
    assert sara["involvements"] == []
    assert set(sem) == {"id", "pseudonym", "birth_year", "family_relation", "relation", "involvements"}
    # A household member is known at the "that" level only: no name, no notes of one's own.
    sem_page = world["cjg"].get(f"/persons/{people['sem'].id}", "/persons/{person_id}").get_json()
    assert sem_page["relation"] == "gezin" and sem_page["family_id"] == str(family.id)
    assert {sem_page[k] for k in ("first_name", "last_name", "birth_date", "municipality", "address",
                                  "safety_flag")} == {None}
    assert_error(world["cjg"].post(f"/persons/{people['sem'].id}/notes", "/persons/{person_id}/notes",
                                   json={"category": "zorgen", "text": "Mag niet"}), 404)
    assert_error(world["cjg"].get(f"/persons/{people['lotte'].id}", "/persons/{person_id}"), 404)


def test_invisible_and_missing_answer_identically(world):
    _family(world)
    family = db.session.scalar(select(Family))
    other = ops.register_person(ops.PersonData("Ali", "Bakker", date(2010, 1, 1)), SYSTEM, TODAY)
    for org in ("police", "cjg"):  # a client match the school is no party to
        ops.register_involvement(other, ops.InvolvementData(world["orgs"][org].id, "Contact", f"{org}@x.example.test",
                                                            TODAY), SYSTEM, TODAY)
    db.session.commit()
    match_id = db.session.scalar(select(Match.id).where(Match.kind == "client"))
    api, before = world["school"], counts()

    def answers(method: str, template: str, ids: tuple, body: dict | None = None) -> list:
        found = []
        for value in ids:
            path = template.replace("{consent_id}", "1")
            path = path.replace("{person_id}", value).replace("{family_id}", value).replace("{match_id}", value)
            response = api.call(method, path, template, **({"json": body} if body is not None else {}))
            found.append((response.status_code, response.get_json()))
        assert found[0][0] == 404 and found.count(found[0]) == len(found), (template, found)
        return found

    persons = (str(other.id), GHOST, "geen-uuid")
    answers("GET", "/persons/{person_id}", persons)
    answers("GET", "/persons/{person_id}/notes", persons)
    answers("POST", "/persons/{person_id}/notes", persons, {"category": "zorgen", "text": "Een notitie"})
    answers("POST", "/persons/{person_id}/emergency-access", persons,
            {"purpose": "signalering", "reason": "Acute zorgen over de veiligheid van het kind."})
    answers("POST", "/persons/{person_id}/consents", persons,
            {"step": "contact", "given_by": "ouder", "form": "mondeling", "given_on": TODAY.isoformat()})
    answers("POST", "/persons/{person_id}/consents/{consent_id}/withdrawal", persons)
    answers("GET", "/families/{family_id}", (str(family.id), GHOST, "x"))
    answers("GET", "/matches/{match_id}", (str(match_id), GHOST, "x"))
    answers("POST", "/matches/{match_id}/acknowledgement", (str(match_id), GHOST, "x"), {})
    assert api.get("/matches").get_json() == {"matches": []}
    assert api.get("/persons").get_json() == {"persons": []}
    assert counts() == before


# --- the second organisation, the client match and content through the gate --------------------

def test_second_organisation_gets_a_match_and_reads_what_the_covenant_allows(world):
    person_id = noor_reported(world)
    cjg = world["cjg"]
    for category, text in (("zorgen", "MARKER-ZORGEN"), ("gezondheid", "MARKER-GEZONDHEID")):
        response = cjg.post(f"/persons/{person_id}/notes", "/persons/{person_id}/notes",
                            json={"category": category, "text": text})
        assert response.status_code == 201
    zorgen = db.session.scalar(select(Note).where(Note.category == "zorgen"))
    # Before any match the police may not even know she exists.
    assert_error(world["police"].get(f"/persons/{person_id}/notes", "/persons/{person_id}/notes"), 404)

    response = world["police"].report()  # the same BSN, name and birth date: the same person
    assert response.status_code == 201 and response.get_json()["person_id"] == person_id
    assert count(Person) == 1
    match = db.session.scalar(select(Match))
    assert match.kind == "client"
    police = world["police"]
    page = police.get(f"/persons/{person_id}", "/persons/{person_id}").get_json()
    assert page["match_ids"] == [str(match.id)] and len(page["involvements"]) == 2
    listed = police.get("/matches").get_json()["matches"]
    assert [m["id"] for m in listed] == [str(match.id)]
    assert {p["organisation"]["name"] for p in listed[0]["parties"]} == {"CJG Test", "Politie Test"}
    assert {p["person"]["pseudonym"] for p in listed[0]["parties"]} == {"N.J. (2012)"}

    seq = db.session.scalar(select(func.max(AuditEntry.seq)))
    body = police.get(f"/persons/{person_id}/notes?purpose=signalering", "/persons/{person_id}/notes").get_json()
    assert body["purpose"] == "signalering" and body["context"] == "match"
    assert [(n["id"], n["category"], n["organisation"], n["text"]) for n in body["notes"]] == [
        (str(zorgen.id), "zorgen", "CJG Test", "MARKER-ZORGEN")]
    assert body["notes"][0]["written_on"] == TODAY.isoformat()
    assert body["withheld"] == ["Er is informatie bij CJG Test — neem contact op met Wijkcoach Wim, 071 123 4567."]
    assert "MARKER-GEZONDHEID" not in str(body)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > seq,
                                                          AuditEntry.action == "content.read")).all()
    allowed = [e for e in entries if e.outcome == "allowed"]
    assert len(allowed) == 1 and allowed[0].meta["notes"] == [str(zorgen.id)]
    assert (allowed[0].purpose, allowed[0].meta["context"], allowed[0].actor_user_id) == (
        "signalering", "match", world["users"]["police"].id)
    assert [e.data_categories for e in entries if e.outcome == "denied"] == [["gezondheid"]]
    # Without ?purpose= the first purpose the context gives is used.
    assert police.get(f"/persons/{person_id}/notes", "/persons/{person_id}/notes").get_json() == body


def test_own_notes_without_a_purpose(world):
    person_id = noor_reported(world)
    world["cjg"].post(f"/persons/{person_id}/notes", "/persons/{person_id}/notes",
                      json={"category": "gezondheid", "text": "  Eigen notitie  "})
    body = world["cjg"].get(f"/persons/{person_id}/notes", "/persons/{person_id}/notes").get_json()
    assert (body["purpose"], body["context"], body["withheld"]) == (None, None, [])
    assert [n["text"] for n in body["notes"]] == ["Eigen notitie"]


def test_a_purpose_without_context_is_403_until_emergency_access(world):
    person_id = noor_reported(world)
    world["cjg"].post(f"/persons/{person_id}/notes", "/persons/{person_id}/notes",
                      json={"category": "zorgen", "text": "MARKER-ZORGEN"})
    # The police knows Noor through her brother's household only: no match (no parent in
    # it), so no context and no purpose.
    noor = db.session.get(Person, uuid.UUID(person_id))
    sem = ops.register_person(ops.PersonData("Sem", "Jansen", date(2014, 6, 1)), SYSTEM, TODAY)
    ops.compose_family([(noor, "kind"), (sem, "kind")], SYSTEM)
    ops.register_involvement(sem, ops.InvolvementData(world["orgs"]["police"].id, "Agent Anna",
                                                      "anna@politie.example.test", TODAY), SYSTEM, TODAY)
    db.session.commit()
    assert count(Match) == 0
    police = world["police"]
    url, template = f"/persons/{person_id}/notes?purpose=signalering", "/persons/{person_id}/notes"
    entries = count(AuditEntry)
    error = assert_error(police.get(url, template), 403, "doel_zonder_context")
    assert "noodtoegang" in error["message"] and "MARKER" not in str(error)
    assert count(AuditEntry) == entries  # nothing was read, so nothing to audit
    plain = police.get(f"/persons/{person_id}/notes", template).get_json()  # no purpose: own notes only
    assert (plain["purpose"], plain["notes"]) == (None, [])
    assert plain["withheld"] == ["Er is informatie bij CJG Test — neem contact op met Wijkcoach Wim, 071 123 4567."]
    response = police.post(f"/persons/{person_id}/emergency-access", "/persons/{person_id}/emergency-access",
                           json={"purpose": "signalering",
                                 "reason": "Melding van acuut gevaar, school en CJG niet bereikbaar."})
    assert response.status_code == 201
    claim = response.get_json()
    assert claim["purpose"] == "signalering" and claim["expires_at"] > TODAY.isoformat()
    body = police.get(url, template).get_json()
    assert (body["context"], [n["text"] for n in body["notes"]]) == ("noodtoegang", ["MARKER-ZORGEN"])
    flagged = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "content.emergency_access"))
    assert flagged.outcome == "emergency" and flagged.meta["flag"] == "review"


# --- the duplicate flow and the look-up throttle ---------------------------------------------

def test_duplicate_name_and_birth_date_asks_which_person(world):
    without_bsn = {k: v for k, v in NOOR.items() if k != "bsn"}
    first = world["cjg"].report(without_bsn).get_json()["person_id"]
    before, lookups = counts(), count(PersonLookup)
    response = world["police"].report(without_bsn)
    assert response.status_code == 409
    assert response.get_json() == {"error": {
        "code": "mogelijk_dubbel",
        "message": "Er is al iemand met deze naam en geboortedatum. Is dit dezelfde persoon?",
        "candidates": [{"id": first, "pseudonym": "N.J. (2012)"}]}}
    assert counts() == before and count(PersonLookup) == lookups + 1
    assert world["police"].report(without_bsn, choice=GHOST).status_code == 409  # not a candidate
    chosen = world["police"].report(without_bsn, choice=first)
    assert chosen.status_code == 201 and chosen.get_json()["person_id"] == first
    assert count(Person) == 1 and count(Match) == 1
    other = world["school"].report(without_bsn, choice="nieuw")
    assert other.status_code == 201 and other.get_json()["person_id"] != first and count(Person) == 2


def test_the_look_up_throttle_answers_429(world, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOOKUP_LIMIT_PER_HOUR", 2)
    cjg = world["cjg"]
    assert cjg.report().status_code == 201
    assert cjg.report(NOOR | {"bsn": "123456789"}).status_code == 422  # a refusal still counts
    before = counts()
    error = assert_error(cjg.report(NOOR | {"bsn": "123456782", "first_name": "Sem"}), 429, "te_veel_zoekacties")
    assert "privacy officer" in error["message"]
    assert counts() == before
    throttled = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "person.lookup_throttled"))
    assert throttled.outcome == "denied" and throttled.meta["flag"] == "review"
    assert world["police"].report().status_code == 201  # per user


# --- roles -------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["beheerder", "privacy"])
def test_roles_without_case_work_get_403_everywhere(world, client, document, role):
    person_id = noor_reported(world)
    outsider = Api(client, make_user(role, org=world["orgs"]["cjg"], totp=True), document)
    before = counts()
    for template, item in document["paths"].items():
        for method, op in item.items():
            if "403" not in op["responses"] or template.startswith("/auth"):
                continue
            path = (template.replace("{person_id}", person_id).replace("{family_id}", GHOST)
                    .replace("{match_id}", GHOST).replace("{consent_id}", "1"))
            response = outsider.call(method.upper(), path, template, json={})
            assert_error(response, 403, "geen_toegang")
    assert counts() == before


# --- bad input: a Dutch message and nothing written -------------------------------------------

BAD_REPORTS = [
    ("elfproef", {"person": NOOR | {"bsn": "123456789"}}, "person.bsn", "elfproef"),
    ("bsn-letters", {"person": NOOR | {"bsn": "12345678a"}}, "person.bsn", "9 cijfers"),
    ("future-birth", {"person": NOOR | {"birth_date": (TODAY + timedelta(days=1)).isoformat()}},
     "person.birth_date", "toekomst"),
    ("dutch-date", {"person": NOOR | {"birth_date": "04-03-2012"}}, "person.birth_date", "JJJJ-MM-DD"),
    ("no-such-day", {"person": NOOR | {"birth_date": "2012-02-30"}}, "person.birth_date", "datum"),
    ("date-as-number", {"start_date": 1700000000}, "start_date", "JJJJ-MM-DD"),
    ("name-as-number", {"person": NOOR | {"first_name": 5}}, "person.first_name", "tekst"),
    ("flag-as-string", {"person": NOOR | {"safety_flag": "ja"}}, "person.safety_flag", "true of false"),
    ("person-as-list", {"person": ["Noor"]}, "person", "JSON-object"),
    ("reason-field", {"reason": "vermoeden van mishandeling"}, "reason", "Onbekend veld"),
    ("nested-unknown", {"person": NOOR | {"notes": "x"}}, "person.notes", "Onbekend veld"),
    ("nul-in-name", {"person": NOOR | {"last_name": "Jan\x00sen"}}, "person.last_name", "ongeldige tekens"),
    ("long-name", {"person": NOOR | {"last_name": "x" * 101}}, "person.last_name", "hoogstens 100"),
    ("bad-email", {"contact_email": "geen-adres"}, "contact_email", "e-mailadres"),
    ("future-start", {"start_date": (TODAY + timedelta(days=2)).isoformat()}, "start_date", "toekomst"),
    ("end-before-start", {"end_date": (TODAY - timedelta(days=1)).isoformat()}, "end_date", "vóór"),
    ("missing-person", {"person": None}, "person", None),
]


@pytest.mark.parametrize(("body", "field", "words"), [c[1:] for c in BAD_REPORTS], ids=[c[0] for c in BAD_REPORTS])
def test_bad_reports_are_refused_in_dutch_and_write_nothing(world, body, field, words):
    before = counts()
    base = {"person": NOOR, "contact_name": "Wijkcoach Wim", "contact_email": "wim@cjg.example.test",
            "start_date": TODAY.isoformat()}
    error = assert_error(world["cjg"].post("/involvements", json=base | body), 422)
    assert field in [d["field"] for d in error["details"]], error
    message = next(d["message"] for d in error["details"] if d["field"] == field)
    assert words is None or words in message, message
    assert counts() == before


def test_bad_bodies_and_query_strings(world):
    person_id = noor_reported(world)
    cjg = world["cjg"]
    assert_error(cjg.post("/involvements", data="{", content_type="application/json"), 400)
    assert_error(cjg.post("/involvements", data="x", content_type="text/plain"), 415)
    assert_error(cjg.post("/involvements", json=[1, 2]), 422)
    error = assert_error(cjg.get("/persons?q=a&limit=5"), 422)
    assert error["details"] == [{"field": "limit", "message": "Onbekend veld."}]
    assert_error(cjg.get("/persons?q=" + "x" * 101), 422)
    error = assert_error(cjg.get(f"/persons/{person_id}/notes?purpose=DROP%20TABLE",
                                 "/persons/{person_id}/notes"), 422)
    assert error["details"][0]["field"] == "purpose"


def test_bad_notes_and_emergency_claims_write_nothing(world):
    person_id = noor_reported(world)
    notes, emergency = "/persons/{person_id}/notes", "/persons/{person_id}/emergency-access"
    cases = [
        (notes, {"category": "onbekend", "text": "Tekst"}, "category", "categorie"),
        (notes, {"category": "zorgen", "text": "x" * 100_000}, "text", "hoogstens"),
        (notes, {"category": "zorgen", "text": "   "}, "text", "Schrijf"),
        (notes, {"category": "zorgen", "text": "nul\x00teken"}, "text", "ongeldige tekens"),
        (notes, {"category": "zorgen", "text": ["lijst"]}, "text", "tekst"),
        (notes, {"category": "zorgen", "text": "Tekst", "author": "iemand anders"}, "author", "Onbekend veld"),
        (emergency, {"purpose": "onbekend", "reason": "Een reden van voldoende lengte hier."}, "purpose", "doel"),
        (emergency, {"purpose": "signalering", "reason": "te kort"}, "reason", "minstens 20"),
        (emergency, {"purpose": "signalering"}, "reason", "ontbreekt"),
        (emergency, {"purpose": "signalering", "reason": "Een reden met een \x00 erin, lang genoeg."}, "reason",
         "ongeldige tekens"),
    ]
    before = counts()
    for template, body, field, words in cases:
        error = assert_error(world["cjg"].post(template.replace("{person_id}", person_id), template, json=body), 422)
        assert [(d["field"], words in d["message"]) for d in error["details"]] == [(field, True)], (body, error)
    assert counts() == before


def test_without_a_covenant_in_force_nothing_is_written(client, document):
    org = make_org("CJG Zonder", "cjg")
    make_covenant(org, valid_from=TODAY - timedelta(days=60), valid_until=TODAY - timedelta(days=1))  # expired
    api = Api(client, make_user("deelnemer", org=org), document)
    person_id = api.report().get_json()["person_id"]  # the registry itself needs no covenant
    before = counts()
    error = assert_error(api.post(f"/persons/{person_id}/notes", "/persons/{person_id}/notes",
                                  json={"category": "zorgen", "text": "Tekst"}), 422)
    assert "geen convenant" in error["message"]
    error = assert_error(api.post(f"/persons/{person_id}/emergency-access", "/persons/{person_id}/emergency-access",
                                  json={"purpose": "signalering", "reason": "Een reden van voldoende lengte hier."}),
                         422)
    assert "geen convenant" in error["message"]
    assert counts() == before


def test_a_party_that_left_the_covenant_cannot_claim_emergency_access(world):
    person_id = noor_reported(world)
    world["police"].report()  # a client match: the context gives signalering
    orgs = world["orgs"]
    create_covenant_version(CovenantSpec(
        version="politie-vertrokken", title="Testconvenant", valid_from=TODAY - timedelta(days=1), valid_until=None,
        purposes=PURPOSES, categories=CATEGORIES,
        parties=[PartySpec(orgs["cjg"].id, "cjg", TODAY - timedelta(days=30), None),
                 PartySpec(orgs["police"].id, "politie", TODAY - timedelta(days=30), TODAY - timedelta(days=1))],
        rules=[allow(orgs["police"])]), SYSTEM)
    db.session.commit()
    template = "/persons/{person_id}/notes"
    world["cjg"].post(f"/persons/{person_id}/notes", template, json={"category": "zorgen", "text": "Tekst"})
    body = world["police"].get(f"/persons/{person_id}/notes", template).get_json()
    assert (body["notes"], len(body["withheld"])) == ([], 1)  # the gate: no longer a party
    before = counts()
    assert_error(world["police"].post(f"/persons/{person_id}/emergency-access",
                                      "/persons/{person_id}/emergency-access",
                                      json={"purpose": "signalering",
                                            "reason": "Een reden van voldoende lengte hier."}), 422)
    assert counts() == before


# --- consent ---------------------------------------------------------------------------------

def test_consent_recorded_and_withdrawn(world):
    person_id = noor_reported(world)
    cjg, template = world["cjg"], "/persons/{person_id}/consents"
    url = f"/persons/{person_id}/consents"
    step = {"step": "contact", "given_by": "ouder_en_jongere", "form": "mondeling", "given_on": TODAY.isoformat()}
    response = cjg.post(url, template, json=step)
    assert response.status_code == 201
    consent = db.session.get(Consent, int(response.get_json()["id"]))
    assert (str(consent.person_id), consent.step, consent.given_by) == (person_id, "contact", "ouder_en_jongere")
    share = step | {"step": "delen_met_organisatie", "organisation_id": str(world["orgs"]["police"].id)}
    second = cjg.post(url, template, json=share).get_json()["id"]
    assert db.session.get(Consent, int(second)).organisation_id == world["orgs"]["police"].id

    withdrawal = "/persons/{person_id}/consents/{consent_id}/withdrawal"
    done = cjg.post(f"{url}/{consent.id}/withdrawal", withdrawal)
    assert done.status_code == 204 and done.get_data() == b""
    db.session.expire_all()
    assert db.session.get(Consent, consent.id).withdrawn_on == TODAY
    assert_error(cjg.post(f"{url}/{consent.id}/withdrawal", withdrawal), 409, "al_ingetrokken")
    for bad in ("999999", "abc", "-1", "1" * 30):
        assert_error(cjg.post(f"{url}/{bad}/withdrawal", withdrawal), 404)


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"given_by": "ouder"}, "given_by", "leeftijd"),  # Noor is 12 to 15: youth and parents both
    ({"given_on": (TODAY + timedelta(days=1)).isoformat()}, "given_on", "toekomst"),
    ({"step": "delen_met_organisatie"}, "organisation_id", "organisatie"),
    ({"organisation_id": GHOST, "step": "delen_met_organisatie"}, "organisation_id", "organisatie"),
    ({"step": "alles"}, "step", "Kies een van"),
    ({"form": "telepathisch"}, "form", "mondeling"),
    ({"organisation_id": "geen-id"}, "organisation_id", "id"),
    ({"given_on": "gisteren"}, "given_on", "JJJJ-MM-DD"),
])
def test_bad_consents_write_nothing(world, change, field, words):
    person_id = noor_reported(world)
    step = {"step": "contact", "given_by": "ouder_en_jongere", "form": "mondeling", "given_on": TODAY.isoformat()}
    before = counts()
    error = assert_error(world["cjg"].post(f"/persons/{person_id}/consents", "/persons/{person_id}/consents",
                                           json=step | change), 422)
    assert [d["field"] for d in error["details"]] == [field] and words in error["details"][0]["message"], error
    assert counts() == before


def test_consent_for_another_step_may_not_name_an_organisation(world):
    person_id = noor_reported(world)
    body = {"step": "contact", "given_by": "ouder_en_jongere", "form": "mondeling", "given_on": TODAY.isoformat(),
            "organisation_id": str(world["orgs"]["police"].id)}
    error = assert_error(world["cjg"].post(f"/persons/{person_id}/consents", "/persons/{person_id}/consents",
                                           json=body), 422)
    assert "precies één organisatie" in error["message"] and count(Consent) == 0


# --- matches and their acknowledgement ---------------------------------------------------------

@pytest.fixture
def matched(world):
    noor_reported(world)
    world["police"].report()
    return db.session.scalar(select(Match))


def test_acknowledge_a_match(world, matched):
    police, template = world["police"], "/matches/{match_id}/acknowledgement"
    url = f"/matches/{matched.id}/acknowledgement"
    police_id = str(world["orgs"]["police"].id)
    shown = police.get(f"/matches/{matched.id}", "/matches/{match_id}").get_json()
    assert (shown["kind"], shown["contact_made_on"], shown["afgestemd_on"]) == ("client", None, None)
    assert shown["respond_by"] == matched.respond_by.isoformat()
    response = police.post(url, template, json={"contact_made_on": TODAY.isoformat(), "regievoerder_org_id": police_id,
                                                "afgestemd_on": TODAY.isoformat()})
    assert response.status_code == 200
    assert {k: response.get_json()[k] for k in ("contact_made_on", "regievoerder_org_id", "afgestemd_on")} == {
        "contact_made_on": TODAY.isoformat(), "regievoerder_org_id": police_id, "afgestemd_on": TODAY.isoformat()}
    db.session.expire_all()
    assert db.session.get(Match, matched.id).afgestemd_on == TODAY
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "match.acknowledged")) is not None
    # the other party sees the same state
    assert world["cjg"].get(f"/matches/{matched.id}", "/matches/{match_id}").get_json() == response.get_json()


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"afgestemd_on": "today"}, "afgestemd_on", "JJJJ-MM-DD"),
    ({"contact_made_on": (TODAY + timedelta(days=1)).isoformat()}, "contact_made_on", "toekomst"),
    ({"contact_made_on": (TODAY - timedelta(days=1)).isoformat()}, "contact_made_on", "vóór de match"),
    ({"afgestemd_on": TODAY.isoformat()}, "contact_made_on", "contact"),
    ({"regievoerder_org_id": GHOST}, "regievoerder_org_id", "regievoerder"),
    ({"regievoerder_org_id": "school"}, "regievoerder_org_id", "id"),
    ({"afgestemd": True}, "afgestemd", "Onbekend veld"),
])
def test_bad_acknowledgements_change_nothing(world, matched, body, field, words):
    entries = count(AuditEntry)
    error = assert_error(world["cjg"].post(f"/matches/{matched.id}/acknowledgement",
                                           "/matches/{match_id}/acknowledgement", json=body), 422)
    assert [d["field"] for d in error["details"]] == [field] and words in error["details"][0]["message"], error
    db.session.expire_all()
    match = db.session.get(Match, matched.id)
    assert (match.contact_made_on, match.regievoerder_org_id, match.afgestemd_on) == (None, None, None)
    assert count(AuditEntry) == entries


def test_reading_a_match_marks_its_notice_read(world, matched):
    notice = db.session.scalar(select(Notification).where(Notification.user_id == world["users"]["police"].id))
    assert notice is not None and notice.read_at is None
    world["police"].get(f"/matches/{matched.id}", "/matches/{match_id}")
    db.session.expire_all()
    assert db.session.get(Notification, notice.id).read_at is not None


# --- the document describes the parameters ---------------------------------------------------

def test_parameters_are_documented(document):
    def params(path: str, method: str) -> dict[str, tuple[str, bool, str]]:
        return {p["name"]: (p["in"], p["required"], p["schema"]["type"])
                for p in document["paths"][path][method].get("parameters", [])}

    assert params("/persons", "get") == {"q": ("query", False, "string")}
    assert params("/persons/{person_id}/notes", "get") == {"person_id": ("path", True, "string"),
                                                           "purpose": ("query", False, "string")}
    assert params("/persons/{person_id}/consents/{consent_id}/withdrawal", "post") == {
        "person_id": ("path", True, "string"), "consent_id": ("path", True, "integer")}
    assert document["paths"]["/involvements"]["post"]["responses"]["409"]["content"]["application/json"][
        "schema"]["$ref"] == "#/components/schemas/DuplicateResponse"
    report = document["components"]["schemas"]["InvolvementIn"]
    assert report["additionalProperties"] is False and "reason" not in report["properties"]
    person = document["components"]["schemas"]["PersonIn"]
    assert person["properties"]["birth_date"]["format"] == "date"
