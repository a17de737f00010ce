"""No "1 result" oracle: to a user whose organisation has no involvement (and so no
purpose), search, pages, API answers and error messages look the same for a person who
exists as for one who does not; identifying a person (reporting an involvement) is
throttled and flagged, and its "is this the same person?" step shows pseudonyms only.

The world: CJG and GGZ are involved with Noor (no BSN, an address); her brother Bram
(with BSN) is in her household; CJG and GGZ have a match about her. Politie, the searcher,
is involved only with Piet — so its lists are not empty, just without them.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import Involvement, Match, PersonLookup
from privacy.models import AuditEntry
from tests.conftest import csrf_token, post_form
from tests.factories import PASSWORD, SYSTEM, make_covenant, make_org, make_user
from tests.helpers import html, logged_in
from tests.leak.harness import api_token

TODAY = date.today()
BRAM_BSN = "123456782"
UNKNOWN_BSN = "111222333"
TOO_MANY = "U heeft in korte tijd veel personen opgezocht"


@pytest.fixture
def world(app: Flask) -> dict:
    cjg, ggz = make_org("CJG Oost", "cjg"), make_org("GGZ Oost", "ggz")
    police = make_org("Politie Oost", "politie", "veiligheid")
    make_covenant(cjg, ggz, police)
    writer, colleague = make_user("deelnemer", org=cjg), make_user("deelnemer", org=ggz)
    searcher = make_user("deelnemer", org=police)
    now, since = utcnow(), TODAY - timedelta(days=10)
    cjg_actor = actor_for(writer, "deelnemer")
    noor_data = ops.PersonData("Noor", "Orakel", date(2012, 3, 4), municipality="Zoeterwoude",
                               address="Geheimweg 7")
    noor = ops.report_involvement(noor_data, ops.InvolvementData(cjg.id, "Wijkcoach Wim", "wim@cjg.example.test",
                                                                 since), cjg_actor, now).person
    bram_data = ops.PersonData("Bram", "Orakel", date(2010, 5, 6), bsn=BRAM_BSN, municipality="Zoeterwoude",
                               address="Geheimweg 7")
    ops.add_household_member(noor, "kind", bram_data, "kind", cjg_actor, now)
    ops.register_involvement(noor, ops.InvolvementData(ggz.id, "Gerda", "gerda@ggz.example.test", since),
                             actor_for(colleague, "deelnemer"), TODAY)
    ops.add_note(noor, writer, "zorgen", "Zorgen over Noor.", cjg_actor, TODAY)
    piet = ops.register_person(ops.PersonData("Piet", "Eigen", date(2011, 1, 1)), SYSTEM, TODAY)
    ops.register_involvement(piet, ops.InvolvementData(police.id, "Agent Ank", "ank@politie.example.test", since),
                             SYSTEM, TODAY)
    db.session.commit()
    family = ops.family_of(noor.id)
    match = db.session.scalar(select(Match))
    assert match is not None and family is not None
    return {"noor": noor, "family": family, "match": match, "searcher": searcher,
            "noor_involvement": db.session.scalar(select(Involvement.id).where(Involvement.person_id == noor.id))}


@pytest.fixture
def searcher(app: Flask, world: dict) -> FlaskClient:
    client = app.test_client()
    logged_in(client, world["searcher"])
    return client


CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*>|<meta[^>]*name="csrf-token"[^>]*>')
NONCE = re.compile(r'nonce="[^"]*"')


def normal(body: str, *echoed: str) -> str:
    """The page without what differs per request anyway (CSRF tokens, CSP nonces) and
    without the query the user typed, which the search box echoes."""
    body = NONCE.sub('nonce=""', CSRF.sub("<csrf>", body))
    for value in echoed:
        body = body.replace(str(escape(value)), "<q>").replace(value, "<q>")
    return body


# --- search ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("existing", "nobody"), [
    ("Noor Orakel", "Zora Nergens"), ("Orakel", "Nergens"), ("noor", "zora"), ("N.O. (2012)", "Z.N. (1911)"),
    ("N.O.", "Z.N."), ("2012", "1911"), ("B.O. (2010)", "Z.N. (1912)"), (BRAM_BSN, UNKNOWN_BSN),
    ("123 456 782", "111 222 333"), ("Geheimweg 7", "Nergensweg 9"), ("Zoeterwoude", "Nergenshuizen"),
], ids=["name", "last-name", "first-name", "pseudonym", "initials", "birth-year", "pseudonym-bram", "bsn",
        "bsn-spaced", "address", "municipality"])
def test_search_answers_the_same_for_an_existing_person_as_for_no_one(app, world, searcher, existing, nobody):
    found = searcher.get("/personen", query_string={"q": existing})
    missing = searcher.get("/personen", query_string={"q": nobody})
    assert found.status_code == missing.status_code == 200
    assert normal(html(found), existing) == normal(html(missing), nobody)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(client, world['searcher'], PASSWORD)}"}
    api_found = client.get("/api/v1/persons", query_string={"q": existing}, headers=headers)
    api_missing = client.get("/api/v1/persons", query_string={"q": nobody}, headers=headers)
    assert api_found.status_code == api_missing.status_code
    assert api_found.get_data() == api_missing.get_data()


def test_the_searcher_does_find_its_own_person(world, searcher):
    """The comparison above is not between two empty pages by accident."""
    assert "P.E. (2011)" in html(searcher.get("/personen", query_string={"q": "Piet"}))


# --- pages and API answers about one person, household or match ------------------------------

OBJECT_PARAMS = {"person_id": "noor", "family_id": "family", "match_id": "match"}


def _variants(world: dict, param: str) -> dict[str, str]:
    obj = world[OBJECT_PARAMS[param]]
    return {"existing": str(getattr(obj, "id", obj)), "random": str(uuid.uuid4()), "malformed": "not-a-uuid"}


def _routes(app: Flask, api: bool) -> list[tuple[str, str, str]]:
    """(rule, method, object parameter) for every route about one person, household or match."""
    found = []
    for rule in app.url_map.iter_rules():
        params = set(rule.arguments) & set(OBJECT_PARAMS)
        if not params or rule.rule.startswith("/api/") != api:
            continue
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            found.append((rule.rule, method, sorted(params)[0]))
    assert found, "no routes about persons, households or matches: the URL map changed"
    return found


def _url(app: Flask, rule: str, param: str, value: str, world: dict) -> str:
    others = {"consent_id": "1", "involvement_id": str(world["noor_involvement"]), "person_id": str(world["noor"].id)}
    url = rule
    for name in re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule):
        url = re.sub(rf"<(?:[^:>]+:)?{name}>", value if name == param else others.get(name, "1"), url)
    return url


def test_pages_about_an_invisible_person_household_or_match_answer_like_no_one(app, world, searcher):
    token = csrf_token(searcher, "/personen")
    for rule, method, param in _routes(app, api=False):
        answers = {}
        for kind, value in _variants(world, param).items():
            url = _url(app, rule, param, value, world)
            for suffix in ("", "?doel=signalering") if method == "GET" else ("",):
                response = searcher.open(url + suffix, method=method, data={"csrf_token": token} if method == "POST"
                                         else None)
                answers[(kind, suffix)] = (response.status_code, normal(html(response)))
        statuses = {status for status, _ in answers.values()}
        # The privacy officer's pages refuse every other role before looking anything up:
        # the same 403 for an existing, a random and a malformed id tells nothing either.
        expected = {403} if rule.startswith("/privacy/") else {404}
        assert statuses == expected, (rule, method, answers.keys(), statuses)
        assert len({body for _, body in answers.values()}) == 1, (rule, method)


def test_the_api_answers_about_an_invisible_person_household_or_match_like_no_one(app, world):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(client, world['searcher'], PASSWORD)}"}
    for rule, method, param in _routes(app, api=True):
        answers = {}
        for kind, value in _variants(world, param).items():
            url = _url(app, rule, param, value, world)
            for suffix in ("", "?purpose=signalering") if method == "GET" else ("",):
                response = client.open(url + suffix, method=method, headers=headers,
                                       json={} if method == "POST" else None)
                answers[(kind, suffix)] = (response.status_code, response.get_data())
        assert len(set(answers.values())) == 1, (rule, method, answers)
        assert {status for status, _ in answers.values()} <= {404, 422}, (rule, method, answers)


# --- identifying a person: the candidate step and the throttle ------------------------------

def report_form(**identity: str) -> dict[str, str]:
    return {"first_name": "noor", "last_name": "orakel", "birth_date": "2012-03-04", "bsn": "",
            "municipality": "", "address": "Elders 1", "contact_name": "Agent Ank", "contact_phone": "",
            "contact_email": "ank@politie.example.test", "start_date": TODAY.isoformat(), "end_date": ""} | identity


INPUT_VALUES = re.compile(r'(<input[^>]*?value=")[^"]*(")')


def test_the_same_person_step_shows_pseudonyms_only(world, searcher):
    response = post_form(searcher, "/betrokkenheid/melden", report_form())
    assert response.status_code == 422
    page = html(response)
    assert "Is dit dezelfde persoon?" in page and "N.O. (2012)" in page
    # What the user typed comes back in the form's fields; the candidate's own details
    # appear nowhere else on the page.
    shown = INPUT_VALUES.sub(r"\1\2", page)
    for detail in ("Noor", "Orakel", "2012-03-04", "04-03-2012", "4 maart 2012", "Geheimweg", "Zoeterwoude"):
        assert detail not in shown, detail
    assert str(world["noor"].id) in page  # the choice itself: an opaque id, which opens nothing (below)
    assert searcher.get(f"/personen/{world['noor'].id}").status_code == 404


def test_repeated_identification_is_throttled_and_flagged_for_review(app, world, searcher, monkeypatch):
    monkeypatch.setitem(app.config, "LOOKUP_LIMIT_PER_HOUR", 3)
    for _ in range(3):
        response = post_form(searcher, "/betrokkenheid/melden", report_form())
        assert response.status_code == 422 and "Is dit dezelfde persoon?" in html(response)
    for _ in range(2):
        response = post_form(searcher, "/betrokkenheid/melden", report_form())
        page = html(response)
        assert response.status_code in (422, 429) and TOO_MANY in page
        assert "N.O. (2012)" not in page and str(world["noor"].id) not in page
    flagged = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "person.lookup_throttled")).all()
    assert flagged and all(e.meta.get("flag") == "review" and e.actor_user_id == world["searcher"].id
                           for e in flagged)
    # The API counts the same look-ups and refuses the same way.
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(client, world['searcher'], PASSWORD)}"}
    body = {"person": {"first_name": "noor", "last_name": "orakel", "birth_date": "2012-03-04"},
            "contact_name": "Agent Ank", "contact_email": "ank@politie.example.test",
            "start_date": TODAY.isoformat()}
    answer = client.post("/api/v1/involvements", json=body, headers=headers)
    assert answer.status_code == 429, answer.get_json()
    assert TOO_MANY in answer.get_json()["error"]["message"]
    assert db.session.scalar(select(PersonLookup.id).where(PersonLookup.outcome == "te_veel").limit(1))


def test_the_api_same_person_step_shows_pseudonyms_only(app, world):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(client, world['searcher'], PASSWORD)}"}
    body = {"person": {"first_name": "noor", "last_name": "orakel", "birth_date": "2012-03-04"},
            "contact_name": "Agent Ank", "contact_email": "ank@politie.example.test",
            "start_date": TODAY.isoformat()}
    answer = client.post("/api/v1/involvements", json=body, headers=headers)
    assert answer.status_code == 409, answer.get_json()
    candidates = answer.get_json()["error"]["candidates"]
    assert candidates == [{"id": str(world["noor"].id), "pseudonym": "N.O. (2012)"}]


def test_a_known_bsn_with_other_details_answers_like_an_unknown_one(world, searcher):
    known = post_form(searcher, "/betrokkenheid/melden", report_form(first_name="Kees", last_name="Anders",
                                                                      bsn=BRAM_BSN))
    # Another name: the first report created a "Kees Anders" without BSN, whom a second
    # report of the same name would rightly offer as a candidate.
    unknown = post_form(searcher, "/betrokkenheid/melden", report_form(first_name="Klaas", last_name="Anders",
                                                                        bsn=UNKNOWN_BSN))
    assert "BSN past niet" not in html(known)
    assert known.status_code == unknown.status_code
