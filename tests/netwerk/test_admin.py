"""Beheer: organisations and user accounts, who may reach /beheer, 404s, and the demo outbox."""

from __future__ import annotations

import re
import uuid

import pytest
from flask import Flask
from sqlalchemy import func, select

from netwerk.db import db
from netwerk.models import ORG_DOMAINS, ORG_TYPES, ROLES, LoginSession, Organisation, OutboxMail, User
from privacy.models import AuditEntry
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, make_org, make_user
from tests.helpers import html, logged_in, path_of

NOT_FOUND = "Deze pagina of dit gegeven bestaat niet."


def audit(action: str) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    return list(db.session.scalars(stmt))


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def org_form(**values: str) -> dict:
    return {"name": "Jeugdteam Noord", "org_type": "cjg", "domain": "zorg", "email": "", "phone": "",
            "address": "", **values}


def user_form(org: Organisation, roles: list[str] | tuple[str, ...] = ("deelnemer",), **values) -> dict:
    return {"name": "Anna de Vries", "email": "anna@example.test", "phone": "",
            "organisation_id": str(org.id), "roles": list(roles), **values}


def one_time_password(response) -> str:
    match = re.search(r'<p class="one-time"><code>([^<]+)</code>', html(response))
    assert match, html(response)
    return match.group(1)


# --- organisations ------------------------------------------------------------------------

def test_create_organisation(admin):
    client, beheerder = admin
    page = client.get("/beheer/organisaties/nieuw")
    assert page.status_code == 200 and "Organisatie toevoegen" in html(page)
    response = post_form(client, "/beheer/organisaties/nieuw", org_form(
        email="info@noord.example.test", phone="010-1234567", address="Dorpsstraat 1"))
    assert response.status_code == 302 and path_of(response) == "/beheer/organisaties"
    org = db.session.scalar(select(Organisation).where(Organisation.name == "Jeugdteam Noord"))
    assert (org.org_type, org.domain, org.email, org.phone, org.address, org.active) == (
        "cjg", "zorg", "info@noord.example.test", "010-1234567", "Dorpsstraat 1", True)
    listing = html(client.get("/beheer/organisaties"))
    assert "Jeugdteam Noord" in listing and "Organisatie toevoegen" in listing
    entry = audit("organisation.created")[-1]
    assert entry.object_id == str(org.id) and entry.actor_user_id == beheerder.id
    assert entry.actor_role == "beheerder" and entry.meta == {"org_type": "cjg"}


def test_organisation_form_offers_every_type_and_domain(admin):
    client, _ = admin
    page = html(client.get("/beheer/organisaties/nieuw"))
    for key, label in [*ORG_TYPES.items(), *ORG_DOMAINS.items()]:
        assert f'value="{key}"' in page and label in page


def test_edit_organisation(admin):
    client, _ = admin
    org = make_org("Politie Oost", org_type="politie", domain="veiligheid")
    page = client.get(f"/beheer/organisaties/{org.id}")
    assert page.status_code == 200 and 'value="Politie Oost"' in html(page)
    response = post_form(client, f"/beheer/organisaties/{org.id}", org_form(
        name="Politie Oost-Brabant", org_type="politie", domain="veiligheid", phone="0900-8844"))
    assert response.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, org.id)
    assert org.name == "Politie Oost-Brabant" and org.phone == "0900-8844"
    entry = audit("organisation.updated")[-1]
    assert entry.object_id == str(org.id) and entry.meta == {"fields": ["name", "phone"]}


def test_saving_an_unchanged_organisation_writes_no_audit_entry(admin):
    client, _ = admin
    org = make_org("School Zuid", org_type="school", domain="onderwijs")
    post_form(client, f"/beheer/organisaties/{org.id}", org_form(name="School Zuid", org_type="school",
                                                                  domain="onderwijs"))
    assert audit("organisation.updated") == []


@pytest.mark.parametrize("name", ["Veilig Thuis", "veilig thuis", "  VEILIG THUIS  "])
def test_duplicate_organisation_name_refused(admin, name):
    client, _ = admin
    make_org("Veilig Thuis", org_type="veilig_thuis")
    before, audits = count(Organisation), count(AuditEntry)
    response = post_form(client, "/beheer/organisaties/nieuw", org_form(name=name, org_type="veilig_thuis"))
    assert response.status_code == 422
    assert "Er bestaat al een organisatie met deze naam." in html(response)
    assert (count(Organisation), count(AuditEntry)) == (before, audits)


def test_rename_onto_an_existing_name_refused(admin):
    client, _ = admin
    make_org("GGD Regio")
    other = make_org("GGZ Regio", org_type="ggz")
    response = post_form(client, f"/beheer/organisaties/{other.id}",
                         org_form(name="ggd regio", org_type="ggz"))
    assert response.status_code == 422
    assert "Er bestaat al een organisatie met deze naam." in html(response)
    db.session.expire_all()
    assert db.session.get(Organisation, other.id).name == "GGZ Regio"
    assert audit("organisation.updated") == []


def test_deactivate_and_activate_organisation(admin):
    client, _ = admin
    org = make_org("Leerplicht West", org_type="leerplicht", domain="onderwijs")
    response = post_form(client, f"/beheer/organisaties/{org.id}/deactiveren", {},
                         token_from="/beheer/organisaties")
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Organisation, org.id).active
    assert audit("organisation.deactivated")[-1].object_id == str(org.id)
    assert "inactief" in html(client.get("/beheer/organisaties"))
    # an inactive organisation is not offered for new accounts
    assert str(org.id) not in html(client.get("/beheer/gebruikers/nieuw"))
    response = post_form(client, "/beheer/gebruikers/nieuw", user_form(org))
    assert response.status_code == 422 and count(User) == 1
    post_form(client, f"/beheer/organisaties/{org.id}/activeren", {}, token_from="/beheer/organisaties")
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).active
    assert audit("organisation.activated")[-1].object_id == str(org.id)
    assert str(org.id) in html(client.get("/beheer/gebruikers/nieuw"))


def test_toggle_needs_the_csrf_token(admin):
    client, _ = admin
    org = make_org()
    response = client.post(f"/beheer/organisaties/{org.id}/deactiveren", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).active


# --- users ----------------------------------------------------------------------------------

def test_create_user_shows_one_time_password_that_forces_a_change(app, admin):
    client, beheerder = admin
    org = make_org("Jongerenwerk Centrum", org_type="jongerenwerk")
    response = post_form(client, "/beheer/gebruikers/nieuw",
                         user_form(org, roles=["deelnemer", "secretaris"]))
    assert response.status_code == 200
    body = html(response)
    assert "Gebruiker aangemaakt" in body and "Anna de Vries" in body
    initial = one_time_password(response)
    user = db.session.scalar(select(User).where(User.email == "anna@example.test"))
    assert user.must_change_password and user.organisation_id == org.id
    assert user.roles == {"deelnemer", "secretaris"} and not user.is_demo
    assert initial not in html(client.get("/beheer/gebruikers"))  # shown once only
    assert audit("user.created")[-1].object_id == str(user.id)
    roles_entry = audit("user.roles_changed")[-1]
    assert roles_entry.object_id == str(user.id) and roles_entry.actor_user_id == beheerder.id
    assert roles_entry.meta == {"granted": ["deelnemer", "secretaris"], "revoked": []}
    # the one-time password works once, and only for choosing a new one
    newcomer = app.test_client()
    response = login(newcomer, "anna@example.test", initial)
    assert response.status_code == 302
    for url in ("/", "/account/"):
        response = newcomer.get(url)
        assert response.status_code == 302 and path_of(response) == "/account/wachtwoord"
    response = post_form(newcomer, "/account/wachtwoord", {
        "current_password": initial, "new_password": "mijn eigen lange zin",
        "repeat_password": "mijn eigen lange zin"})
    assert response.status_code == 302
    assert newcomer.get("/").status_code == 200


def test_user_email_is_stored_lower_case_and_unique(admin):
    client, _ = admin
    org = make_org()
    response = post_form(client, "/beheer/gebruikers/nieuw", user_form(org, email="Anna@Example.TEST"))
    assert response.status_code == 200
    assert db.session.scalar(select(User.email).where(User.name == "Anna de Vries")) == "anna@example.test"
    before, audits = count(User), count(AuditEntry)
    again = post_form(client, "/beheer/gebruikers/nieuw", user_form(org, email="ANNA@example.test",
                                                                     name="Andere Anna"))
    assert again.status_code == 422
    assert "Er bestaat al een account met dit e-mailadres." in html(again)
    assert (count(User), count(AuditEntry)) == (before, audits)


def test_edit_user_roles(admin):
    client, _ = admin
    user = make_user("deelnemer", name="Bert Bakker")
    page = html(client.get(f"/beheer/gebruikers/{user.id}"))
    assert 'value="Bert Bakker"' in page and "Wachtwoord herstellen" in page
    response = post_form(client, f"/beheer/gebruikers/{user.id}", user_form(
        user.organisation, roles=["secretaris", "voorzitter"], name="Bert Bakker", email=user.email))
    assert response.status_code == 302 and path_of(response) == "/beheer/gebruikers"
    db.session.expire_all()
    assert db.session.get(User, user.id).roles == {"secretaris", "voorzitter"}
    entry = audit("user.roles_changed")[-1]
    assert entry.object_id == str(user.id)
    assert entry.meta == {"granted": ["secretaris", "voorzitter"], "revoked": ["deelnemer"]}
    assert audit("user.updated") == []  # nothing but the roles changed


def test_move_user_to_another_organisation_ends_their_access(app, admin):
    client, _ = admin
    user = make_user("deelnemer")
    new_org = make_org("Reclassering Regio", org_type="reclassering", domain="veiligheid")
    user_client = app.test_client()
    login(user_client, user.email, PASSWORD)
    assert user_client.get("/").status_code == 200
    response = post_form(client, f"/beheer/gebruikers/{user.id}", user_form(
        new_org, roles=["deelnemer"], name=user.name, email=user.email))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).organisation_id == new_org.id
    entry = audit("user.updated")[-1]
    assert entry.meta == {"fields": ["organisation_id"]} and entry.object_id == str(user.id)
    assert path_of(user_client.get("/")) == "/inloggen"
    still_open = select(func.count()).select_from(LoginSession).where(LoginSession.ended_at.is_(None))
    assert count(LoginSession) == 2 and db.session.scalar(still_open) == 1  # the admin's


def test_users_list_shows_organisation_and_roles(admin):
    client, _ = admin
    org = make_org("MEE Regio", org_type="mee")
    make_user("secretaris", "deelnemer", org=org, name="Carla Claes")
    page = html(client.get("/beheer/gebruikers"))
    assert "Carla Claes" in page and "MEE Regio" in page and "deelnemer, secretaris" in page


# --- who may reach /beheer ----------------------------------------------------------------

def beheer_urls(app: Flask, org: Organisation, user: User) -> list[tuple[str, str]]:
    adapter = app.url_map.bind("localhost")
    values = {"org_id": str(org.id), "user_id": str(user.id), "change": "deactiveren"}
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/beheer"):
            continue
        url = adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments})
        found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_beheer_url_list_is_complete(app):
    urls = beheer_urls(app, make_org(), make_user())
    assert len(urls) >= 12
    assert {m for m, _ in urls} == {"GET", "POST"}


NON_BEHEERDER = [role for role in ROLES if role != "beheerder"]


@pytest.mark.parametrize("role", NON_BEHEERDER)
def test_other_roles_get_403_on_every_beheer_url(app, client, role):
    victim_org = make_org("Doelwit")
    victim = make_user("deelnemer", org=victim_org)
    user = make_user(role, totp=role in app.config["TWO_FACTOR_ROLES"])
    logged_in(client, user)
    token = csrf_token(client, "/account/")
    before = count(AuditEntry), count(Organisation), count(User), count(OutboxMail)
    for method, url in beheer_urls(app, victim_org, victim):
        data = {"csrf_token": token, "name": "Overgenomen", "org_type": "cjg", "domain": "zorg"}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, url)
        assert "Geen toegang" in html(response), (method, url)
    db.session.expire_all()
    assert db.session.get(Organisation, victim_org.id).active and db.session.get(User, victim.id).active
    assert db.session.get(Organisation, victim_org.id).name == "Doelwit"
    assert (count(AuditEntry), count(Organisation), count(User), count(OutboxMail)) == before
    assert "/beheer" not in html(client.get("/"))  # no menu links either


def test_beheerder_reaches_every_beheer_page(app, admin):
    client, _ = admin
    for method, url in beheer_urls(app, make_org(), make_user()):
        if method == "GET":
            assert client.get(url).status_code == 200, url


def test_anonymous_is_sent_to_login(app, client):
    org, user = make_org(), make_user()
    token = csrf_token(client, "/inloggen")
    for method, url in beheer_urls(app, org, user):
        response = client.open(url, method=method, data={"csrf_token": token} if method == "POST" else None)
        assert response.status_code == 302, (method, url)
        assert path_of(response) == "/inloggen", (method, url)
    db.session.expire_all()
    assert db.session.get(Organisation, org.id).active and db.session.get(User, user.id).active


@pytest.mark.parametrize("template", [
    "/beheer/organisaties/{}", "/beheer/gebruikers/{}",
])
@pytest.mark.parametrize("bad_id", ["not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g", "%00",
                                    "'; DROP TABLE organisation;--"])
def test_malformed_id_is_a_dutch_404(admin, template, bad_id):
    client, _ = admin
    response = client.get(template.format(bad_id))
    assert response.status_code == 404
    body = html(response)
    assert "Niet gevonden" in body and NOT_FOUND in body and '<html lang="nl">' in body
    assert "Traceback" not in body


@pytest.mark.parametrize("template", [
    ("GET", "/beheer/organisaties/{}"), ("POST", "/beheer/organisaties/{}"),
    ("POST", "/beheer/organisaties/{}/deactiveren"), ("GET", "/beheer/gebruikers/{}"),
    ("POST", "/beheer/gebruikers/{}"), ("POST", "/beheer/gebruikers/{}/deactiveren"),
    ("POST", "/beheer/gebruikers/{}/wachtwoord-herstellen"),
])
def test_unknown_id_is_a_404(admin, template):
    client, _ = admin
    method, url = template
    token = csrf_token(client, "/beheer/organisaties")
    before = count(AuditEntry)
    for value in (str(uuid.uuid4()), "NOT-A-UUID"):
        response = client.open(url.format(value), method=method, data={"csrf_token": token})
        assert response.status_code == 404, url
        assert NOT_FOUND in html(response)
    assert count(AuditEntry) == before


def test_organisation_id_in_user_url_is_not_a_user(admin):
    client, _ = admin
    org = make_org()
    assert client.get(f"/beheer/gebruikers/{org.id}").status_code == 404


# --- the outbox -------------------------------------------------------------------------------

def test_outbox_lists_account_created_mail_without_roles_or_organisation(admin):
    client, _ = admin
    org = make_org("Raad Regio Zuid", org_type="raad", domain="veiligheid")
    response = post_form(client, "/beheer/gebruikers/nieuw", user_form(
        org, roles=["voorzitter", "privacy"], name="Dirk Dekker", email="dirk@example.test"))
    initial = one_time_password(response)
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "account_created",
                                                      OutboxMail.recipient == "dirk@example.test"))
    assert "http://netwerk.test/inloggen" in mail.body
    for forbidden in ("Raad Regio Zuid", "Raad voor de Kinderbescherming", "voorzitter", "Voorzitter",
                      "privacy", "Privacy officer", initial, str(org.id)):
        assert forbidden not in mail.body and forbidden not in mail.subject, forbidden
    page = client.get("/beheer/uitgaande-mail")
    assert page.status_code == 200
    body = html(page)
    assert "Uw account voor Netwerk" in body and "dirk@example.test" in body
    assert "http://netwerk.test/inloggen" in body
    assert initial not in body


def test_outbox_is_absent_outside_demo_mode(app, admin, monkeypatch):
    client, _ = admin
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    response = client.get("/beheer/uitgaande-mail")
    assert response.status_code == 404
    assert "Uitgaande mail" not in html(client.get("/"))
