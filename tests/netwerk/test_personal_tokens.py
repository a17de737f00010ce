"""Personal API tokens (issue 4): a user makes, names and scopes them in the profile, sees
their last use and revokes them; they expire; every use is audited; each endpoint admits
only the scopes it names, and endpoints without one admit session tokens only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import func, select

from netwerk.db import db
from netwerk.models import ApiToken, User
from privacy.models import AuditEntry
from tests.conftest import csrf_token, post_form
from tests.factories import PASSWORD, make_user
from tests.helpers import html
from tests.netwerk.test_api import assert_error, bearer, token_for
from tests.netwerk.test_my_actions import World, add, world  # noqa: F401  (a fixture, used by name)
from tests.netwerk.test_person_views import client_for

TOKENS = "/account/tokens"
TOKEN_RE = re.compile(r'id="new-token"[^>]*value="([^"]+)"')


def make_token(client: FlaskClient, scopes: list[str], name: str = "Telefoon", days: str = "30",
               password: str = PASSWORD):
    return post_form(client, TOKENS, {"name": name, "scopes": scopes, "days": days, "password": password})


def token_from(response) -> str:
    match = TOKEN_RE.search(html(response))
    assert response.status_code == 200 and match, html(response)[:2000]
    return match.group(1)


def personal_rows(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                          ApiToken.kind == "persoonlijk")))


def uses(outcome: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "auth.token_used", AuditEntry.outcome == outcome))


# --- making, listing, revoking ------------------------------------------------------------

def test_a_token_is_shown_once_with_its_name_scopes_and_expiry(app):
    user = make_user("deelnemer")
    client = client_for(app, user)
    before = datetime.now(UTC)
    token = token_from(make_token(client, ["actions:read", "actions:write"], days="90"))
    [row] = personal_rows(user)
    assert (row.name, row.scopes, row.revoked_at, row.last_used_at) == (
        "Telefoon", "actions:read actions:write", None, None)
    assert timedelta(days=89, hours=23) < row.expires_at - before <= timedelta(days=90, minutes=1)
    page = html(client.get(TOKENS))
    assert token not in page  # once, in the answer to the POST only
    assert "Telefoon" in page and "Acties lezen" in page and "nog niet" in page and "actief" in page
    issued = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.token_issued"))
    assert issued.outcome == "success" and issued.meta["scopes"] == "actions:read actions:write"
    assert token not in str(issued.meta) and row.jti not in str(issued.meta)


def test_the_profile_links_to_the_tokens(app):
    client = client_for(app, make_user("deelnemer"))
    assert TOKENS in html(client.get("/account/"))


@pytest.mark.parametrize(("fields", "message"), [
    ({"password": "fout-wachtwoord"}, "Het wachtwoord klopt niet."),
    ({"name": ""}, "Dit veld is verplicht."),
    ({"name": "x" * 81}, "Gebruik 1 tot 80 tekens."),
    ({"name": "Tele\x00foon"}, "ongeldige tekens"),
    ({"scopes": []}, "Kies minstens één soort toegang."),
    ({"scopes": ["persons:read"]}, "keuze"),
    ({"days": "9999"}, "keuze"),
    ({"days": "abc"}, "keuze"),
])
def test_bad_input_gets_a_dutch_message_and_makes_no_token(app, fields, message):
    user = make_user("deelnemer")
    client = client_for(app, user)
    data = {"name": "Telefoon", "scopes": ["actions:read"], "days": "30", "password": PASSWORD} | fields
    response = post_form(client, TOKENS, data)
    assert response.status_code == 422
    assert message.lower() in html(response).lower()
    assert personal_rows(user) == [] and 'id="new-token"' not in html(response)


def test_a_post_without_csrf_or_with_unknown_fields_makes_no_token(app):
    user = make_user("deelnemer")
    client = client_for(app, user)
    data = {"name": "Telefoon", "scopes": ["actions:read"], "days": "30", "password": PASSWORD}
    assert client.post(TOKENS, data=data).status_code == 400  # CSRF, app-wide
    assert make_token_with_extra(client, data).status_code == 422
    assert personal_rows(user) == []


def make_token_with_extra(client: FlaskClient, data: dict):
    return client.post(TOKENS, data=data | {"csrf_token": csrf_token(client, TOKENS), "kind": "sessie"})


def test_the_number_of_active_tokens_is_limited(app):
    app.config["PERSONAL_TOKEN_MAX_ACTIVE"] = 2
    user = make_user("deelnemer")
    client = client_for(app, user)
    token_from(make_token(client, ["actions:read"], name="Een"))
    token_from(make_token(client, ["actions:read"], name="Twee"))
    response = make_token(client, ["actions:read"], name="Drie")
    assert response.status_code == 422 and "maximale aantal tokens" in html(response)
    assert len(personal_rows(user)) == 2


def test_lifetimes_above_the_configured_maximum_are_not_offered(app):
    app.config["PERSONAL_TOKEN_MAX_DAYS"] = 30
    user = make_user("deelnemer")
    client = client_for(app, user)
    page = html(client.get(TOKENS))
    assert "30 dagen" in page and "90 dagen" not in page
    assert make_token(client, ["actions:read"], days="90").status_code == 422
    assert personal_rows(user) == []


def test_revoking_in_the_profile_ends_the_token_and_only_the_owner_can(app):
    user, other = make_user("deelnemer"), make_user("deelnemer")
    client = client_for(app, user)
    token = token_from(make_token(client, ["actions:read"]))
    [row] = personal_rows(user)
    stranger = client_for(app, other)
    url = f"{TOKENS}/{row.jti}/intrekken"
    assert post_form(stranger, url, {}, token_from=TOKENS).status_code == 404
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    response = post_form(client, url, {}, token_from=TOKENS, follow_redirects=True)
    assert response.status_code == 200 and "is ingetrokken" in html(response) and "ingetrokken" in html(response)
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)
    revoked = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "auth.token_revoked"))
    assert revoked.meta == {"kind": "persoonlijk"}


def test_a_password_change_ends_personal_tokens_too(app):
    user = make_user("deelnemer")
    client = client_for(app, user)
    token = token_from(make_token(client, ["actions:read"]))
    new = "een heel nieuw wachtwoord 2026"
    response = post_form(client, "/account/wachtwoord", {
        "current_password": PASSWORD, "new_password": new, "repeat_password": new})
    assert response.status_code == 302
    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)


def test_a_personal_token_expires(app):
    user = make_user("deelnemer")
    client = client_for(app, user)
    token = token_from(make_token(client, ["actions:read"], days="7"))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=6, hours=23), tick=False):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7, minutes=2), tick=False):
        assert_error(client.get("/api/v1/me", headers=bearer(token)), 401)
        assert "verlopen" in html(client_for(app, user).get(TOKENS))


def test_a_deactivated_users_personal_token_is_refused(app):
    user = make_user("deelnemer")
    token = token_from(make_token(client_for(app, user), ["actions:read"]))
    user.active = False
    db.session.commit()
    assert_error(app.test_client().get("/api/v1/me", headers=bearer(token)), 401)


# --- scopes and the audit of every use ------------------------------------------------------

def personal_token(app, user: User, scopes: list[str]) -> str:
    return token_from(make_token(client_for(app, user), scopes))


def test_each_endpoint_admits_only_its_scope(app, world: World):  # noqa: F811
    action = add(world, 0, world.teacher)
    client = app.test_client()
    reader = bearer(personal_token(app, world.teacher, ["actions:read"]))
    writer = bearer(personal_token(app, world.teacher, ["actions:write"]))
    planner = bearer(personal_token(app, world.coordinator, ["plan:read"]))
    plan_url = f"/api/v1/families/{world.families[0].id}/plan"
    patch = {"status": "bezig", "progress": "Gebeld met school."}

    assert client.get("/api/v1/me/actions", headers=reader).status_code == 200
    assert_error(client.get("/api/v1/me/actions", headers=writer), 403, "scope_ontbreekt")
    error = assert_error(client.patch(f"/api/v1/actions/{action.id}", json=patch,
                                      headers=reader | {"If-Match": f'"{action.version}"'}), 403, "scope_ontbreekt")
    assert "actions:write" in error["message"]
    response = client.patch(f"/api/v1/actions/{action.id}", json=patch,
                            headers=writer | {"If-Match": f'"{action.version}"'})
    assert response.status_code == 200, response.get_json()
    assert client.get(plan_url, headers=planner).status_code == 200
    assert_error(client.get(plan_url, headers=reader), 403, "scope_ontbreekt")
    # No scope names the person and match endpoints: a personal token never reaches them.
    for url in ("/api/v1/persons", "/api/v1/matches", f"/api/v1/families/{world.families[0].id}"):
        assert_error(client.get(url, headers=planner), 403, "scope_ontbreekt")
    assert client.get("/api/v1/me", headers=reader).status_code == 200  # any token
    # A session token (password and second factor) reaches everything its user may.
    session = bearer(token_for(client, world.coordinator))
    assert client.get("/api/v1/persons", headers=session).status_code == 200


def test_every_use_is_audited_with_its_route_and_stamped_as_last_use(app, world: World):  # noqa: F811
    user = world.teacher
    token = personal_token(app, user, ["actions:read"])
    client = app.test_client()
    assert (uses("success"), uses("denied")) == (0, 0)
    assert client.get("/api/v1/me/actions", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/v1/families/{world.families[0].id}/plan", headers=bearer(token)).status_code == 403
    assert client.get(f"/api/v1/families/{world.families[0].id}/plan?doel=<x>",
                      headers=bearer(token)).status_code == 403
    assert (uses("success"), uses("denied")) == (1, 2)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.token_used")
                                 .order_by(AuditEntry.seq)).all()
    assert [(e.meta["method"], e.meta["route"], e.meta["scope"]) for e in entries] == [
        ("GET", "/api/v1/me/actions", "actions:read"),
        ("GET", "/api/v1/families/{family_id}/plan", "plan:read"),
        ("GET", "/api/v1/families/{family_id}/plan", "plan:read"),
    ]
    # The entries name the token by a hash, never by the token or its jti.
    [row] = personal_rows(user)
    assert all(e.object_id and row.jti not in e.object_id and token not in str(e.meta) for e in entries)
    assert entries[0].actor_user_id == user.id and entries[0].access_point.startswith("token:")
    db.session.expire_all()
    assert personal_rows(user)[0].last_used_at is not None
    assert "nog niet" not in html(client_for(app, user).get(TOKENS))


def test_a_use_that_ends_in_an_error_is_still_on_record(app, world: World):  # noqa: F811
    token = personal_token(app, world.teacher, ["actions:write"])
    client = app.test_client()
    response = client.patch("/api/v1/actions/00000000-0000-4000-8000-000000000000",
                            json={"status": "bezig"}, headers=bearer(token) | {"If-Match": '"1"'})
    assert response.status_code == 404
    assert uses("success") == 1


def test_the_openapi_document_names_each_endpoints_scope(client):
    document = client.get("/api/v1/openapi.json").get_json()
    security = {(path, method): op["security"] for path, item in document["paths"].items()
                for method, op in item.items()}
    assert security[("/families/{family_id}/plan", "get")] == [{"bearer": ["plan:read"]}]
    assert security[("/actions/{action_id}", "patch")] == [{"bearer": ["actions:write"]}]
    assert security[("/me/actions", "get")] == [{"bearer": ["actions:read"]}]
    assert security[("/persons", "get")] == [{"bearer": []}]
    assert security[("/auth/token", "post")] == []
