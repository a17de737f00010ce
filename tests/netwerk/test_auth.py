"""Browser authentication: passwords, lock-out, rate limit, sessions, two-factor, password
change, beheerder actions that end access, cookies, CSRF, and the audit trail of it all."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from config import load_config
from netwerk.db import db
from netwerk.extensions import limiter
from netwerk.models import ApiToken, LoginSession, Organisation, OutboxMail, User
from privacy.keys import create_key_file
from privacy.models import AuditEntry
from tests.conftest import csrf_token, login, make_app, post_form
from tests.factories import PASSWORD, make_user
from tests.helpers import fresh_code, full_login, html, path_of, reload, wrong_code

NEW_PASSWORD = "a brand new passphrase 42"
BAD_LOGIN = "E-mailadres of wachtwoord klopt niet."
LOCKED = "tijdelijk geblokkeerd"
COOKIE = "netwerk_session"


# --- helpers ------------------------------------------------------------------------------

def is_logged_in(client: FlaskClient) -> bool:
    response = client.get("/")
    if response.status_code == 302:
        assert path_of(response) == "/inloggen"
        return False
    assert response.status_code == 200
    return True


def audit(action: str, outcome: str | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)
    if outcome:
        stmt = stmt.where(AuditEntry.outcome == outcome)
    return list(db.session.scalars(stmt))


def session_data(client: FlaskClient) -> dict:
    with client.session_transaction() as sess:
        return dict(sess)


def api_token(client: FlaskClient, user: User, password: str = PASSWORD) -> str:
    body = {"email": user.email, "password": password}
    if reload(user).totp_enabled:
        body["otp"] = fresh_code(user)
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["access_token"]


def api_me(client: FlaskClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def one_time_password(response) -> str:
    match = re.search(r'<p class="one-time"><code>([^<]+)</code>', html(response))
    assert match, html(response)
    return match.group(1)


@pytest.fixture
def beheerder_client(app: Flask) -> tuple[FlaskClient, User]:
    admin = make_user("beheerder", totp=True)
    client = app.test_client()
    assert full_login(client, admin).status_code == 302
    assert is_logged_in(client)
    return client, admin


# --- password login -----------------------------------------------------------------------

def test_login_success_starts_a_session_and_audits(client):
    user = make_user("deelnemer")
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 302 and path_of(response) == "/"
    page = client.get("/")
    assert page.status_code == 200 and user.name in html(page)
    rows = db.session.scalars(select(LoginSession).where(LoginSession.user_id == user.id)).all()
    assert len(rows) == 1 and rows[0].ended_at is None
    assert session_data(client)["sid"] == rows[0].id
    success = audit("auth.login", "success")
    assert len(success) == 1 and success[0].actor_user_id == user.id
    assert reload(user).last_login_at is not None


def test_login_email_is_case_insensitive(client):
    user = make_user("deelnemer")
    assert login(client, user.email.upper(), PASSWORD).status_code == 302


def test_unknown_email_and_wrong_password_get_the_same_dutch_message(client, app):
    user = make_user("deelnemer")
    unknown = login(client, "niemand@example.test", PASSWORD)
    wrong = login(app.test_client(), user.email, "not the password at all")
    assert unknown.status_code == wrong.status_code == 422
    assert BAD_LOGIN in html(unknown) and BAD_LOGIN in html(wrong)
    # the pages differ only in the echoed address (and the CSRF token)
    strip = lambda r, email: re.sub(r'value="[^"]*"', "", html(r).replace(email, ""))  # noqa: E731
    assert strip(unknown, "niemand@example.test") == strip(wrong, user.email)
    failures = audit("auth.login", "failure")
    assert [f.meta["reason"] for f in failures] == ["unknown_email", "bad_password"]
    assert not is_logged_in(client)
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_lockout_after_configured_failures(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user("deelnemer")
    for _ in range(2):
        assert BAD_LOGIN in html(login(client, user.email, "wrong password one"))
    assert reload(user).locked_until is None
    third = login(client, user.email, "wrong password one")
    assert third.status_code == 422
    assert reload(user).locked_until is not None
    refused = login(client, user.email, PASSWORD)  # the right password, while locked
    assert refused.status_code == 422
    assert BAD_LOGIN in html(refused)  # the same answer as an unknown e-mail
    assert not is_logged_in(client)
    assert audit("auth.login", "failure")[-1].meta["reason"] == "locked"
    later = datetime.now(UTC) + timedelta(minutes=app.config["LOGIN_LOCK_MINUTES"] + 1)
    with time_machine.travel(later, tick=False):
        assert login(client, user.email, PASSWORD).status_code == 302
        assert is_logged_in(client)


def test_default_lockout_uses_login_max_failures(client, app):
    user = make_user("deelnemer")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit - 1):
        login(client, user.email, "wrong password one")
    assert reload(user).locked_until is None
    login(client, user.email, "wrong password one")
    assert reload(user).locked_until is not None
    assert BAD_LOGIN in html(login(client, user.email, PASSWORD))
    assert audit("auth.login", "failure")[-1].meta["reason"] == "locked"


def test_locked_wrong_and_unknown_answer_alike(client, app, monkeypatch):
    """The lock-out must not reveal which e-mail addresses have an account."""
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    locked, other = make_user("deelnemer"), make_user("deelnemer")
    for _ in range(2):
        login(client, locked.email, "wrong password one")
    assert reload(locked).locked_until is not None

    def answer(email: str, password: str) -> tuple[int, str]:
        response = login(client, email, password)
        body = re.sub(r'value="[^"]*"', 'value=""', html(response))  # CSRF token, echoed e-mail
        return response.status_code, body

    assert answer(locked.email, PASSWORD) == answer("niemand@example.test", PASSWORD) \
        == answer(other.email, "wrong password one")


def test_successful_login_resets_the_failure_count(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user("deelnemer")
    for _ in range(2):
        login(client, user.email, "wrong password one")
    assert login(client, user.email, PASSWORD).status_code == 302
    assert reload(user).failed_logins == 0


def test_locked_account_refuses_the_second_factor_too(client, app, monkeypatch):
    """Failed codes count towards the lock-out, and a lock also stops a pending login."""
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user("deelnemer", totp=True)
    assert path_of(login(client, user.email, PASSWORD)) == "/inloggen/code"
    for _ in range(3):
        assert post_form(client, "/inloggen/code", {"code": wrong_code(user.totp_secret)}).status_code == 422
    assert reload(user).locked_until is not None
    response = post_form(client, "/inloggen/code", {"code": fresh_code(user)})
    assert response.status_code == 422 and LOCKED in html(response)
    assert not is_logged_in(client)
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0


# --- rate limit (its own app: the shared test apps run with the limiter off) ---------------

def test_login_rate_limit_per_ip(limited_app):
    user = make_user("deelnemer")
    client = limited_app.test_client()
    for _ in range(3):
        assert login(client, user.email, "wrong password one").status_code == 422
    blocked = login(client, user.email, PASSWORD)  # even the right password
    assert blocked.status_code == 429
    page = html(blocked)
    assert "Te veel pogingen in korte tijd" in page and '<html lang="nl">' in page
    assert "Traceback" not in page
    assert not is_logged_in(client)
    # another address has its own budget
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    assert login(other, user.email, PASSWORD).status_code == 302
    # a minute later the first address may try again
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61), tick=False):
        assert login(client, user.email, PASSWORD).status_code == 302


def test_code_step_is_rate_limited_too(limited_app):
    user = make_user("deelnemer", totp=True)
    client = limited_app.test_client()
    assert path_of(login(client, user.email, PASSWORD)) == "/inloggen/code"
    for _ in range(3):
        assert post_form(client, "/inloggen/code", {"code": wrong_code(user.totp_secret)}).status_code == 422
    blocked = post_form(client, "/inloggen/code", {"code": fresh_code(user)})
    assert blocked.status_code == 429 and "Te veel pogingen" in html(blocked)
    assert not is_logged_in(client)


def test_api_token_rate_limit_answers_json(limited_app):
    user = make_user("deelnemer")
    client = limited_app.test_client()
    for _ in range(3):
        response = client.post("/api/v1/auth/token", json={"email": user.email, "password": "x"})
        assert response.status_code == 401
    blocked = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked.get_json()["error"]["code"] == "te_veel_verzoeken"
    assert "Te veel pogingen" in blocked.get_json()["error"]["message"]


# --- sessions -----------------------------------------------------------------------------

def test_session_fixation_nothing_survives_login(client):
    user = make_user("deelnemer")
    client.get("/inloggen")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["sid"] = "attacker-chosen-session-id"
    before_cookie = client.get_cookie(COOKIE).value
    before_csrf = session_data(client)["csrf_token"]
    assert login(client, user.email, PASSWORD).status_code == 302
    after = session_data(client)
    assert "planted" not in after
    assert after["sid"] != "attacker-chosen-session-id"
    assert after.get("csrf_token") != before_csrf
    assert client.get_cookie(COOKIE).value != before_cookie
    assert db.session.get(LoginSession, "attacker-chosen-session-id") is None
    first_sid = after["sid"]
    post_form(client, "/uitloggen", {}, token_from="/")
    assert login(client, user.email, PASSWORD).status_code == 302
    assert session_data(client)["sid"] != first_sid


def test_logout_ends_the_server_side_session_and_old_cookie_is_refused(client):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    assert is_logged_in(client)
    sid = session_data(client)["sid"]
    old_cookie = client.get_cookie(COOKIE).value
    response = post_form(client, "/uitloggen", {}, token_from="/")
    assert response.status_code == 302 and path_of(response) == "/inloggen"
    db.session.expire_all()
    assert db.session.get(LoginSession, sid).ended_at is not None
    assert not is_logged_in(client)
    client.set_cookie(COOKIE, old_cookie)  # replay the cookie from before logout
    assert not is_logged_in(client)
    assert len(audit("auth.logout")) == 1


def test_logout_needs_csrf_token(client):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    response = client.post("/uitloggen", data={})
    assert response.status_code == 400
    assert is_logged_in(client)


def test_idle_timeout(client, app):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    sid = session_data(client)["sid"]
    idle = app.config["SESSION_IDLE_MINUTES"]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=idle - 2), tick=False):
        assert is_logged_in(client)  # activity moves the idle deadline
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2 * idle - 4), tick=False):
        assert is_logged_in(client)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=3 * idle), tick=False):
        assert not is_logged_in(client)
    db.session.expire_all()
    assert db.session.get(LoginSession, sid).ended_at is not None
    assert not is_logged_in(client)  # and it stays ended


def test_absolute_timeout_despite_activity(client, app):
    user = make_user("deelnemer")
    start = datetime.now(UTC)
    login(client, user.email, PASSWORD)
    hours = app.config["SESSION_ABSOLUTE_HOURS"]
    step = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] - 5)
    moment = start
    while moment + step < start + timedelta(hours=hours) - timedelta(minutes=1):
        moment += step
        with time_machine.travel(moment, tick=False):
            assert is_logged_in(client), moment - start
    with time_machine.travel(start + timedelta(hours=hours, minutes=1), tick=False):
        assert not is_logged_in(client)


# --- two-factor login ---------------------------------------------------------------------

def test_totp_user_needs_the_code(client):
    user = make_user("deelnemer", totp=True)
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 302 and path_of(response) == "/inloggen/code"
    assert not is_logged_in(client)  # the password alone is not a login
    assert "sid" not in session_data(client)
    response = post_form(client, "/inloggen/code", {"code": fresh_code(user)})
    assert response.status_code == 302 and path_of(response) == "/"
    assert is_logged_in(client)
    row = db.session.get(LoginSession, session_data(client)["sid"])
    assert row.two_factor_done


def test_totp_code_works_once(client, app):
    user = make_user("deelnemer", totp=True)
    with time_machine.travel(datetime.now(UTC), tick=False):
        code = fresh_code(user)
        login(client, user.email, PASSWORD)
        assert post_form(client, "/inloggen/code", {"code": code}).status_code == 302
        other = app.test_client()
        login(other, user.email, PASSWORD)
        replay = post_form(other, "/inloggen/code", {"code": code})
        assert replay.status_code == 422
        assert "De code klopt niet of is al gebruikt." in html(replay)
        assert not is_logged_in(other)
    assert audit("auth.second_factor", "failure")


def test_wrong_totp_code_refused(client):
    user = make_user("deelnemer", totp=True)
    login(client, user.email, PASSWORD)
    response = post_form(client, "/inloggen/code", {"code": wrong_code(user.totp_secret)})
    assert response.status_code == 422
    assert "De code klopt niet" in html(response)
    assert not is_logged_in(client)
    assert len(audit("auth.second_factor", "failure")) == 1


def test_code_page_without_password_step_goes_back_to_login(client):
    response = client.get("/inloggen/code")
    assert response.status_code == 302 and path_of(response) == "/inloggen"


def test_pending_login_expires(client):
    user = make_user("deelnemer", totp=True)
    login(client, user.email, PASSWORD)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        response = post_form(client, "/inloggen/code", {"code": fresh_code(user)}, token_from="/inloggen")
        assert path_of(response) == "/inloggen"
        assert not is_logged_in(client)


@pytest.mark.parametrize("role", ["beheerder", "voorzitter", "privacy"])
def test_two_factor_roles_are_forced_to_enrol(app, client, role):
    assert role in app.config["TWO_FACTOR_ROLES"]
    user = make_user(role)
    org_id = user.organisation_id
    assert login(client, user.email, PASSWORD).status_code == 302
    for url in ("/", "/account/", "/beheer/organisaties", "/beheer/gebruikers",
                f"/beheer/organisaties/{org_id}", "/beheer/uitgaande-mail"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert path_of(response) == "/account/tweestapsverificatie", url
    token = csrf_token(client, "/account/tweestapsverificatie")
    response = client.post("/beheer/organisaties/nieuw", data={
        "csrf_token": token, "name": "Sneaky", "org_type": "cjg", "domain": "zorg"})
    assert path_of(response) == "/account/tweestapsverificatie"
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Sneaky")) is None
    assert client.get("/api/v1/me").status_code == 401  # the API ignores the cookie anyway
    page = client.get("/account/tweestapsverificatie")
    assert page.status_code == 200
    assert "Voor uw rol is tweestapsverificatie verplicht" in html(page)


def test_roles_outside_two_factor_list_are_not_forced(client):
    user = make_user("deelnemer", "secretaris")
    login(client, user.email, PASSWORD)
    assert client.get("/").status_code == 200


def test_enrolment_flow(client):
    user = make_user("voorzitter")
    login(client, user.email, PASSWORD)
    page = client.get("/account/tweestapsverificatie")
    body = html(page)
    assert "<svg" in body and "<img" not in body  # inline QR, no image request
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", body).group(1)
    assert client.get("/account/tweestapsverificatie").get_data(as_text=True).count(secret) >= 1  # stable
    wrong = post_form(client, "/account/tweestapsverificatie", {"code": wrong_code(secret)})
    assert wrong.status_code == 422 and "De code klopt niet" in html(wrong)
    assert not reload(user).totp_enabled
    response = post_form(client, "/account/tweestapsverificatie", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and path_of(response) == "/"
    user = reload(user)
    assert user.totp_enabled and user.totp_secret == secret
    assert client.get("/").status_code == 200
    assert len(audit("account.2fa_enabled")) == 1
    # from now on the login asks for the code
    client.post("/uitloggen", data={"csrf_token": csrf_token(client, "/")})
    assert path_of(login(client, user.email, PASSWORD)) == "/inloggen/code"


def test_demo_users_are_exempt_unless_demo_2fa(app, client, monkeypatch):
    user = make_user("beheerder")
    user.is_demo = True
    db.session.commit()
    login(client, user.email, PASSWORD)
    assert client.get("/").status_code == 200
    assert client.get("/beheer/organisaties").status_code == 200
    monkeypatch.setitem(app.config, "DEMO_2FA", True)
    response = client.get("/")
    assert response.status_code == 302 and path_of(response) == "/account/tweestapsverificatie"


# --- password change ----------------------------------------------------------------------

def change(client: FlaskClient, current: str, new: str, repeat: str | None = None):
    return post_form(client, "/account/wachtwoord", {
        "current_password": current, "new_password": new,
        "repeat_password": new if repeat is None else repeat})


def test_password_change_wrong_current_refused(client):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    response = change(client, "not my password", NEW_PASSWORD)
    assert response.status_code == 422
    assert "Het huidige wachtwoord klopt niet." in html(response)
    assert login(app_client := client.application.test_client(), user.email, PASSWORD).status_code == 302
    assert is_logged_in(app_client)
    assert audit("account.password_change", "failure")


@pytest.mark.parametrize(("new", "message"), [
    ("kort", "Het wachtwoord moet minstens 12 tekens lang zijn."),
    ("aaaaaaaaaaaaaaaa", "Het wachtwoord bestaat uit te weinig verschillende tekens."),
    (PASSWORD, "Kies een ander wachtwoord dan het huidige."),
])
def test_password_change_weak_password_refused(client, new, message):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    response = change(client, PASSWORD, new)
    assert response.status_code == 422
    assert message in html(response)
    assert login(client.application.test_client(), user.email, PASSWORD).status_code == 302
    assert not audit("account.password_change", "success")


def test_password_may_not_contain_the_name(client):
    user = make_user("deelnemer", name="Marieke Jansen")
    login(client, user.email, PASSWORD)
    response = change(client, PASSWORD, "ik ben marieke en dit is lang")
    assert response.status_code == 422
    assert "naam of e-mailadres" in html(response)


def test_password_change_repeat_must_match(client):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    response = change(client, PASSWORD, NEW_PASSWORD, repeat=NEW_PASSWORD + "x")
    assert response.status_code == 422
    assert "niet gelijk" in html(response)


def test_password_change_ends_other_sessions_but_keeps_this_one(app, client):
    user = make_user("deelnemer")
    other = app.test_client()
    login(client, user.email, PASSWORD)
    login(other, user.email, PASSWORD)
    assert is_logged_in(other)
    response = change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302 and path_of(response) == "/"
    assert is_logged_in(client)
    assert not is_logged_in(other)
    assert login(app.test_client(), user.email, PASSWORD).status_code == 422
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    assert len(audit("account.password_change", "success")) == 1


# --- beheerder actions that end access ------------------------------------------------------

def test_reset_forces_change_and_ends_sessions_and_tokens(app, beheerder_client):
    admin_client, _ = beheerder_client
    user = make_user("deelnemer")
    user_client = app.test_client()
    login(user_client, user.email, PASSWORD)
    token = api_token(app.test_client(), user)
    assert api_me(app.test_client(), token) == 200
    url = f"/beheer/gebruikers/{user.id}/wachtwoord-herstellen"
    response = post_form(admin_client, url, {}, token_from=f"/beheer/gebruikers/{user.id}")
    assert response.status_code == 200
    temporary = one_time_password(response)
    assert not is_logged_in(user_client)
    assert api_me(app.test_client(), token) == 401
    assert login(app.test_client(), user.email, PASSWORD).status_code == 422  # old password gone
    fresh = app.test_client()
    assert login(fresh, user.email, temporary).status_code == 302
    for url in ("/", "/account/", "/beheer/organisaties"):
        response = fresh.get(url)
        assert response.status_code == 302 and path_of(response) == "/account/wachtwoord", url
    page = fresh.get("/account/wachtwoord")
    assert page.status_code == 200 and "Kies een eigen wachtwoord" in html(page)
    # the API refuses a token until the password is changed
    refused = app.test_client().post("/api/v1/auth/token", json={"email": user.email, "password": temporary})
    assert refused.status_code == 403
    assert change(fresh, temporary, NEW_PASSWORD).status_code == 302
    assert fresh.get("/").status_code == 200
    assert len(audit("user.password_reset")) == 1
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "password_reset")).all()
    assert len(mails) == 1 and temporary not in mails[0].body


def test_deactivation_ends_sessions_and_tokens_at_once(app, beheerder_client):
    admin_client, _ = beheerder_client
    user = make_user("deelnemer")
    user_client = app.test_client()
    login(user_client, user.email, PASSWORD)
    assert is_logged_in(user_client)
    token = api_token(app.test_client(), user)
    response = post_form(admin_client, f"/beheer/gebruikers/{user.id}/deactiveren", {},
                         token_from="/beheer/gebruikers")
    assert response.status_code == 302
    assert not reload(user).active
    assert not is_logged_in(user_client)
    assert api_me(app.test_client(), token) == 401
    open_rows = db.session.scalars(select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))).all()
    assert open_rows == []
    assert all(t.revoked_at is not None for t in db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)))
    refused = login(app.test_client(), user.email, PASSWORD)
    assert refused.status_code == 422 and "gedeactiveerd" in html(refused)
    assert len(audit("user.deactivated")) == 1
    # reactivation does not revive the old session
    post_form(admin_client, f"/beheer/gebruikers/{user.id}/activeren", {}, token_from="/beheer/gebruikers")
    assert reload(user).active
    assert not is_logged_in(user_client)
    assert api_me(app.test_client(), token) == 401


def test_beheerder_cannot_deactivate_self(beheerder_client):
    admin_client, admin = beheerder_client
    response = post_form(admin_client, f"/beheer/gebruikers/{admin.id}/deactiveren", {},
                         token_from="/beheer/gebruikers", follow_redirects=True)
    assert "U kunt uw eigen account niet deactiveren." in html(response)
    assert reload(admin).active
    assert is_logged_in(admin_client)


# --- cookies and CSRF -----------------------------------------------------------------------

def set_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    assert headers, response.headers
    return headers[-1]


def test_session_cookie_flags(client):
    user = make_user("deelnemer")
    header = set_cookie_header(login(client, user.email, PASSWORD))
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header


def test_session_cookie_secure_when_configured(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    user = make_user("deelnemer")
    header = set_cookie_header(login(client, user.email, PASSWORD))
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header


def test_production_config_makes_cookies_secure(tmp_path, monkeypatch):
    key_file = tmp_path / "keys.json"
    create_key_file(key_file)
    monkeypatch.setenv("NETWERK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("NETWERK_KEY_FILE", str(key_file))
    monkeypatch.delenv("NETWERK_SECURE_COOKIES", raising=False)
    cfg = load_config()
    assert cfg.SESSION_COOKIE_SECURE and cfg.SESSION_COOKIE_HTTPONLY and cfg.SESSION_COOKIE_SAMESITE == "Lax"
    saved = dict(vars(limiter))
    try:
        prod = make_app(tmp_path, f"sqlite:///{tmp_path / 'prod.sqlite3'}", KEY_FILE=key_file)
    finally:
        vars(limiter).clear()
        vars(limiter).update(saved)
    assert prod.config["SESSION_COOKIE_SECURE"]
    with prod.app_context():
        try:
            response = prod.test_client().get("/inloggen")
        finally:
            db.session.remove()
            db.engine.dispose()
    header = set_cookie_header(response)
    assert "Secure" in header and "HttpOnly" in header and "SameSite=Lax" in header
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("token", [None, "not-a-real-token"])
def test_form_post_without_valid_csrf_is_refused_and_changes_nothing(app, client, token):
    user = make_user("deelnemer")
    data = {"email": user.email, "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    client.get("/inloggen")
    audit_rows = db.session.scalar(select(func.count()).select_from(AuditEntry))
    response = client.post("/inloggen", data=data)
    assert response.status_code == 400
    assert "Het formulier is verlopen of ongeldig" in html(response)
    assert not is_logged_in(client)
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_rows


def test_csrf_token_of_another_session_is_refused(app, beheerder_client):
    admin_client, _ = beheerder_client
    foreign = csrf_token(app.test_client(), "/inloggen")
    response = admin_client.post("/beheer/organisaties/nieuw", data={
        "csrf_token": foreign, "name": "Via CSRF", "org_type": "cjg", "domain": "zorg"})
    assert response.status_code == 400
    assert "Het formulier is verlopen of ongeldig" in html(response)
    assert db.session.scalar(select(Organisation).where(Organisation.name == "Via CSRF")) is None


# --- the audit trail ------------------------------------------------------------------------

def test_every_auth_event_is_audited_without_passwords_or_emails(app, beheerder_client):
    admin_client, admin = beheerder_client
    user = make_user("deelnemer", name="Piet Puk")
    client = app.test_client()
    login(client, "onbekend.adres@example.test", "een fout wachtwoord")
    login(client, user.email, "een fout wachtwoord")
    login(client, user.email, PASSWORD)
    change(client, "nog een fout wachtwoord", NEW_PASSWORD)
    change(client, PASSWORD, NEW_PASSWORD)
    post_form(client, "/uitloggen", {}, token_from="/")
    token = api_token(app.test_client(), user, NEW_PASSWORD)
    reset = post_form(admin_client, f"/beheer/gebruikers/{user.id}/wachtwoord-herstellen", {},
                      token_from=f"/beheer/gebruikers/{user.id}")
    temporary = one_time_password(reset)
    post_form(admin_client, f"/beheer/gebruikers/{user.id}/deactiveren", {}, token_from="/beheer/gebruikers")
    enrol = make_user("privacy")
    enrol_client = app.test_client()
    login(enrol_client, enrol.email, PASSWORD)
    enrol_page = html(enrol_client.get("/account/tweestapsverificatie"))
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", enrol_page)
    post_form(enrol_client, "/account/tweestapsverificatie", {"code": pyotp.TOTP(secret.group(1)).now()})

    actions = {(e.action, e.outcome) for e in db.session.scalars(select(AuditEntry))}
    for expected in [("auth.login", "failure"), ("auth.login", "success"), ("auth.logout", "success"),
                     ("account.password_change", "failure"), ("account.password_change", "success"),
                     ("auth.token_issued", "success"), ("user.password_reset", "success"),
                     ("user.deactivated", "success"), ("account.2fa_enabled", "success"),
                     ("user.created", "success")]:
        assert expected in actions, expected

    secrets = [PASSWORD, NEW_PASSWORD, "een fout wachtwoord", "nog een fout wachtwoord", temporary, token,
               user.email, admin.email, enrol.email, "onbekend.adres@example.test", "onbekend.adres",
               user.email.split("@")[0], "Piet Puk", secret.group(1)]
    for entry in db.session.scalars(select(AuditEntry)):
        dumped = json.dumps({c.name: getattr(entry, c.name) for c in AuditEntry.__table__.columns},
                            default=str, ensure_ascii=False).lower()
        for value in secrets:
            assert value.lower() not in dumped, (entry.action, value)
