"""The JSON API: bearer tokens, their refusals, JSON errors, and the OpenAPI document as the
truth about the URL map and the response shapes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from sqlalchemy import select

from netwerk.db import db
from netwerk.models import ApiToken, User
from privacy.models import AuditEntry
from tests.conftest import login
from tests.factories import PASSWORD, make_user
from tests.helpers import fresh_code

BAD_LOGIN = "E-mailadres of wachtwoord klopt niet."


def request_token(client: FlaskClient, email: str, password: str = PASSWORD, **extra):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password, **extra})


def token_for(client: FlaskClient, user: User) -> str:
    extra = {"otp": fresh_code(user)} if user.totp_enabled else {}
    response = request_token(client, user.email, **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) <= {"code", "message", "details"} and isinstance(error["code"], str)
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code
    return error


# --- POST /api/v1/auth/token ----------------------------------------------------------------

def test_token_success(client, app):
    user = make_user("deelnemer")
    before = datetime.now(UTC)
    response = request_token(client, user.email)
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_at"}
    assert body["token_type"] == "Bearer" and body["access_token"].count(".") == 2
    expires = datetime.fromisoformat(body["expires_at"])
    assert expires.tzinfo is not None
    assert before < expires <= datetime.now(UTC) + timedelta(hours=8)
    assert expires >= before + timedelta(hours=app.config["API_TOKEN_HOURS"]) - timedelta(seconds=2)
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row is not None and row.revoked_at is None
    issued = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.token_issued")).all()
    assert len(issued) == 1 and issued[0].actor_user_id == user.id
    assert body["access_token"] not in str(issued[0].meta)


def test_token_lifetime_never_exceeds_8_hours(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN_HOURS", 72)
    user = make_user("deelnemer")
    body = request_token(client, user.email).get_json()
    assert datetime.fromisoformat(body["expires_at"]) <= datetime.now(UTC) + timedelta(hours=8)


@pytest.mark.parametrize("case", ["wrong-password", "unknown-email"])
def test_token_refused_with_the_same_dutch_message(client, case):
    user = make_user("deelnemer")
    email = user.email if case == "wrong-password" else "niemand@example.test"
    response = request_token(client, email, "helemaal fout wachtwoord")
    error = assert_error(response, 401, "inloggen_mislukt")
    assert error["message"].startswith(BAD_LOGIN)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert db.session.scalar(select(ApiToken)) is None
    failures = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login",
                                                           AuditEntry.outcome == "failure")).all()
    assert len(failures) == 1


def test_totp_user_needs_otp(client):
    user = make_user("deelnemer", totp=True)
    error = assert_error(request_token(client, user.email), 401, "code_nodig")
    assert "code" in error["message"]
    assert db.session.scalar(select(ApiToken)) is None
    wrong = pyotp.TOTP(user.totp_secret)
    bad = next(c for c in ("000000", "111111", "222222") if not wrong.verify(c, valid_window=2))
    assert_error(request_token(client, user.email, otp=bad), 401)
    assert db.session.scalar(select(ApiToken)) is None
    response = request_token(client, user.email, otp=fresh_code(user))
    assert response.status_code == 201


def test_totp_code_cannot_be_replayed_for_a_second_token(client):
    user = make_user("deelnemer", totp=True)
    with time_machine.travel(datetime.now(UTC), tick=False):
        code = fresh_code(user)
        assert request_token(client, user.email, otp=code).status_code == 201
        assert_error(request_token(client, user.email, otp=code), 401)


@pytest.mark.parametrize("role", ["beheerder", "voorzitter", "privacy"])
def test_two_factor_role_without_enrolment_gets_403(client, role):
    user = make_user(role)
    assert_error(request_token(client, user.email), 403, "tweestaps_nodig")
    assert db.session.scalar(select(ApiToken)) is None
    enrolled = make_user(role, totp=True)
    assert request_token(client, enrolled.email, otp=fresh_code(enrolled)).status_code == 201


def test_must_change_password_gets_403(client):
    user = make_user("deelnemer")
    user.must_change_password = True
    db.session.commit()
    error = assert_error(request_token(client, user.email), 403, "wachtwoord_wijzigen")
    assert "wachtwoord" in error["message"]
    assert db.session.scalar(select(ApiToken)) is None


def test_deactivated_or_locked_user_gets_no_token(client, app):
    inactive = make_user("deelnemer")
    inactive.active = False
    locked = make_user("deelnemer")
    locked.locked_until = datetime.now(UTC) + timedelta(minutes=10)
    db.session.commit()
    assert_error(request_token(client, inactive.email), 401, "gedeactiveerd")
    assert_error(request_token(client, locked.email), 401, "inloggen_mislukt")  # as for an unknown e-mail
    assert db.session.scalar(select(ApiToken)) is None


def test_api_failures_count_towards_lockout(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user("deelnemer")
    for _ in range(3):
        assert_error(request_token(client, user.email, "fout fout fout"), 401, "inloggen_mislukt")
    assert_error(request_token(client, user.email), 401, "inloggen_mislukt")
    db.session.expire_all()
    assert db.session.get(User, user.id).locked_until is not None


# --- GET /api/v1/me and token refusals -----------------------------------------------------

def test_me_with_token(client):
    user = make_user("voorzitter", "deelnemer", totp=True, name="Fatima El Amrani")
    response = client.get("/api/v1/me", headers=bearer(token_for(client, user)))
    assert response.status_code == 200
    assert response.get_json() == {
        "id": str(user.id), "name": "Fatima El Amrani", "email": user.email,
        "roles": ["voorzitter", "deelnemer"],
        "organisation": {"id": str(user.organisation.id), "name": user.organisation.name,
                         "type": user.organisation.org_type, "domain": user.organisation.domain},
        "two_factor_enabled": True,
    }


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Bearer garbage"}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"},
    {"Authorization": "Token abc"},
], ids=["none", "empty-bearer", "garbage", "basic", "foreign-jwt", "other-scheme"])
def test_me_without_valid_token_is_401(client, headers):
    make_user("deelnemer")
    error = assert_error(client.get("/api/v1/me", headers=headers), 401, "niet_ingelogd")
    assert "ingelogd" in error["message"]


def test_expired_token_is_401(client):
    user = make_user("deelnemer")
    token = token_for(client, user)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=7, minutes=55), tick=False):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=8, minutes=2), tick=False):
        assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_token_of_deactivated_user_is_401(client):
    user = make_user("deelnemer")
    token = token_for(client, user)
    user.active = False  # even without the operation revoking the token
    db.session.commit()
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_revoked_token_is_401(client):
    user = make_user("deelnemer")
    token, other = token_for(client, user), token_for(client, user)
    response = client.delete("/api/v1/auth/token", headers=bearer(token))
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)
    assert_error(client.delete("/api/v1/auth/token", headers=bearer(token)), 401)
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200  # only that one
    revoked = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.token_revoked")).all()
    assert len(revoked) == 1


def test_revoke_without_token_is_401(client):
    assert_error(client.delete("/api/v1/auth/token"), 401)


def test_token_row_deleted_means_401(client):
    user = make_user("deelnemer")
    token = token_for(client, user)
    db.session.execute(ApiToken.__table__.delete())
    db.session.commit()
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_api_ignores_the_session_cookie(client):
    user = make_user("deelnemer")
    assert login(client, user.email, PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    assert_error(client.get("/api/v1/me"), 401)
    assert_error(client.delete("/api/v1/auth/token"), 401)
    assert client.get("/").status_code == 200  # the browser session is untouched


def test_browser_pages_ignore_bearer_tokens(client):
    user = make_user("deelnemer")
    token = token_for(client, user)
    response = client.get("/", headers=bearer(token))
    assert response.status_code == 302 and "/inloggen" in response.headers["Location"]


# --- routing errors are JSON too ---------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/bestaat-niet", "/api/v1/", "/api/v1/me/extra", "/api/v2/me",
                                 "/api/v1/auth/token/123"])
def test_unknown_api_url_is_404_json(client, url):
    error = assert_error(client.get(url), 404, "niet_gevonden")
    assert "bestaat niet" in error["message"]


@pytest.mark.parametrize(("method", "url"), [("GET", "/api/v1/auth/token"), ("PUT", "/api/v1/auth/token"),
                                            ("POST", "/api/v1/me"), ("DELETE", "/api/v1/me"),
                                            ("PATCH", "/api/v1/me"), ("POST", "/api/v1/openapi.json")])
def test_wrong_method_is_405_json(client, method, url):
    error = assert_error(client.open(url, method=method), 405, "methode_niet_toegestaan")
    assert "niet toegestaan" in error["message"]


# --- the OpenAPI document ---------------------------------------------------------------------

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def schema_validator(document: dict, ref: str) -> Draft202012Validator:
    """A validator for ``ref`` whose ``$ref``s resolve against the document's components."""
    schema = {"$ref": ref, "components": document["components"]}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def response_schema(document: dict, path: str, method: str, status: int) -> str | None:
    responses = document["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} answered {status}, not documented"
    content = responses[str(status)].get("content")
    return content["application/json"]["schema"]["$ref"] if content else None


def test_openapi_document_structure(document):
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] == [{"url": "/api/v1"}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    operation_ids = []
    for path, item in document["paths"].items():
        assert path.startswith("/")
        assert set(item) <= HTTP_METHODS, item.keys()
        for op in item.values():
            operation_ids.append(op["operationId"])
            assert op["summary"]
            for requirement in op["security"]:
                assert set(requirement) <= set(schemes)
            assert op["responses"]
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status) and response["description"]
                for media, content in response.get("content", {}).items():
                    assert media == "application/json"
                    schema_validator(document, content["schema"]["$ref"])
            if "requestBody" in op:
                schema_validator(document, op["requestBody"]["content"]["application/json"]["schema"]["$ref"])
            check_parameters(path, op.get("parameters", []))
    assert len(operation_ids) == len(set(operation_ids))
    for name, schema in document["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        assert schema.get("type") == "object", name
    refs = re.findall(r'"\$ref": "([^"]+)"', json.dumps(document))
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in document["components"]["schemas"], ref


def check_parameters(path: str, parameters: list[dict]) -> None:
    """Every parameter is well formed; the path parameters are exactly the path's."""
    for param in parameters:
        assert set(param) <= {"name", "in", "required", "schema", "description"}, param
        assert param["in"] in {"path", "query"} and isinstance(param["required"], bool), param
        assert param["in"] != "path" or param["required"], param
        Draft202012Validator.check_schema(param["schema"])
    assert len({(p["name"], p["in"]) for p in parameters}) == len(parameters)
    assert [p["name"] for p in parameters if p["in"] == "path"] == re.findall(r"{(\w+)}", path), path


def test_openapi_matches_the_url_map(app, document):
    from_map: dict[str, set[str]] = {}
    arguments: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        from_map.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
        arguments[path] = set(rule.arguments)
    documented = {path: set(item) for path, item in document["paths"].items()}
    assert from_map, "no API rules found"
    assert documented == from_map
    for path, item in document["paths"].items():
        for method, op in item.items():
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert names == arguments[path], (method, path)


def test_documented_query_parameters_are_the_accepted_ones(client, document):
    """A query parameter the document names is accepted; any other is refused (422), so
    the document lists all of them."""
    user = make_user("deelnemer")
    headers = bearer(token_for(client, user))
    for path, item in document["paths"].items():
        if "{" in path or "get" not in item:
            continue
        names = [p["name"] for p in item["get"].get("parameters", []) if p["in"] == "query"]
        for name in names:
            assert client.get(f"/api/v1{path}?{name}=", headers=headers).status_code == 200, (path, name)
        refused = client.get(f"/api/v1{path}?onbekend=1", headers=headers)
        if names:
            assert_error(refused, 422)
            assert "422" in item["get"]["responses"]


def test_openapi_security_is_truthful(client, document):
    """An operation documented as needing a bearer token refuses a request without one; one
    documented as open does not answer 401 for a missing token."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            response = client.open("/api/v1" + path, method=method.upper(), json={})
            if op["security"]:
                assert response.status_code == 401, (method, path)
                assert "401" in op["responses"]
            else:
                assert response.status_code != 401 or response.get_json()["error"]["code"] != "niet_ingelogd"


def test_happy_paths_validate_against_documented_schemas(client, document):
    user = make_user("privacy", totp=True)
    response = request_token(client, user.email, otp=fresh_code(user))
    assert response.status_code == 201
    token_schema = schema_validator(document, response_schema(document, "/auth/token", "post", 201))
    token_schema.validate(response.get_json())
    token = response.get_json()["access_token"]

    response = client.get("/api/v1/me", headers=bearer(token))
    me_schema = schema_validator(document, response_schema(document, "/me", "get", 200))
    me_schema.validate(response.get_json())
    # the schema has teeth: a response missing a field or carrying an extra one fails it
    with pytest.raises(ValidationError):
        me_schema.validate({k: v for k, v in response.get_json().items() if k != "email"})
    with pytest.raises(ValidationError):
        me_schema.validate({**response.get_json(), "password_hash": "x"})
    with pytest.raises(ValidationError):
        token_schema.validate({"access_token": 1, "expires_at": "x"})

    response = client.delete("/api/v1/auth/token", headers=bearer(token))
    assert response.status_code == 204
    assert response_schema(document, "/auth/token", "delete", 204) is None


def test_error_responses_validate_against_documented_schemas(client, document):
    user = make_user("deelnemer")
    cases = [
        ("post", "/auth/token", {"json": {"email": user.email, "password": "fout"}}, 401),
        ("post", "/auth/token", {"json": {"email": user.email}}, 422),
        ("post", "/auth/token", {"data": "{", "content_type": "application/json"}, 400),
        ("post", "/auth/token", {"data": "x", "content_type": "text/plain"}, 415),
        ("post", "/auth/token", {"json": {"email": user.email, "password": "x" * (1024 * 1024 + 1)}}, 413),
        ("get", "/me", {}, 401),
        ("delete", "/auth/token", {}, 401),
    ]
    user.must_change_password = True
    db.session.commit()
    cases.append(("post", "/auth/token", {"json": {"email": user.email, "password": PASSWORD}}, 403))
    for method, path, kwargs, status in cases:
        response = client.open("/api/v1" + path, method=method.upper(), **kwargs)
        assert response.status_code == status, (method, path, response.get_json())
        ref = response_schema(document, path, method, status)
        schema_validator(document, ref).validate(response.get_json())
