"""Findings of the security and privacy review, one test (or a few) per finding.

Each test failed before its fix. Tests that race two requests only fail on PostgreSQL
without the fix (SQLite's BEGIN IMMEDIATE serialises whole transactions anyway); they run
on both backends so the embedded mode keeps the guarantee too.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pyotp
import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.extensions import limiter
from netwerk.models import ApiToken, LoginSession, Organisation, User
from netwerk.operations import auth as login_ops
from netwerk.security import check_password
from privacy.audit import blind, checkpoint_file, create_checkpoint, entry_digest, verify_chain
from privacy.models import AuditCheckpoint, AuditEntry
from privacy.policy import decide
from tests.conftest import CSRF_RE, csrf_token, login, post_form
from tests.factories import PASSWORD, SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import fresh_code, html, logged_in, path_of, reload, wrong_code
from tests.privacy.test_audit import _fill, _tamper

COOKIE = "netwerk_session"
NEW_PASSWORD = "a brand new passphrase 42"


# --- helpers ------------------------------------------------------------------------------

def is_logged_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def request_token(client: FlaskClient, email: str, password: str = PASSWORD, **extra):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password, **extra})


def api_token(app: Flask, user: User) -> str:
    extra = {"otp": fresh_code(user)} if reload(user).totp_enabled else {}
    response = request_token(app.test_client(), user.email, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["access_token"]


def api_me(app: Flask, token: str) -> int:
    return app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def enrolment_secret(client: FlaskClient) -> str:
    page = client.get("/account/tweestapsverificatie")
    assert page.status_code == 200, page.status_code
    return re.search(r"<code>([A-Z2-7]{16,})</code>", html(page)).group(1)


def user_form(org: Organisation, roles: list[str], **values) -> dict:
    return {"name": "Anna de Vries", "email": "anna@example.test", "phone": "",
            "organisation_id": str(org.id), "roles": roles, **values}


def in_parallel(*calls) -> list:
    """Run ``calls`` at the same moment, each in its own thread (and so its own app context
    and database session, as separate requests in production)."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


# --- 1. the lock-out must also stop guessing of the second factor -------------------------

def test_totp_guessing_through_the_api_is_locked_out(client, app):
    """Each token request checks the password first; that success used to reset the
    failure count, so a wrong ``otp`` never added up to a lock-out."""
    user = make_user("deelnemer", totp=True)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        response = request_token(client, user.email, otp=wrong_code(user.totp_secret))
        assert response.status_code == 401
    assert reload(user).locked_until is not None
    response = request_token(client, user.email, otp=fresh_code(user))
    assert response.status_code == 401
    assert db.session.scalar(select(ApiToken)) is None


def test_totp_guessing_by_starting_the_login_again_is_locked_out(client, app):
    user = make_user("deelnemer", totp=True)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert path_of(login(client, user.email, PASSWORD)) == "/inloggen/code"
        assert post_form(client, "/inloggen/code", {"code": wrong_code(user.totp_secret)}).status_code == 422
    assert reload(user).locked_until is not None
    assert login(client, user.email, PASSWORD).status_code == 422
    assert not is_logged_in(client)


def test_a_completed_two_factor_login_still_resets_the_count(client, app):
    user = make_user("deelnemer", totp=True)
    login(client, user.email, "wrong password one")
    assert reload(user).failed_logins == 1
    logged_in(client, user)
    assert reload(user).failed_logins == 0


# --- 2. failure counts and one-time codes under parallel requests -------------------------

def test_parallel_wrong_passwords_are_all_counted(app, monkeypatch):
    """Read-modify-write of ``failed_logins`` without a row lock let parallel attempts
    overwrite each other's count (PostgreSQL), so a burst of guesses counted as one."""
    user = make_user("deelnemer")
    real = login_ops.check_password

    def slow_check(password_hash: str, password: str) -> bool:
        time.sleep(0.3)  # every attempt reads the count before any of them writes it
        return real(password_hash, password)

    monkeypatch.setattr(login_ops, "check_password", slow_check)
    clients = [app.test_client() for _ in range(4)]
    tokens = [csrf_token(c, "/inloggen") for c in clients]
    email = user.email
    db.session.rollback()  # SQLite: this test's own session must not hold the write lock
    statuses = in_parallel(*[
        (lambda c=c, t=t: c.post("/inloggen", data={"csrf_token": t, "email": email,
                                                    "password": "wrong password one"}).status_code)
        for c, t in zip(clients, tokens, strict=True)
    ])
    assert statuses == [422] * 4
    assert reload(user).failed_logins == 4


def test_one_code_cannot_finish_two_parallel_logins(app, monkeypatch):
    user = make_user("deelnemer", totp=True)
    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        assert path_of(login(c, user.email, PASSWORD)) == "/inloggen/code"
    tokens = [csrf_token(c, "/inloggen/code") for c in clients]
    real = login_ops.verify_totp

    def slow_verify(secret: str, code: str, last: int | None) -> int | None:
        result = real(secret, code, last)
        time.sleep(0.3)  # both requests have checked the code before either records it
        return result

    monkeypatch.setattr(login_ops, "verify_totp", slow_verify)
    with time_machine.travel(datetime.now(UTC), tick=False):
        code = fresh_code(user)
        db.session.rollback()  # SQLite: this test's own session must not hold the write lock
        statuses = in_parallel(*[
            (lambda c=c, t=t: c.post("/inloggen/code", data={"csrf_token": t, "code": code}).status_code)
            for c, t in zip(clients, tokens, strict=True)
        ])
    assert sorted(statuses) == [302, 422]
    assert count(LoginSession) == 1


# --- 3. the out-of-database checkpoint copy must be checked on its own --------------------

def _rehash_from(seq: int, summary: str) -> str:
    """Rewrite entry ``seq`` and re-hash the rest, as a database administrator could."""
    rows = [dict(r) for r in db.session.execute(
        select(AuditEntry.__table__).order_by(AuditEntry.seq)).mappings()]
    rows[seq - 1]["summary"] = summary
    prev = rows[seq - 2]["entry_hash"]
    for row in rows[seq - 1:]:
        row["prev_hash"] = prev
        row["entry_hash"] = prev = entry_digest(row)
    for row in rows[seq - 1:]:
        _tamper("UPDATE audit_entry SET summary = :s, prev_hash = :p, entry_hash = :h WHERE seq = :seq",
                s=row["summary"], p=row["prev_hash"], h=row["entry_hash"], seq=row["seq"])
    return prev


def test_rewritten_checkpoint_row_does_not_hide_a_rehashed_chain(app):
    """The database row of a checkpoint is re-pointed at the re-hashed head with a made-up
    key fingerprint (so its signature was not checked) and its signature left as it was (so
    the file's copy was taken for the same checkpoint and skipped)."""
    _fill(6)
    create_checkpoint()
    db.session.commit()
    assert checkpoint_file().exists()
    new_head = _rehash_from(3, "rewritten")
    cp = db.session.scalar(select(AuditCheckpoint))
    cp.entry_hash = new_head
    cp.key_fingerprint = "ed25519:" + "f" * 32
    db.session.commit()
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 6


def test_checkpoint_by_an_unknown_key_is_not_counted_as_verified(app):
    _fill(3)
    create_checkpoint()
    db.session.commit()
    checkpoint_file().unlink()
    cp = db.session.scalar(select(AuditCheckpoint))
    cp.key_fingerprint = "ed25519:" + "0" * 32
    db.session.commit()
    result = verify_chain()
    assert not result.ok
    assert "unknown key" in result.problem


@pytest.mark.parametrize("line", ["{not json", '{"seq": 3}', '["a list"]',
                                  '{"seq": "3", "entry_hash": 1, "created_at": 2, "key_fingerprint": 3, '
                                  '"signature": 4}'])
def test_damaged_checkpoint_file_is_reported_not_a_traceback(app, line):
    _fill(3)
    create_checkpoint()
    db.session.commit()
    with checkpoint_file().open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    result = verify_chain()
    assert not result.ok
    assert "checkpoint file" in result.problem
    cli = app.test_cli_runner().invoke(args=["privacy", "verify-audit"])
    assert cli.exit_code == 1
    assert "AUDITLOG NIET IN ORDE" in cli.output and "Traceback" not in cli.output


# --- 4. a password change ends the API tokens too -----------------------------------------

def test_password_change_revokes_api_tokens(app, client):
    """Whoever knew the old password and fetched a token kept API access for up to 8 hours."""
    user = make_user("deelnemer")
    token = api_token(app, user)
    assert api_me(app, token) == 200
    login(client, user.email, PASSWORD)
    response = post_form(client, "/account/wachtwoord", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "repeat_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert api_me(app, token) == 401
    assert is_logged_in(client)  # the session that changed it stays


# --- 5. the pending TOTP secret is not readable from the session cookie -------------------

def cookie_payload(app: Flask, client: FlaskClient) -> str:
    """What anybody holding the cookie can read: Flask signs the session, it does not encrypt."""
    value = client.get_cookie(COOKIE).value
    return json.dumps(app.session_interface.get_signing_serializer(app).loads(value))


def test_pending_totp_secret_is_not_in_the_cookie(app, client):
    user = make_user("voorzitter")
    login(client, user.email, PASSWORD)
    secret = enrolment_secret(client)
    assert secret not in cookie_payload(app, client)
    assert enrolment_secret(client) == secret  # stable while enrolling
    response = post_form(client, "/account/tweestapsverificatie", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and path_of(response) == "/"
    assert reload(user).totp_secret == secret


def test_pending_totp_secret_is_bound_to_its_session(app):
    first, second = make_user("voorzitter"), make_user("voorzitter")
    a, b = app.test_client(), app.test_client()
    login(a, first.email, PASSWORD)
    login(b, second.email, PASSWORD)
    secret_a = enrolment_secret(a)
    with a.session_transaction() as sess:
        carried = sess["totp_pending"]
    with b.session_transaction() as sess:
        sess["totp_pending"] = carried
    assert enrolment_secret(b) != secret_a
    with b.session_transaction() as sess:
        sess["totp_pending"] = "rubbish"
    assert re.fullmatch(r"[A-Z2-7]{16,}", enrolment_secret(b))


# --- 6. a beheerder cannot grant themselves roles -----------------------------------------

def test_beheerder_cannot_change_own_roles(admin):
    client, beheerder = admin
    before = count(AuditEntry)
    response = post_form(client, f"/beheer/gebruikers/{beheerder.id}", user_form(
        beheerder.organisation, ["beheerder", "privacy", "voorzitter"], name=beheerder.name,
        email=beheerder.email))
    assert response.status_code == 422
    assert "U kunt uw eigen rollen niet wijzigen." in html(response)
    assert reload(beheerder).roles == {"beheerder"}
    assert count(AuditEntry) == before
    # the rest of their own record they may still edit
    response = post_form(client, f"/beheer/gebruikers/{beheerder.id}", user_form(
        beheerder.organisation, ["beheerder"], name="Nieuwe Naam", email=beheerder.email))
    assert response.status_code == 302
    assert reload(beheerder).name == "Nieuwe Naam"


# --- 7. demo accounts (public password, no 2FA) only in demo mode -------------------------

def test_demo_accounts_cannot_log_in_outside_demo_mode(app, client, monkeypatch):
    user = make_user("beheerder")
    user.is_demo = True
    db.session.commit()
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 422
    assert "demo" in html(response).lower()
    assert not is_logged_in(client)
    assert request_token(app.test_client(), user.email).status_code == 401
    assert count(LoginSession) == 0 and count(ApiToken) == 0


def test_demo_command_refuses_outside_demo_mode(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code != 0
    assert "netwerk-demo-2026" not in result.output
    assert count(User) == 0 and count(Organisation) == 0


# --- 8. a deactivated organisation's people lose access ------------------------------------

def test_deactivating_an_organisation_ends_its_users_access(app, admin):
    admin_client, _ = admin
    org = make_org("Vertrokken Partner")
    user = make_user("deelnemer", org=org)
    user_client = app.test_client()
    login(user_client, user.email, PASSWORD)
    assert is_logged_in(user_client)
    token = api_token(app, user)
    response = post_form(admin_client, f"/beheer/organisaties/{org.id}/deactiveren", {},
                         token_from="/beheer/organisaties")
    assert response.status_code == 302
    assert not is_logged_in(user_client)
    assert api_me(app, token) == 401
    refused = login(app.test_client(), user.email, PASSWORD)
    assert refused.status_code == 422 and "organisatie" in html(refused)
    assert request_token(app.test_client(), user.email).status_code == 401
    post_form(admin_client, f"/beheer/organisaties/{org.id}/activeren", {}, token_from="/beheer/organisaties")
    assert not is_logged_in(user_client)  # reactivation does not revive the old session
    assert api_me(app, token) == 401


def test_deactivation_during_the_code_step_stops_the_login(app, client):
    org = make_org()
    user = make_user("deelnemer", org=org, totp=True)
    assert path_of(login(client, user.email, PASSWORD)) == "/inloggen/code"
    ops.set_organisation_active(org, False, SYSTEM)
    db.session.commit()
    response = post_form(client, "/inloggen/code", {"code": fresh_code(user)}, token_from="/inloggen")
    assert path_of(response) == "/inloggen"
    assert not is_logged_in(client) and count(LoginSession) == 0


def test_beheerder_cannot_deactivate_own_organisation(admin):
    client, beheerder = admin
    response = post_form(client, f"/beheer/organisaties/{beheerder.organisation_id}/deactiveren", {},
                         token_from="/beheer/organisaties", follow_redirects=True)
    assert response.status_code == 200
    assert "U kunt uw eigen organisatie niet deactiveren." in html(response)
    db.session.expire_all()
    assert db.session.get(Organisation, beheerder.organisation_id).active
    assert is_logged_in(client)


# --- 9. the privacy gate checks that the acting role is one the viewer holds ---------------

def test_privacy_gate_refuses_a_role_the_viewer_does_not_hold(app):
    admin = make_user("beheerder")
    make_covenant(admin.organisation, rules=[allow(admin.organisation)])
    decision = decide(actor_for(admin, "voorzitter"), subjects=[blind("family", "f-1")],
                      category="zorgen", purpose="signalering")
    assert not decision.allowed
    assert decision.reason == "role_not_held"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")).one()
    assert entry.outcome == "denied"


# --- 10. database errors carry no values into logs ----------------------------------------

def test_database_errors_do_not_carry_the_statement_values(app):
    """An unexpected database error is logged with its message; that message must not hold
    password hashes, e-mail addresses or ciphertexts from the statement's parameters."""
    with pytest.raises(IntegrityError) as info:
        db.session.execute(User.__table__.insert().values(
            id=uuid.uuid4(), email="verborgen@example.test", name="Verborgen", organisation_id=uuid.uuid4(),
            password_hash="$argon2id$geheime-hash"))
    db.session.rollback()
    message = str(info.value)
    assert "geheime-hash" not in message and "verborgen@example.test" not in message


# --- 11. password re-checks inside a session are rate limited ------------------------------

def test_current_password_guessing_is_rate_limited(limited_app):
    user = make_user("deelnemer")
    client = limited_app.test_client()
    assert login(client, user.email, PASSWORD).status_code == 302
    form = {"current_password": "guess one two three", "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD}
    for _ in range(3):
        assert post_form(client, "/account/wachtwoord", form).status_code == 422
    blocked = post_form(client, "/account/wachtwoord", dict(form, current_password=PASSWORD))
    assert blocked.status_code == 429 and "Te veel pogingen" in html(blocked)
    assert check_password(reload(user).password_hash, PASSWORD)


def test_disable_two_factor_password_guessing_is_rate_limited(limited_app):
    user = make_user("deelnemer", totp=True)
    client = limited_app.test_client()
    logged_in(client, user)
    for _ in range(3):
        response = post_form(client, "/account/tweestapsverificatie/uit", {"password": "guess one two"},
                             token_from="/account/")
        assert response.status_code == 422
    blocked = post_form(client, "/account/tweestapsverificatie/uit", {"password": PASSWORD},
                        token_from="/account/")
    assert blocked.status_code == 429
    assert reload(user).totp_enabled


# --- 12. forms keep working over HTTPS --------------------------------------------------------

def test_forms_work_over_https_under_the_pages_referrer_policy(app):
    """Flask-WTF refuses a form POST over HTTPS without a same-origin Referer, and with
    ``Referrer-Policy: no-referrer`` a browser sends none: every form, the login included,
    failed in production. The policy must keep URLs from other sites and still let a
    same-origin form post carry its origin."""
    user = make_user("deelnemer")
    client = app.test_client()
    base = "https://netwerk.test"
    page = client.get("/inloggen", base_url=base)
    policy = page.headers["Referrer-Policy"]
    assert policy in {"same-origin", "no-referrer"}  # nothing leaves for another site
    match = CSRF_RE.search(html(page))
    token = match.group(1) or match.group(2)
    # what a browser sends with this same-origin form post under the page's policy
    headers = {} if policy == "no-referrer" else {"Referer": base + "/inloggen"}
    response = client.post("/inloggen", base_url=base, headers=headers,
                            data={"csrf_token": token, "email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and path_of(response) == "/", html(response)[:300]
    # the referrer check itself stays: a post from another site is still refused
    other = app.test_client()
    page = other.get("/inloggen", base_url=base)
    match = CSRF_RE.search(html(page))
    refused = other.post("/inloggen", base_url=base, headers={"Referer": "https://evil.test/"},
                         data={"csrf_token": match.group(1) or match.group(2), "email": user.email,
                               "password": PASSWORD})
    assert refused.status_code == 400


# --- 13. the embedded instance folder is private ---------------------------------------------

def test_new_instance_folder_is_private(monkeypatch, tmp_path):
    """The embedded default keeps the SQLite database (password hashes, e-mail addresses,
    the audit log) in the instance folder; other local users must not be able to read it."""
    from netwerk import create_app

    for name in ("NETWERK_ENV", "SECRET_KEY", "NETWERK_KEY_FILE", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    instance = tmp_path / "nieuw" / "instance"
    monkeypatch.setenv("NETWERK_INSTANCE_PATH", str(instance))
    saved = dict(vars(limiter))
    try:
        create_app({"EMBEDDED_WORKER_AUTOSTART": False})
    finally:
        vars(limiter).clear()
        vars(limiter).update(saved)
    assert instance.is_dir()
    assert instance.stat().st_mode & 0o077 == 0, oct(instance.stat().st_mode)
