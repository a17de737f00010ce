"""HTML and script typed into a name, a contact name, an address or a note come back
escaped on every page that shows them and as plain JSON strings from the API; and the
involvement registry refuses a free-text reason ("that, not what": no field for *why*).

The values go in the way a user would type them (the report form, the note form, the
household form); the harness then walks every page and API answer as the owning
organisation and as a matched one.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import Involvement, Person
from tests.conftest import post_form
from tests.factories import CATEGORIES, PASSWORD, PURPOSES, SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import html, logged_in, path_of
from tests.leak.harness import CHANNELS, Exposure, Scenario, api_token, collect_ids

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
RAW = ("<script>alert(1)", "<img src=x onerror")  # what must never reach a page unescaped
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"
ESCAPED_IMG = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
TODAY = date.today()


def identity(**extra: str) -> dict[str, str]:
    return {"first_name": SCRIPT, "last_name": IMG, "birth_date": "2013-02-03", "bsn": "", "municipality": SCRIPT,
            "address": IMG} | extra


@pytest.fixture
def world(app: Flask) -> dict:
    cjg, police = make_org("CJG Escape", "cjg"), make_org("Politie Escape", "politie", "veiligheid")
    make_covenant(cjg, police, rules=[allow(police, "zorgen", "signalering")])
    writer, agent = make_user("deelnemer", org=cjg), make_user("deelnemer", org=police)
    client = app.test_client()
    logged_in(client, writer)
    response = post_form(client, "/betrokkenheid/melden", identity(
        contact_name="Wim Wijkcoach", contact_phone="071 123 4567", contact_email="wim@cjg.example.test",
        start_date=(TODAY - timedelta(days=5)).isoformat(), end_date=""))
    assert response.status_code == 302, html(response)
    page = path_of(response)
    response = post_form(client, f"{page}/notities", {"category": "zorgen", "text": f"Zorg: {SCRIPT} {IMG}"},
                         token_from=page)
    assert response.status_code == 302
    response = post_form(client, f"{page}/gezinslid", identity(first_name=IMG, last_name=SCRIPT,
                                                              birth_date="2015-06-07", relation="kind",
                                                              anchor_relation="kind", choice=""))
    assert response.status_code == 302, html(response)
    person = db.session.scalar(select(Person).where(Person.birth_year == 2013))
    ops.register_involvement(person, ops.InvolvementData(police.id, "Agent Ank", "ank@politie.example.test",
                                                         TODAY, contact_phone="071 000 0000"), SYSTEM, TODAY)
    db.session.commit()
    scenario = Scenario(markers={}, password=PASSWORD, purposes=list(PURPOSES), categories=list(CATEGORIES),
                        ids=collect_ids([person.id]), search_terms=[SCRIPT, IMG])
    return {"writer": writer, "agent": agent, "person": person, "scenario": scenario}


def walk(app: Flask, world: dict, who: str, channel: str) -> list[Exposure]:
    return [e for e in CHANNELS[channel].collect(app, world[who], world["scenario"]) if isinstance(e, Exposure)]


@pytest.mark.parametrize("who", ["writer", "agent"])
def test_every_page_escapes_what_users_typed(app, world, who):
    pages = walk(app, world, who, "html")
    unescaped = [(p.location, raw) for p in pages for raw in RAW if raw in p.text]
    assert unescaped == []
    person = f"/personen/{world['person'].id}"
    # names, address and notes: the person's page and the household's (contact names refuse
    # markup at input, see test_a_contact_name_refuses_markup_and_numbers)
    shown = {p.location for p in pages if ESCAPED_SCRIPT in p.text and ESCAPED_IMG in p.text}
    # (the family's plan page shows plan content, and its escalation page the minimal
    # package, not the members' names and notes)
    must_show = {person} | {p.location for p in pages if p.status == 200 and p.location.startswith(
        "/gezinnen/") and "?" not in p.location and not p.location.endswith(("/plan", "/opschaling"))}
    assert len(must_show) >= 2 and must_show - shown == set()
    # the pseudonym ("<.". (2013)") in the lists
    pseudonym = str(escape(world["person"].pseudonym))
    assert {"/personen", "/matches"} - {p.location for p in pages if pseudonym in p.text} == set()
    # the note itself, to the organisation that wrote it and to the matched one (zorgen, signalering)
    person_page = next(p.text for p in pages if p.location == person)
    assert f"Zorg: {ESCAPED_SCRIPT} {ESCAPED_IMG}" in person_page


@pytest.mark.parametrize("who", ["writer", "agent"])
def test_the_api_returns_typed_html_as_plain_json_strings(app, world, who):
    answers = [a for a in walk(app, world, who, "api") if a.status == 200]
    assert len(answers) >= 5
    for answer in answers:
        assert answer.mimetype == "application/json", answer.location
        assert "X-Content-Type-Options: nosniff" in answer.text, answer.location
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(client, world[who], PASSWORD)}"}
    person = client.get(f"/api/v1/persons/{world['person'].id}", headers=headers).get_json()
    assert (person["first_name"], person["last_name"]) == (SCRIPT, IMG)
    assert {i["contact_name"] for i in person["involvements"]} == {"Wim Wijkcoach", "Agent Ank"}
    notes = client.get(f"/api/v1/persons/{world['person'].id}/notes", headers=headers).get_json()
    assert [n["text"] for n in notes["notes"]] == [f"Zorg: {SCRIPT} {IMG}"]


def test_the_report_form_refuses_a_free_text_reason(app, world):
    client = app.test_client()
    logged_in(client, world["agent"])
    before = db.session.scalar(select(func.count()).select_from(Involvement))
    for field in ("reden", "reason", "toelichting"):
        response = post_form(client, "/betrokkenheid/melden", identity(
            first_name="Nieuw", last_name="Persoon", contact_name="Agent Ank", contact_phone="",
            contact_email="ank@politie.example.test", start_date=TODAY.isoformat(), end_date="",
            **{field: "Vader slaat de kinderen"}))
        assert response.status_code == 422
        assert "onbekende velden" in html(response) and field in html(response)
    assert db.session.scalar(select(func.count()).select_from(Involvement)) == before


def test_the_api_refuses_a_free_text_reason(app, world):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(client, world['agent'], PASSWORD)}"}
    body = {"person": {"first_name": "Nieuw", "last_name": "Persoon", "birth_date": "2013-02-03"},
            "contact_name": "Agent Ank", "contact_email": "ank@politie.example.test", "start_date": TODAY.isoformat()}
    before = db.session.scalar(select(func.count()).select_from(Involvement))
    for extra in ({"reason": "Vader slaat de kinderen"}, {"reden": "Vader slaat de kinderen"},
                  {"person": body["person"] | {"reason": "Vader slaat de kinderen"}}):
        answer = client.post("/api/v1/involvements", json=body | extra, headers=headers)
        assert answer.status_code == 422, answer.get_json()
        assert answer.get_json()["error"]["details"]
    assert db.session.scalar(select(func.count()).select_from(Involvement)) == before


def test_a_phone_number_refuses_words(app, world):
    words = "Vader slaat kind"
    client = app.test_client()
    logged_in(client, world["agent"])
    response = post_form(client, "/betrokkenheid/melden", identity(
        first_name="Telefoon", last_name="Proef", contact_name="Agent Ank", contact_phone=words,
        contact_email="ank@politie.example.test", start_date=TODAY.isoformat(), end_date=""))
    assert response.status_code == 422
    api = app.test_client()
    headers = {"Authorization": f"Bearer {api_token(api, world['agent'], PASSWORD)}"}
    body = {"person": {"first_name": "Telefoon", "last_name": "Proef", "birth_date": "2013-02-03"},
            "contact_name": "Agent Ank", "contact_email": "ank@politie.example.test", "contact_phone": words,
            "start_date": TODAY.isoformat()}
    assert api.post("/api/v1/involvements", json=body, headers=headers).status_code == 422


@pytest.mark.parametrize("name", [SCRIPT, IMG, "x", "1234", "Regel\nTwee"])
def test_a_contact_name_refuses_markup_and_numbers(app, world, name):
    """Only a name belongs in the "that" layer: markup never gets stored to be escaped."""
    client = app.test_client()
    logged_in(client, world["agent"])
    before = db.session.scalar(select(func.count()).select_from(Involvement))
    response = post_form(client, "/betrokkenheid/melden", identity(
        first_name="Naam", last_name="Proef", contact_name=name, contact_email="ank@politie.example.test",
        start_date=TODAY.isoformat(), end_date=""))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Involvement)) == before
