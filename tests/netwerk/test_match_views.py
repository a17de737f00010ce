"""Matches on screen: visible to their two organisations only, acknowledged with dates
that make sense (refusals in Dutch that write nothing), and the in-app notices that
announce them."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, update

from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models import Match, Notification
from privacy.models import AuditEntry
from tests.conftest import csrf_token, post_form
from tests.factories import SYSTEM
from tests.helpers import html, path_of
from tests.netwerk.test_person_views import (
    NOBODY,
    TODAY,
    client_for,
    count,
    involve,
    make_world,
    register,
    same_page,
    snapshot,
    written,
)


def days_ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@pytest.fixture
def world(app):
    return make_world()


@pytest.fixture
def matched(world):
    """A client match on Noor between the CJG and the police, and one on Bo between the
    school and the third organisation."""
    noor, bo = register(), register("Bo", "de Vries", date(2010, 8, 9))
    involve(noor, world.cjg)
    involve(noor, world.police)
    involve(bo, world.school)
    involve(bo, world.third)
    ours, theirs = db.session.scalars(select(Match).order_by(Match.created_at)).all()
    assert ours.first.person_id == noor.id and theirs.first.person_id == bo.id
    return SimpleNamespace(ours=ours, theirs=theirs, noor=noor, bo=bo)


def test_the_match_list_shows_the_organisations_own_matches_only(app, world, matched):
    body = html(client_for(app, world.cjg).get("/matches"))
    assert f"/matches/{matched.ours.id}" in body and f"/matches/{matched.theirs.id}" not in body
    assert "CJG Test en Politie Test" in body and matched.noor.pseudonym in body
    assert "School Test" not in body and matched.bo.pseudonym not in body and "Noor" not in body
    body = html(client_for(app, world.third).get("/matches"))
    assert f"/matches/{matched.theirs.id}" in body and f"/matches/{matched.ours.id}" not in body


def test_a_match_is_not_found_for_any_other_organisation(app, world, matched):
    school = client_for(app, world.school)
    url = f"/matches/{matched.ours.id}"
    hidden, missing = school.get(url), school.get(f"/matches/{NOBODY}")
    assert hidden.status_code == 404 and same_page(hidden, missing)
    assert school.get("/matches/niet-een-id").status_code == 404
    token = csrf_token(school, "/matches")
    before = snapshot()
    hidden = school.post(url, data={"csrf_token": token, "contact_made_on": TODAY.isoformat()})
    missing = school.post(f"/matches/{NOBODY}", data={"csrf_token": token, "contact_made_on": TODAY.isoformat()})
    assert hidden.status_code == 404 and same_page(hidden, missing)
    assert written(before) == set()


def test_a_match_page_says_who_to_call_without_content(app, world, matched):
    body = html(client_for(app, world.police).get(f"/matches/{matched.ours.id}"))
    assert "Cliëntmatch" in body and "Wim Wijkcoach" in body and "wim@cjg.example.test" in body
    assert matched.noor.pseudonym in body and "Noor" not in body and "Jansen" not in body


def match_url(matched) -> str:
    return f"/matches/{matched.ours.id}"


def backdate(match: Match, days: int = 5) -> None:
    db.session.execute(update(Match).where(Match.id == match.id).values(
        created_at=utcnow() - timedelta(days=days)))
    db.session.commit()


FUTURE = (TODAY + timedelta(days=1)).isoformat()
BAD_ACKNOWLEDGEMENTS = [
    pytest.param({"contact_made_on": FUTURE}, "Deze datum ligt in de toekomst.", id="contact-in-future"),
    pytest.param({"contact_made_on": days_ago(6)}, "Deze datum ligt vóór de match.", id="contact-before-match"),
    pytest.param({"contact_made_on": days_ago(2), "afgestemd_on": FUTURE, "regievoerder_org_id": "cjg"},
                 "Deze datum ligt in de toekomst.", id="afgestemd-in-future"),
    pytest.param({"contact_made_on": days_ago(1), "afgestemd_on": days_ago(3), "regievoerder_org_id": "cjg"},
                 "Afgestemd kan niet vóór het eerste contact.", id="afgestemd-before-contact"),
    pytest.param({"afgestemd_on": days_ago(1), "regievoerder_org_id": "cjg"},
                 "Leg eerst vast wanneer er contact is geweest.", id="afgestemd-without-contact"),
    pytest.param({"contact_made_on": days_ago(2), "afgestemd_on": days_ago(1)},
                 "Kies wie de regie voert voordat u afgestemd vastlegt.", id="afgestemd-without-regievoerder"),
    pytest.param({"contact_made_on": days_ago(2), "regievoerder_org_id": "school"}, "Ongeldige keuze",
                 id="regievoerder-not-a-party"),
    pytest.param({"regievoerder_org_id": "geen-organisatie"}, "Ongeldige keuze", id="regievoerder-garbage"),
    pytest.param({"contact_made_on": "31-12-2024"}, "Ongeldige datum.", id="date-malformed"),
    pytest.param({"contact_made_on": days_ago(1), "toelichting": "we hebben gebeld"}, "onbekende velden",
                 id="free-text-refused"),
]


@pytest.mark.parametrize(("data", "message"), BAD_ACKNOWLEDGEMENTS)
def test_bad_acknowledgements_are_refused_in_dutch_and_write_nothing(app, world, matched, data, message):
    backdate(matched.ours)
    client = client_for(app, world.cjg)
    url = match_url(matched)
    orgs = {key: str(org.id) for key, org in world.orgs.items()}
    data = {"contact_made_on": "", "regievoerder_org_id": "", "afgestemd_on": ""} | data
    if data["regievoerder_org_id"] in orgs:
        data["regievoerder_org_id"] = orgs[data["regievoerder_org_id"]]
    token = csrf_token(client, url)  # opening the page marks its notice read: before the snapshot
    before = snapshot()
    response = client.post(url, data=data | {"csrf_token": token})
    assert response.status_code == 422, html(response)
    assert message in html(response)
    assert written(before) == set()
    db.session.expire_all()
    match = db.session.get(Match, matched.ours.id)
    assert (match.contact_made_on, match.regievoerder_org_id, match.afgestemd_on) == (None, None, None)


def test_an_acknowledgement_without_csrf_token_is_refused(app, world, matched):
    client = client_for(app, world.cjg)
    response = client.post(match_url(matched), data={"contact_made_on": TODAY.isoformat()})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Match, matched.ours.id).contact_made_on is None


def test_a_valid_acknowledgement_is_saved_and_audited(app, world, matched):
    backdate(matched.ours)
    police = client_for(app, world.police)
    url = match_url(matched)
    response = post_form(police, url, {"contact_made_on": days_ago(2), "regievoerder_org_id": "",
                                       "afgestemd_on": ""})
    assert response.status_code == 302 and path_of(response) == url
    assert "Contact gehad" in html(police.get("/matches"))
    cjg_org = str(world.orgs["cjg"].id)
    response = post_form(client_for(app, world.cjg), url, {
        "contact_made_on": days_ago(2), "regievoerder_org_id": cjg_org, "afgestemd_on": days_ago(1)})
    assert response.status_code == 302
    db.session.expire_all()
    match = db.session.get(Match, matched.ours.id)
    assert (match.contact_made_on.isoformat(), str(match.regievoerder_org_id), match.afgestemd_on.isoformat()) == (
        days_ago(2), cjg_org, days_ago(1))
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "match.acknowledged")
                                 .order_by(AuditEntry.seq)).all()
    assert [(e.actor_user_id, e.meta["afgestemd"]) for e in entries] == [(world.police.id, False),
                                                                        (world.cjg.id, True)]
    assert entries[-1].object_id == str(match.id) and entries[-1].meta["regievoerder"] == cjg_org
    page = html(police.get(url))
    assert "Afstemming vastgelegd." not in page  # the police did not just save
    assert f'<option selected value="{cjg_org}">' in page or f'value="{cjg_org}" selected' in page
    assert "Afgestemd" in html(police.get("/matches"))


def test_an_overdue_match_is_marked_late(app, world, matched):
    db.session.execute(update(Match).where(Match.id == matched.ours.id).values(respond_by=TODAY - timedelta(days=1)))
    db.session.commit()
    assert "te laat" in html(client_for(app, world.cjg).get("/matches"))


def test_opening_a_match_marks_its_notice_read_and_all_can_be_marked_read(app, world, matched):
    # Two more matches for the CJG's contact: Bo, with the school and the third organisation.
    involve(matched.bo, world.cjg)
    cjg = client_for(app, world.cjg)
    mine = db.session.scalars(select(Notification).where(Notification.user_id == world.cjg.id)).all()
    assert len(mine) == 3 and all(n.read_at is None for n in mine)
    page = html(cjg.get("/meldingen"))
    assert page.count("Nieuwe match: een andere organisatie is ook betrokken") == 3
    assert f'href="/matches/{matched.ours.id}"' in page
    assert cjg.get(match_url(matched)).status_code == 200
    db.session.expire_all()
    read = {n.link: n.read_at is not None for n in db.session.scalars(
        select(Notification).where(Notification.user_id == world.cjg.id))}
    assert read.pop(match_url(matched)) is True and set(read.values()) == {False}
    assert cjg.post("/meldingen/gelezen").status_code == 400  # no CSRF token
    response = post_form(cjg, "/meldingen/gelezen", {}, token_from="/meldingen")
    assert response.status_code == 302 and path_of(response) == "/meldingen"
    db.session.expire_all()
    assert count(Notification, Notification.user_id == world.cjg.id, Notification.read_at.is_(None)) == 0
    # Other people's notices are theirs.
    assert count(Notification, Notification.user_id == world.police.id, Notification.read_at.is_(None)) == 1
    assert "nieuw</span>" not in html(cjg.get("/meldingen"))


def test_a_notice_goes_only_to_an_account_of_the_registering_organisation(app, world):
    noor = register()
    involve(noor, world.cjg)
    # The police names, by mistake, the address of someone at another organisation.
    ops.register_involvement(noor, ops.InvolvementData(world.orgs["police"].id, "Agent Anna", world.third.email,
                                                       TODAY), SYSTEM, TODAY)
    db.session.commit()
    assert [n.user_id for n in db.session.scalars(select(Notification))] == [world.cjg.id]
    assert "Geen meldingen." in html(client_for(app, world.third).get("/meldingen"))
