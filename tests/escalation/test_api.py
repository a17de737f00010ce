"""``GET /api/v1/escalations`` and ``POST /api/v1/escalations/{id}/decision``: what the
token's user may see, as the minimal package only; the decision with If-Match like the
action PATCH (428 / 412 / 409 with the current state); scopes; Dutch errors; OpenAPI."""

from __future__ import annotations

from sqlalchemy import select

from escalation.models import Escalation
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.operations.auth import create_personal_token
from privacy.models import AuditEntry
from tests.escalation.conftest import World
from tests.escalation.test_views import second_factor
from tests.factories import PASSWORD
from tests.netwerk.test_api import assert_error, bearer, token_for
from tests.netwerk.test_plans import WHAT

LIST = "/api/v1/escalations"
PACKAGE = {"id", "pseudonym", "overleg_id", "overleg", "status", "level", "level_name", "rule_code", "explanation",
           "reason_category", "ask", "deadline", "overdue", "top_overdue_since", "since", "blocked_actions", "may",
           "version"}


def decision_url(esc: Escalation) -> str:
    return f"/api/v1/escalations/{esc.id}/decision"


def test_the_list_is_the_minimal_package_of_what_the_user_may_see(app, world: World):
    esc = world.raised(level=1)
    client = app.test_client()
    leader = bearer(token_for(client, world.team_leader))
    answer = client.get(LIST, headers=leader)
    assert answer.status_code == 200
    [item] = answer.get_json()["escalations"]
    assert set(item) == PACKAGE  # no decision, no notes, no family id, never the file
    assert (item["id"], item["pseudonym"], item["level"], item["status"]) == (
        str(esc.id), world.family.pseudonym, 1, "opgeschaald")
    assert item["ask"] == "Kan de politie een wijkagent vrijmaken?" and item["reason_category"] == "capaciteit"
    assert item["may"] == ["ontvangen", "besluiten"]
    # The action's frame, and its text because it is the leader's own organisation's —
    # read through the gate, which wrote its entry.
    [action] = item["blocked_actions"]
    assert (action["id"], action["owner_organisation"], action["what"]) == (str(world.action.id), "Politie Esc", WHAT)
    read = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read",
                                                       AuditEntry.actor_user_id == world.team_leader.id)).all()
    assert [e.outcome for e in read] == ["allowed"] and str(world.plan.id) in read[0].meta["objects"]
    # The chair (not involved, the Veiligheidshuis): the same package, the text withheld —
    # the API asks the gate without a purpose, for everyone.
    chair = bearer(token_for(client, second_factor(world.chair)))
    [seen] = client.get(LIST, headers=chair).get_json()["escalations"]
    assert seen["blocked_actions"][0]["what"] is None and seen["may"] == ["oplossen", "afschalen"]
    # Filters, and a filter that is not on offer gets a Dutch message.
    assert client.get(f"{LIST}?level=1&overleg={world.overleg.id}", headers=leader).get_json()["escalations"]
    assert client.get(f"{LIST}?level=2", headers=leader).get_json()["escalations"] == []
    error = assert_error(client.get(f"{LIST}?level=9", headers=leader), 422)
    assert error["details"][0]["field"] == "level"
    assert_error(client.get(f"{LIST}?status=kwijt", headers=leader), 422)
    assert_error(client.get(f"{LIST}?onbekend=1", headers=leader), 422)
    # Someone on no rung sees nothing.
    for user in (world.manager, world.alderman, world.outsider):
        assert client.get(LIST, headers=bearer(token_for(client, user))).get_json()["escalations"] == []


def test_a_decision_needs_the_version_and_the_addressee(app, world: World):
    esc = world.raised(level=1)
    client = app.test_client()
    leader = bearer(token_for(client, world.team_leader))
    body = {"decision": "Wij zetten er een extra agent op."}
    assert_error(client.post(decision_url(esc), json=body, headers=leader), 428, "versie_ontbreekt")
    assert_error(client.post(decision_url(esc), json=body, headers=leader | {"If-Match": "drie"}), 412)
    stale = client.post(decision_url(esc), json=body, headers=leader | {"If-Match": '"1"'})
    assert stale.status_code == 409 and stale.get_json()["current"]["version"] == esc.version
    assert stale.headers["ETag"] == f'"{esc.version}"'
    version = {"If-Match": f'"{esc.version}"'}
    error = assert_error(client.post(decision_url(esc), json={"decision": "ok"}, headers=leader | version), 422)
    assert error["details"][0]["field"] == "decision"
    assert_error(client.post(decision_url(esc), json=body | {"extra": 1}, headers=leader | version), 422)
    assert_error(client.post(decision_url(esc), data="nee", headers=leader | version), 415)
    # The chair sees it but does not decide; others do not see it at all.
    chair = bearer(token_for(client, second_factor(world.chair)))
    assert_error(client.post(decision_url(esc), json=body, headers=chair | version), 403, "geen_recht")
    for user in (world.manager, world.outsider):
        assert_error(client.post(decision_url(esc), json=body, headers=bearer(token_for(client, user)) | version), 404)
    assert_error(client.post("/api/v1/escalations/geen-id/decision", json=body, headers=leader | version), 404)
    db.session.expire_all()
    assert db.session.get(Escalation, esc.id).status == "opgeschaald"

    done = client.post(decision_url(esc), json=body, headers=leader | version)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "besloten" and "decision" not in done.get_json()
    assert done.headers["ETag"] == f'"{done.get_json()["version"]}"'
    db.session.expire_all()
    decided = db.session.get(Escalation, esc.id)
    assert (decided.status, decided.decision, decided.decided_by_id) == ("besloten", body["decision"],
                                                                         world.team_leader.id)
    again = client.post(decision_url(esc), json=body, headers=leader | {"If-Match": f'"{decided.version}"'})
    assert assert_error(again, 422)["message"] == "Over deze escalatie is al besloten."


def test_personal_tokens_need_the_escalation_scopes_and_the_document_names_them(app, world: World):
    esc = world.raised(level=1)
    client = app.test_client()
    reader = create_personal_token(world.team_leader, name="Telefoon", scopes=["escalations:read"], days=30,
                                   password=PASSWORD, actor=actor_for(world.team_leader)).token
    actions = create_personal_token(world.team_leader, name="Acties", scopes=["actions:read"], days=30,
                                    password=PASSWORD, actor=actor_for(world.team_leader)).token
    db.session.commit()
    assert client.get(LIST, headers=bearer(reader)).status_code == 200
    assert_error(client.get(LIST, headers=bearer(actions)), 403, "scope_ontbreekt")
    assert_error(client.post(decision_url(esc), json={"decision": "Wij zetten er een extra agent op."},
                             headers=bearer(reader) | {"If-Match": f'"{esc.version}"'}), 403, "scope_ontbreekt")
    document = client.get("/api/v1/openapi.json").get_json()
    listed, decide = document["paths"]["/escalations"]["get"], document["paths"][
        "/escalations/{escalation_id}/decision"]["post"]
    assert listed["security"] == [{"bearer": ["escalations:read"]}]
    assert decide["security"] == [{"bearer": ["escalations:write"]}]
    assert {"409", "412", "422", "428", "404", "403"} <= set(decide["responses"])
    assert {p["name"] for p in listed["parameters"]} == {"overleg", "level", "status"}
