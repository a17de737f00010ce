"""Bad input on every form and API endpoint: a clear Dutch refusal (400/413/415/422), never
a 500 or a traceback, and nothing written. HTML in names is stored as given and always
rendered escaped."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from netwerk.db import db
from netwerk.models import Organisation, User
from netwerk.validators import small_number
from privacy.models import AuditEntry
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, make_org, make_user
from tests.helpers import fresh_code, full_login, html, path_of

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
BREAKOUT = '"><script>alert(2)</script>'
OVER_1MB = "x" * (1024 * 1024 + 10)
UNKNOWN_FIELDS = "onbekende velden"
REQUIRED = "Dit veld is verplicht."
TOO_BIG = "Het verzoek is te groot (maximaal 1 MB)."


# --- helpers ------------------------------------------------------------------------------

def snapshot() -> dict[str, list[str]]:
    """Every row of every table, so an insert, update or delete anywhere shows up. The audit
    subject index is left out: it is derived from ``audit_entry`` rows, checked there."""
    db.session.expire_all()
    return {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
        for table in db.metadata.sorted_tables if table.name != "audit_subject"
    }


def new_rows(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [r for r in after[name] if r not in before[name]] for name in after
            if after[name] != before[name]}


def login_failure_audits_only(before: dict, after: dict) -> None:
    """The only writes a refused login may leave: its failure audit entries and the user's
    failure counter (asserted by the caller where it matters)."""
    changed = new_rows(before, after)
    assert set(changed) <= {"audit_entry", "user_account"}, changed
    added = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())
                               .limit(len(changed.get("audit_entry", [])))).all()
    for entry in added:
        assert entry.outcome == "failure" and entry.action in ("auth.login", "auth.second_factor"), entry.action
    assert len(after["audit_entry"]) >= len(before["audit_entry"])


def assert_refused(response, statuses: tuple[int, ...] = (422,), message: str | None = None) -> str:
    assert response.status_code in statuses, (response.status_code, html(response)[:3000])
    body = html(response)
    assert "Traceback" not in body and "File \"" not in body
    if response.mimetype == "application/json":
        error = response.get_json()["error"]
        assert set(error) >= {"code", "message"} and error["message"]
        if message:
            assert message in error["message"] or any(message in d["message"] for d in error.get("details", []))
    else:
        assert '<html lang="nl">' in body
        if message:
            assert message in body, body
    return body


def assert_form_refused(client: FlaskClient, url: str, data: dict, message: str | None,
                        statuses: tuple[int, ...] = (422,), token_from: str | None = None,
                        allow: Callable[[dict, dict], None] | None = None) -> str:
    before = snapshot()
    response = post_form(client, url, data, token_from=token_from)
    body = assert_refused(response, statuses, message)
    after = snapshot()
    if allow:
        allow(before, after)
    else:
        assert after == before, new_rows(before, after)
    assert SCRIPT not in body and BREAKOUT not in body
    return body


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert full_login(client, make_user("beheerder", totp=True)).status_code == 302
    return client


# --- the login form -----------------------------------------------------------------------

LOGIN_CASES = [
    pytest.param({"password": PASSWORD}, REQUIRED, id="email-missing"),
    pytest.param({"email": "{email}"}, REQUIRED, id="password-missing"),
    pytest.param({"email": "", "password": PASSWORD}, REQUIRED, id="email-empty"),
    pytest.param({"email": "not-an-email", "password": PASSWORD}, "Vul een geldig e-mailadres in.", id="email-bad"),
    pytest.param({"email": "a" * 250 + "@example.test", "password": PASSWORD}, "hoogstens 254 tekens",
                 id="email-too-long"),
    pytest.param({"email": "{email}", "password": "p" * 257}, "hoogstens 256 tekens", id="password-too-long"),
    pytest.param({"email": "{email}", "password": PASSWORD, "remember": "1"}, UNKNOWN_FIELDS, id="unknown-field"),
    pytest.param({"email": SCRIPT, "password": PASSWORD}, "Vul een geldig e-mailadres in.", id="email-html"),
    pytest.param({"email": "a\x00b@example.test", "password": PASSWORD}, "Vul een geldig e-mailadres in.",
                 id="email-nul"),
]


@pytest.mark.parametrize(("data", "message"), LOGIN_CASES)
def test_login_form_bad_input(client, data, message):
    user = make_user("deelnemer")
    data = {k: v.replace("{email}", user.email) for k, v in data.items()}
    assert_form_refused(client, "/inloggen", data, message)
    assert path_of(client.get("/")) == "/inloggen"


def test_login_password_with_nul_is_just_a_failed_login(client):
    user = make_user("deelnemer")
    before = snapshot()
    response = login(client, user.email, PASSWORD + "\x00")
    assert_refused(response, message="E-mailadres of wachtwoord klopt niet.")
    login_failure_audits_only(before, snapshot())


def test_login_body_over_1mb(client):
    user = make_user("deelnemer")
    assert_form_refused(client, "/inloggen", {"email": user.email, "password": OVER_1MB}, TOO_BIG,
                        statuses=(413,))


# --- the second-factor code form -------------------------------------------------------------

CODE_CASES = [
    pytest.param({}, REQUIRED, id="missing"),
    pytest.param({"code": ""}, REQUIRED, id="empty"),
    pytest.param({"code": "12345678"}, "Vul de code van 6 cijfers in.", id="too-long"),
    pytest.param({"code": "123"}, "Vul de code van 6 cijfers in.", id="too-short"),
    pytest.param({"code": "abcdef"}, "De code klopt niet", id="letters"),
    pytest.param({"code": "١٢٣٤٥٦"}, "De code klopt niet", id="arabic-indic-digits"),
    pytest.param({"code": "１２３４５６"}, "De code klopt niet", id="fullwidth-digits"),
    pytest.param({"code": "12\x003456"}, "De code klopt niet", id="nul"),
    pytest.param({"code": "<b>1</b>"}, "Vul de code van 6 cijfers in.", id="html"),
    pytest.param({"code": "<b>1"}, "Vul de code van 6 cijfers in.", id="html-short"),
    pytest.param({"code": "<i>12>"}, "De code klopt niet", id="html-six"),
    pytest.param({"code": "123456", "trust_device": "1"}, UNKNOWN_FIELDS, id="unknown-field"),
    pytest.param({"code": OVER_1MB}, TOO_BIG, id="over-1mb"),
]


@pytest.mark.parametrize(("data", "message"), CODE_CASES)
def test_second_factor_form_bad_input(client, data, message):
    user = make_user("deelnemer", totp=True)
    assert path_of(login(client, user.email, PASSWORD)) == "/inloggen/code"
    statuses = (413,) if message == TOO_BIG else (422,)
    assert_form_refused(client, "/inloggen/code", data, message, statuses=statuses,
                        allow=login_failure_audits_only)
    assert path_of(client.get("/")) == "/inloggen"
    # the pending login is still usable with the right code
    assert post_form(client, "/inloggen/code", {"code": fresh_code(user)}).status_code == 302


# --- password change ------------------------------------------------------------------------

def pw(current: str = PASSWORD, new: str = "een nieuw lang wachtwoord", repeat: str | None = None, **extra) -> dict:
    return {"current_password": current, "new_password": new, "repeat_password": new if repeat is None else repeat,
            **extra}


PASSWORD_CASES = [
    pytest.param({k: v for k, v in pw().items() if k != "current_password"}, REQUIRED, id="current-missing"),
    pytest.param({k: v for k, v in pw().items() if k != "new_password"}, REQUIRED, id="new-missing"),
    pytest.param({k: v for k, v in pw().items() if k != "repeat_password"}, REQUIRED, id="repeat-missing"),
    pytest.param(pw(new="n" * 257 + "abcde"), "hoogstens 256 tekens", id="new-too-long"),
    pytest.param(pw(current="c" * 300), "hoogstens 256 tekens", id="current-too-long"),
    pytest.param(pw(repeat="iets anders dan het nieuwe"), "niet gelijk", id="repeat-differs"),
    pytest.param(pw(new="kort"), "minstens 12 tekens", id="new-too-short"),
    pytest.param(pw(logout_others="0"), UNKNOWN_FIELDS, id="unknown-field"),
    pytest.param(pw(new=OVER_1MB), TOO_BIG, id="over-1mb"),
]


@pytest.mark.parametrize(("data", "message"), PASSWORD_CASES)
def test_password_change_bad_input(client, data, message):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    statuses = (413,) if message == TOO_BIG else (422,)
    assert_form_refused(client, "/account/wachtwoord", data, message, statuses=statuses)
    assert login(client.application.test_client(), user.email, PASSWORD).status_code == 302


def test_password_change_wrong_current_writes_only_its_failure_entry(client):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)
    before = snapshot()
    response = post_form(client, "/account/wachtwoord", pw(current="c\x00urrent"))
    assert_refused(response, message="Het huidige wachtwoord klopt niet.")
    changed = new_rows(before, snapshot())
    assert set(changed) == {"audit_entry"} and len(changed["audit_entry"]) == 1
    entry = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert (entry.action, entry.outcome) == ("account.password_change", "failure")


# --- two-factor enrolment ------------------------------------------------------------------

ENROL_CASES = [c for c in CODE_CASES if c.id != "over-1mb"] + [
    pytest.param({"code": "000000"}, "De code klopt niet", id="wrong-code"),
    pytest.param({"code": OVER_1MB}, TOO_BIG, id="over-1mb"),
]


@pytest.mark.parametrize(("data", "message"), ENROL_CASES)
def test_enrolment_form_bad_input(client, data, message):
    user = make_user("voorzitter")
    login(client, user.email, PASSWORD)
    page = html(client.get("/account/tweestapsverificatie"))
    secret = re.search(r"<code>([A-Z2-7]{16,})</code>", page).group(1)
    if data.get("code") == "000000" and pyotp.TOTP(secret).verify("000000", valid_window=1):
        data = {"code": "999999"}  # the one-in-a-million chance that 000000 is right now
    statuses = (413,) if message == TOO_BIG else (422,)
    assert_form_refused(client, "/account/tweestapsverificatie", data, message, statuses=statuses)
    db.session.expire_all()
    assert not db.session.get(User, user.id).totp_enabled


# --- the organisation form -----------------------------------------------------------------

def org(**values: str) -> dict:
    return {"name": "Wijkteam Oost", "org_type": "cjg", "domain": "zorg", "email": "", "phone": "", "address": "",
            **values}


def without(data: dict, key: str) -> dict:
    return {k: v for k, v in data.items() if k != key}


ORG_CASES = [
    pytest.param(without(org(), "name"), REQUIRED, id="name-missing"),
    pytest.param(org(name="   "), REQUIRED, id="name-blank"),
    pytest.param(org(name="X"), "Gebruik 2 tot 200 tekens.", id="name-too-short"),
    pytest.param(org(name="N" * 201), "Gebruik 2 tot 200 tekens.", id="name-too-long"),
    pytest.param(without(org(), "org_type"), None, id="org-type-missing"),
    pytest.param(org(org_type="ziekenhuis"), "Ongeldige keuze", id="org-type-unknown"),
    pytest.param(org(domain="sport"), "Ongeldige keuze", id="domain-unknown"),
    pytest.param(org(domain=SCRIPT), "Ongeldige keuze", id="domain-html"),
    pytest.param(org(email="geen e-mail"), "Vul een geldig e-mailadres in.", id="email-bad"),
    pytest.param(org(email="a" * 250 + "@example.test"), "hoogstens 254 tekens", id="email-too-long"),
    pytest.param(org(phone="0" * 41), "hoogstens 40 tekens", id="phone-too-long"),
    pytest.param(org(address="A" * 301), "hoogstens 300 tekens", id="address-too-long"),
    pytest.param(org(name="Wijk\x00team"), "Dit veld bevat ongeldige tekens.", id="name-nul"),
    pytest.param(org(phone="010\x00123"), "Dit veld bevat ongeldige tekens.", id="phone-nul"),
    pytest.param(org(address="Straat\x1b[31m 1"), "Dit veld bevat ongeldige tekens.", id="address-escape"),
    pytest.param(org(email="a\x00b@example.test"), "Vul een geldig e-mailadres in.", id="email-nul"),
    pytest.param(org(active="0"), UNKNOWN_FIELDS, id="unknown-field"),
    pytest.param(org(**{SCRIPT: "1"}), UNKNOWN_FIELDS, id="unknown-field-html-name"),
    pytest.param(org(address=OVER_1MB), TOO_BIG, id="over-1mb"),
]


@pytest.mark.parametrize(("data", "message"), ORG_CASES)
def test_new_organisation_bad_input(admin, data, message):
    statuses = (413,) if message == TOO_BIG else (422,)
    body = assert_form_refused(admin, "/beheer/organisaties/nieuw", data, message, statuses=statuses)
    if statuses == (422,):
        assert "Organisatie toevoegen" in body


@pytest.mark.parametrize(("data", "message"), ORG_CASES)
def test_edit_organisation_bad_input(admin, data, message):
    target = make_org("Bestaande Organisatie")
    statuses = (413,) if message == TOO_BIG else (422,)
    assert_form_refused(admin, f"/beheer/organisaties/{target.id}", data, message, statuses=statuses)
    db.session.expire_all()
    assert db.session.get(Organisation, target.id).name == "Bestaande Organisatie"


# --- the user form --------------------------------------------------------------------------

def user(organisation: Organisation, **values) -> dict:
    return {"name": "Els Evers", "email": "els@example.test", "phone": "", "organisation_id": str(organisation.id),
            "roles": ["deelnemer"], **values}


def user_cases(organisation: Organisation, inactive: Organisation) -> list[tuple[str, dict, str | None]]:
    base = user(organisation)
    return [
        ("name-missing", without(base, "name"), REQUIRED),
        ("name-too-short", user(organisation, name="E"), "Gebruik 2 tot 200 tekens."),
        ("name-too-long", user(organisation, name="E" * 201), "Gebruik 2 tot 200 tekens."),
        ("name-nul", user(organisation, name="Els\x00Evers"), "Dit veld bevat ongeldige tekens."),
        ("name-newline", user(organisation, name="Els\nEvers"), "Dit veld bevat ongeldige tekens."),
        ("email-missing", without(base, "email"), REQUIRED),
        ("email-bad", user(organisation, email="els@"), "Vul een geldig e-mailadres in."),
        ("email-html", user(organisation, email=SCRIPT), "Vul een geldig e-mailadres in."),
        ("email-nul", user(organisation, email="els\x00@example.test"), "Vul een geldig e-mailadres in."),
        ("email-too-long", user(organisation, email="e" * 250 + "@example.test"), "hoogstens 254 tekens"),
        ("phone-too-long", user(organisation, phone="0" * 41), "hoogstens 40 tekens"),
        ("phone-nul", user(organisation, phone="06\x00"), "Dit veld bevat ongeldige tekens."),
        ("organisation-missing", without(base, "organisation_id"), None),
        ("organisation-unknown", user(organisation, organisation_id="1f0c6b9e-0000-4000-8000-000000000000"),
         "Ongeldige keuze"),
        ("organisation-malformed", user(organisation, organisation_id="niet-een-id"), "Ongeldige keuze"),
        ("organisation-inactive", user(organisation, organisation_id=str(inactive.id)), "Ongeldige keuze"),
        ("roles-missing", without(base, "roles"), "Kies minstens één rol."),
        ("role-unknown", user(organisation, roles=["superuser"]), "ongeldige keuze"),
        ("role-unknown-among-good", user(organisation, roles=["deelnemer", "root"]), "ongeldige keuze"),
        ("role-html", user(organisation, roles=[SCRIPT]), "ongeldige keuze"),
        ("unknown-field", user(organisation, is_demo="1"), UNKNOWN_FIELDS),
        ("unknown-field-password", user(organisation, password="gekozen door de beheerder"), UNKNOWN_FIELDS),
        ("over-1mb", user(organisation, phone=OVER_1MB), TOO_BIG),
    ]


USER_CASE_IDS = [case[0] for case in user_cases(SimpleNamespace(id="-"), SimpleNamespace(id="-"))]


@pytest.mark.parametrize("case", USER_CASE_IDS)
def test_new_user_bad_input(admin, case):
    organisation = make_org("Goede Organisatie")
    inactive = make_org("Slapende Organisatie")
    inactive.active = False
    db.session.commit()
    _, data, message = next(c for c in user_cases(organisation, inactive) if c[0] == case)
    statuses = (413,) if message == TOO_BIG else (422,)
    assert_form_refused(admin, "/beheer/gebruikers/nieuw", data, message, statuses=statuses)


@pytest.mark.parametrize("case", USER_CASE_IDS)
def test_edit_user_bad_input(admin, case):
    organisation = make_org("Goede Organisatie")
    inactive = make_org("Slapende Organisatie")
    inactive.active = False
    db.session.commit()
    target = make_user("deelnemer", org=make_org("Huidige Organisatie"), email="els.oud@example.test",
                       name="Els Oud")
    _, data, message = next(c for c in user_cases(organisation, inactive) if c[0] == case)
    statuses = (413,) if message == TOO_BIG else (422,)
    assert_form_refused(admin, f"/beheer/gebruikers/{target.id}", data, message, statuses=statuses)
    db.session.expire_all()
    again = db.session.get(User, target.id)
    assert (again.name, again.email, again.roles) == ("Els Oud", "els.oud@example.test", {"deelnemer"})


def test_edit_user_onto_an_existing_email_changes_nothing(admin):
    make_user("deelnemer", email="bezet@example.test")
    target = make_user("deelnemer")
    assert_form_refused(admin, f"/beheer/gebruikers/{target.id}",
                        user(target.organisation, email="BEZET@example.test"),
                        "Er bestaat al een account met dit e-mailadres.")


# --- HTML in names: stored as given, rendered escaped everywhere ----------------------------

def test_html_in_names_is_stored_verbatim_and_always_escaped(app, admin):
    response = post_form(admin, "/beheer/organisaties/nieuw", org(name=SCRIPT, address=BREAKOUT))
    assert response.status_code == 302
    stored = db.session.scalar(select(Organisation).where(Organisation.name == SCRIPT))
    assert stored is not None and stored.address == BREAKOUT
    response = post_form(admin, "/beheer/gebruikers/nieuw", user(stored, name=SCRIPT, phone=BREAKOUT[:40]))
    assert response.status_code == 200
    pages = {"one-time password page": html(response)}
    initial = re.search(r'<p class="one-time"><code>([^<]+)</code>', pages["one-time password page"]).group(1)
    account = db.session.scalar(select(User).where(User.email == "els@example.test"))
    assert account.name == SCRIPT and account.organisation_id == stored.id
    for url in ("/beheer/organisaties", f"/beheer/organisaties/{stored.id}", "/beheer/gebruikers",
                f"/beheer/gebruikers/{account.id}", "/beheer/gebruikers/nieuw", "/beheer/uitgaande-mail"):
        page = admin.get(url)
        assert page.status_code == 200, url
        pages[url] = html(page)
    # the account's own pages: the password page (forced), then dashboard and account
    own = app.test_client()
    assert login(own, "els@example.test", initial).status_code == 302
    pages["password page"] = html(own.get("/account/wachtwoord"))
    assert post_form(own, "/account/wachtwoord", pw(current=initial)).status_code == 302
    pages["dashboard"] = html(own.get("/"))
    pages["account"] = html(own.get("/account/"))
    pages["error page header"] = html(own.get("/beheer/organisaties"))
    for where, body in pages.items():
        assert SCRIPT not in body, where
        assert "<script>alert(2)</script>" not in body, where
        assert ESCAPED in body, where
    assert pages["/beheer/organisaties/" + str(stored.id)].count(ESCAPED) >= 1
    assert "&#34;&gt;&lt;script&gt;alert(2)" in pages[f"/beheer/organisaties/{stored.id}"]
    assert f'<span class="who">{ESCAPED} · {ESCAPED}</span>' in pages["dashboard"]


def test_html_in_error_echo_is_escaped(admin):
    body = assert_form_refused(admin, "/beheer/organisaties/nieuw", org(name=SCRIPT, org_type=SCRIPT),
                               "Ongeldige keuze")
    assert ESCAPED in body  # the name field echoes the input, escaped


# --- the API ------------------------------------------------------------------------------

def api_refused(client: FlaskClient, status: int, message: str | None = None, **request) -> dict:
    before = snapshot()
    response = client.post("/api/v1/auth/token", **request)
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    if message:
        assert message in body["error"]["message"] or any(
            message in d["message"] for d in body["error"].get("details", []))
    assert snapshot() == before
    return body["error"]


@pytest.mark.parametrize(("payload", "field"), [
    pytest.param({}, "email", id="empty-object"),
    pytest.param({"password": PASSWORD}, "email", id="email-missing"),
    pytest.param({"email": "a@example.test"}, "password", id="password-missing"),
    pytest.param({"email": "", "password": PASSWORD}, "email", id="email-empty"),
    pytest.param({"email": "a" * 250 + "@example.test", "password": PASSWORD}, "email", id="email-too-long"),
    pytest.param({"email": "a@example.test", "password": ""}, "password", id="password-empty"),
    pytest.param({"email": "a@example.test", "password": "p" * 257}, "password", id="password-too-long"),
    pytest.param({"email": "a@example.test", "password": PASSWORD, "otp": "1" * 9}, "otp", id="otp-too-long"),
    pytest.param({"email": 12345, "password": PASSWORD}, "email", id="email-number"),
    pytest.param({"email": ["a@example.test"], "password": PASSWORD}, "email", id="email-list"),
    pytest.param({"email": {"$ne": ""}, "password": PASSWORD}, "email", id="email-object"),
    pytest.param({"email": None, "password": PASSWORD}, "email", id="email-null"),
    pytest.param({"email": True, "password": PASSWORD}, "email", id="email-bool"),
    pytest.param({"email": "a@example.test", "password": 123456789012}, "password", id="password-number"),
    pytest.param({"email": "a@example.test", "password": PASSWORD, "otp": 123456}, "otp", id="otp-number"),
    pytest.param({"email": "a@example.test", "password": PASSWORD, "otp": ["123456"]}, "otp", id="otp-list"),
    pytest.param({"email": "a@example.test", "password": PASSWORD, "remember": True}, "remember",
                 id="unknown-key"),
    pytest.param({"email": "a@example.test", "password": PASSWORD, SCRIPT: 1}, SCRIPT, id="unknown-key-html"),
    pytest.param({"email": "a\x00b@example.test", "password": PASSWORD}, "email", id="email-nul"),
    pytest.param({"email": "a@example.test\n", "password": PASSWORD, "x": 1}, "x", id="unknown-and-valid"),
])
def test_token_endpoint_invalid_fields(client, payload, field):
    make_user("deelnemer", email="a@example.test")
    error = api_refused(client, 422, json=payload)
    assert error["code"] == "ongeldige_invoer"
    fields = [d["field"] for d in error["details"]]
    assert field in fields, fields
    assert all(d["message"] and d["message"].endswith(".") for d in error["details"])
    assert SCRIPT not in error["message"]


@pytest.mark.parametrize("raw", [b"[]", b'["a@example.test", "x"]', b'"a@example.test"', b"42", b"null",
                                 b"true"], ids=lambda r: r.decode()[:12])
def test_token_endpoint_non_object_json(client, raw):
    error = api_refused(client, 422, "JSON-object", data=raw, content_type="application/json")
    assert error["message"] == "De body moet een JSON-object zijn."


@pytest.mark.parametrize("raw", [
    b"{", b"{'email': 'a'}", b'{"email": "a@example.test",}', b"\xff\xfe\x00{", b"",
    b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b'{"email": 1' + b"0" * 5000 + b"}", b"NaN-ish",
], ids=["unclosed", "single-quotes", "trailing-comma", "bad-utf8", "empty", "deep-array", "deep-object",
        "huge-int", "garbage"])
def test_token_endpoint_invalid_json(client, raw):
    error = api_refused(client, 400, data=raw, content_type="application/json")
    assert error == {"code": "ongeldig_verzoek", "message": "De body is geen geldige JSON."}


def test_token_endpoint_lone_surrogate_is_invalid_input(client):
    error = api_refused(client, 422, data=b'{"email": "\\ud800@example.test", "password": "x"}',
                        content_type="application/json")
    assert [d["field"] for d in error["details"]] == ["email"]


@pytest.mark.parametrize(("content_type", "data"), [
    ("text/plain", b'{"email": "a@example.test", "password": "x"}'),
    ("application/x-www-form-urlencoded", b"email=a%40example.test&password=x"),
    ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data; name="email"\r\n\r\na\r\n--x--'),
    ("application/xml", b"<email>a@example.test</email>"),
    (None, b'{"email": "a@example.test", "password": "x"}'),
])
def test_token_endpoint_wrong_content_type(client, content_type, data):
    error = api_refused(client, 415, "Content-Type: application/json", data=data, content_type=content_type)
    assert error["code"] == "verkeerd_formaat"


def test_token_endpoint_body_over_1mb(client):
    error = api_refused(client, 413, TOO_BIG, json={"email": "a@example.test", "password": OVER_1MB})
    assert error["code"] == "te_groot"


def test_token_endpoint_html_in_email_is_a_plain_failure(client):
    before = snapshot()
    response = client.post("/api/v1/auth/token", json={"email": SCRIPT, "password": PASSWORD})
    assert response.status_code == 401 and response.mimetype == "application/json"
    assert SCRIPT not in response.get_data(as_text=True)
    login_failure_audits_only(before, snapshot())


@pytest.mark.parametrize("otp", ["١٢٣٤٥٦", "１２３４５６", "12\x003456", "abcdef", "", "<b>1</b>"])
def test_token_endpoint_odd_otp_is_a_plain_failure(client, otp):
    account = make_user("deelnemer", totp=True)
    before = snapshot()
    response = client.post("/api/v1/auth/token", json={"email": account.email, "password": PASSWORD, "otp": otp})
    assert response.status_code == 401 and response.mimetype == "application/json"
    assert response.get_json()["error"]["message"]
    login_failure_audits_only(before, snapshot())


@pytest.mark.parametrize(("method", "url"), [("GET", "/api/v1/me"), ("DELETE", "/api/v1/auth/token"),
                                            ("GET", "/api/v1/openapi.json")])
@pytest.mark.parametrize("body", [b"[", b"x" * (1024 * 1024 + 10), b'{"unexpected": true}'],
                         ids=["bad-json", "over-1mb", "extra-object"])
def test_endpoints_without_body_ignore_or_refuse_one_cleanly(client, method, url, body):
    """Endpoints that take no body never read it: they answer as without one (or 413), and
    never with a 500."""
    before = snapshot()
    response = client.open(url, method=method, data=body, content_type="application/json")
    expected = 200 if url.endswith("openapi.json") else 401
    assert response.status_code in (expected, 413), response.status_code
    assert response.mimetype == "application/json"
    assert snapshot() == before


@pytest.mark.parametrize("header", [
    "Bearer", "Bearer ", "Bearer x", "Bearer " + "a" * 5000, "Basic YTpi", "Bearer a.b.c", "Bearer ....",
    "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer \u00e9\u00e9\u00e9", "bearer" + " " * 10 + "x",
])
def test_odd_authorization_headers_give_401_json(client, header):
    before = snapshot()
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "niet_ingelogd"
    assert snapshot() == before


def test_revoke_with_bad_input_changes_nothing(client):
    account = make_user("deelnemer")
    token = client.post("/api/v1/auth/token", json={"email": account.email, "password": PASSWORD}).get_json()
    before = snapshot()
    for header in ("Bearer " + token["access_token"] + "x", "Bearer " + token["access_token"][:-2]):
        response = client.delete("/api/v1/auth/token", headers={"Authorization": header})
        assert response.status_code == 401
    assert snapshot() == before
    ok = client.get("/api/v1/me", headers={"Authorization": "Bearer " + token["access_token"]})
    assert ok.status_code == 200


def test_csrf_refusal_on_every_form_changes_nothing(admin, app):
    """The Dutch CSRF page for a POST to each form without a token."""
    target_org, target_user = make_org(), make_user()
    for url in ("/beheer/organisaties/nieuw", f"/beheer/organisaties/{target_org.id}", "/beheer/gebruikers/nieuw",
                f"/beheer/gebruikers/{target_user.id}", "/account/wachtwoord", "/uitloggen",
                f"/beheer/gebruikers/{target_user.id}/wachtwoord-herstellen"):
        before = snapshot()
        response = admin.post(url, data={"name": "Zonder token", "csrf_token": csrf_token(app.test_client(),
                                                                                           "/inloggen")})
        assert_refused(response, (400,), "Het formulier is verlopen of ongeldig")
        assert snapshot() == before, url


def test_an_id_too_large_for_the_database_is_a_404_not_an_overflow(app):
    """Every ``<int:...>`` route refuses ids past a 32-bit integer before the database sees
    them (a 30-digit id used to overflow into a 500)."""
    officer = make_user("privacy", totp=True)
    client = app.test_client()
    full_login(client, officer)
    for url in ("/privacy/beoordelen/999999999999999999999999999999",
                "/privacy/convenant/999999999999999999999999999999",
                "/privacy/beoordelen/2147483648"):
        assert client.get(url).status_code == 404, url
    assert client.get("/privacy/beoordelen/2147483647").status_code == 404  # in range, not there
    assert client.get("/privacy/bewaartermijnen/nieuwe-versie?van=99999999999999999999").status_code == 404


@pytest.mark.parametrize("text, number", [("12", 12), (" 7 ", 7), ("²", None), ("١٢", None), ("-1", None),
                                          ("1e3", None), ("", None), (None, None), ("1234567890", None)])
def test_a_posted_version_is_ascii_digits_of_a_database_size(text, number):
    assert small_number(text) == number
