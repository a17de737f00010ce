"""1gezin1plan over the API: the plan through the gate, SMART actions (a refusal lists every
blocking finding), and action updates with If-Match: a stale version gets 409 with the
current state and writes nothing, and of two real HTTP clients updating the same action at
once exactly one wins."""

from __future__ import annotations

import http.client
import json
import threading
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.serving import make_server

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import ActionUpdate, Plan, PlanAction, PlanGoal, PlanHistory
from privacy.audit import Actor
from tests.factories import SYSTEM, allow, make_covenant, make_org, make_user
from tests.netwerk.test_api import assert_error, bearer, response_schema, schema_validator, token_for

TODAY = date.today()
EVALUATION = TODAY + timedelta(days=60)
WHAT = "Moeder belt de huisarts voor een afspraak over het slapen van Noor"
DONE_WHEN = "klaar als er een datum voor de afspraak in de agenda staat"
GOAL = "Noor slaapt weer door en gaat uitgerust naar school"
GHOST = "00000000-0000-4000-8000-000000000000"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def actor(user: User) -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role="deelnemer")


class Api:
    """One user's bearer-token client, checking every answer against the OpenAPI document."""

    def __init__(self, client: FlaskClient, user: User, document: dict) -> None:
        self.client, self.user, self.document = client, user, document
        self.token = token_for(client, user)
        self.headers = bearer(self.token)

    def call(self, method: str, path: str, documented: str, headers: dict | None = None, **kwargs):
        response = self.client.open("/api/v1" + path, method=method, headers=self.headers | (headers or {}),
                                    **kwargs)
        ref = response_schema(self.document, documented, method.lower(), response.status_code)
        if ref is not None:
            schema_validator(self.document, ref).validate(response.get_json())
        return response


@dataclass
class World:
    family: Family
    cjg: Organisation
    school: Organisation
    coordinator: User
    colleague: User  # same organisation as the coordinator
    teacher: User  # an involved organisation, not on the plan
    plan: Plan
    goal: PlanGoal
    api: dict[str, Api]


def _person(first: str, born: date):
    return ops.register_person(ops.PersonData(first, "Jansen", born), SYSTEM, TODAY, confirmed_new=True)


def _family(*orgs: Organisation) -> Family:
    mother, noor = _person("Sara", date(1985, 1, 1)), _person("Noor", date(2012, 3, 4))
    family = ops.compose_family([(mother, "ouder"), (noor, "kind")], SYSTEM)
    for org in orgs:
        ops.register_involvement(noor, ops.InvolvementData(
            organisation_id=org.id, contact_name=f"Contact {org.name}",
            contact_email=f"c@{org.id.hex[:8]}.example.test", start_date=TODAY - timedelta(days=3)), SYSTEM, TODAY)
    db.session.commit()
    return family


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def world(app, client, document) -> World:
    cjg, school = make_org("CJG Test", "cjg"), make_org("School Test", "leerplicht", "onderwijs")
    outside = make_org("Jongerenwerk Test", "jongerenwerk")
    make_covenant(cjg, school, outside, rules=[allow(school, "plan", "procesregie")])
    coordinator = make_user("deelnemer", org=cjg, name="Sanne de Vries")
    colleague = make_user("deelnemer", org=cjg, name="Kees Kok")
    teacher = make_user("deelnemer", org=school, name="Piet Bakker")
    outsider = make_user("deelnemer", org=outside, name="Ali Yilmaz")
    family = _family(cjg, school)
    plan = ops.start_plan(family, coordinator, actor(coordinator), TODAY)
    goal = ops.add_goal(plan, "gezondheid", GOAL, coordinator, actor(coordinator))
    ops.update_plan(plan, family_view="Wij willen rust in huis", strengths=None, next_evaluation=EVALUATION,
                    family_agreement_required=True, expected_version=plan.version, actor=actor(coordinator),
                    today=TODAY)
    db.session.commit()
    api = {name: Api(client, user, document) for name, user in
           (("coordinator", coordinator), ("colleague", colleague), ("teacher", teacher), ("outsider", outsider))}
    return World(family, cjg, school, coordinator, colleague, teacher, plan, goal, api)


def action_body(w: World, owner: User, **extra) -> dict:
    return {"goal_id": str(w.goal.id), "what": WHAT, "done_when": DONE_WHEN, "owner_user_id": str(owner.id),
            "due": (TODAY + timedelta(days=14)).isoformat(), "agreed_by": "ouder", "agreed_on": TODAY.isoformat()
            } | extra


def post_action(w: World, who: str, owner: User, **extra):
    return w.api[who].call("POST", f"/families/{w.family.id}/plan/actions", "/families/{family_id}/plan/actions",
                           json=action_body(w, owner, **extra))


def patch(w: World, who: str, action_id: str, body: dict, if_match: str | None):
    headers = {"If-Match": if_match} if if_match is not None else {}
    return w.api[who].call("PATCH", f"/actions/{action_id}", "/actions/{action_id}", headers=headers, json=body)


# --- reading and adding ----------------------------------------------------------------------

def test_add_an_action_then_read_the_plan_and_my_actions(world):
    created = post_action(world, "coordinator", world.coordinator)
    assert created.status_code == 201, created.get_json()
    action = created.get_json()
    assert created.headers["ETag"] == '"1"' and action["version"] == 1
    assert (action["what"], action["owner"], action["status"]) == (WHAT, "Sanne de Vries", "open")
    theirs = post_action(world, "coordinator", world.teacher, due=(TODAY + timedelta(days=7)).isoformat())
    assert theirs.status_code == 201, theirs.get_json()

    plan = world.api["coordinator"].call("GET", f"/families/{world.family.id}/plan", "/families/{family_id}/plan")
    assert plan.status_code == 200, plan.get_json()
    body = plan.get_json()
    assert body["coordinator"]["name"] == "Sanne de Vries" and body["coordinator"]["organisation"] == "CJG Test"
    assert body["status"] == "concept" and body["next_evaluation"] == EVALUATION.isoformat()
    assert (body["purpose"], body["context"]) == ("procesregie", "plan")
    assert body["family_view"] == "Wij willen rust in huis"
    assert [g["text"] for g in body["goals"]] == [GOAL]
    # The school's action is the school's content: the covenant does not show it to the CJG.
    assert [a["id"] for a in body["actions"]] == [action["id"]]
    assert any("School Test" in line for line in body["withheld"])

    # The school owns an action, so the plan gives it procesregie; the covenant lets it read the plan.
    seen = world.api["teacher"].call("GET", f"/families/{world.family.id}/plan", "/families/{family_id}/plan")
    assert seen.status_code == 200 and seen.get_json()["purpose"] == "procesregie"
    assert theirs.get_json()["id"] in {a["id"] for a in seen.get_json()["actions"]}

    mine = world.api["teacher"].call("GET", "/me/actions", "/me/actions").get_json()["actions"]
    assert [(a["id"], a["what"]) for a in mine] == [(theirs.get_json()["id"], WHAT)]
    ours = world.api["colleague"].call("GET", "/me/actions", "/me/actions").get_json()["actions"]
    assert [a["id"] for a in ours] == [action["id"]]  # the organisation's actions
    assert world.api["outsider"].call("GET", "/me/actions", "/me/actions").get_json() == {"actions": []}


def test_a_purpose_the_context_does_not_give_is_403(world):
    response = world.api["teacher"].call("GET", f"/families/{world.family.id}/plan?purpose=nazorg",
                                         "/families/{family_id}/plan")
    assert_error(response, 403, "doel_zonder_context")
    # Not on the plan, the school has only its match's purpose: the frame and "that" lines.
    frame = world.api["teacher"].call("GET", f"/families/{world.family.id}/plan", "/families/{family_id}/plan")
    body = frame.get_json()
    assert frame.status_code == 200 and (body["purpose"], body["context"]) == ("signalering", "match")
    assert body["goals"] == [] and body["actions"] == [] and body["family_view"] is None
    assert body["coordinator"]["name"] == "Sanne de Vries" and body["withheld"]


def test_invisible_and_missing_answer_identically(world, app):
    created = post_action(world, "coordinator", world.coordinator).get_json()
    no_plan = _family(world.cjg)  # visible to the CJG, but without a plan
    outsider, coordinator = world.api["outsider"], world.api["coordinator"]

    def answers(api: Api, method: str, template: str, ids: tuple, **kwargs) -> list:
        out = []
        for some_id in ids:
            response = api.call(method, template.replace("{x}", str(some_id)),
                                template.replace("{x}", "{family_id}" if "famil" in template else "{action_id}"),
                                **kwargs)
            out.append((response.status_code, response.get_json()))
        return out

    for method, template, kwargs in (("GET", "/families/{x}/plan", {}),
                                     ("POST", "/families/{x}/plan/actions", {"json": action_body(
                                         world, world.coordinator)})):
        seen = answers(outsider, method, template, (world.family.id, GHOST, "geen-id"), **kwargs)
        seen += answers(coordinator, method, template, (no_plan.id,), **kwargs)
        assert {s for s, _ in seen} == {404} and all(b == seen[0][1] for _, b in seen), seen
    seen = answers(outsider, "PATCH", "/actions/{x}", (created["id"], GHOST, "x"), json={"status": "bezig"},
                   headers={"If-Match": '"1"'})
    seen += answers(world.api["teacher"], "PATCH", "/actions/{x}", (created["id"],), json={"status": "bezig"},
                    headers={"If-Match": '"1"'})
    assert {s for s, _ in seen} == {404} and all(b == seen[0][1] for _, b in seen), seen
    assert db.session.get(PlanAction, uuid.UUID(created["id"])).version == 1


def test_a_smart_refusal_lists_every_blocking_finding_and_writes_nothing(world):
    before = (count(PlanAction), count(PlanHistory))
    response = post_action(world, "coordinator", world.coordinator, due=None, due_text="z.s.m.",
                           agreed_by=None, agreed_on=None)
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "niet_smart"
    assert error["details"] and all(set(d) == {"field", "code", "message"} for d in error["details"])
    assert "vague_date" in {d["code"] for d in error["details"]}
    assert error["message"] == error["details"][0]["message"]
    assert isinstance(error["advice"], list)
    assert (count(PlanAction), count(PlanHistory)) == before


def test_an_owner_outside_the_involved_organisations_is_refused(world):
    stranger = make_user("deelnemer", org=make_org())
    for extra in ({"owner_user_id": str(stranger.id)}, {"owner_user_id": GHOST}):
        response = post_action(world, "coordinator", world.coordinator, **extra)
        assert_error(response, 422)
    assert count(PlanAction) == 0


# --- updating with If-Match ---------------------------------------------------------------------

def test_update_needs_if_match_and_a_stale_version_gets_409_with_the_current_state(world):
    action = post_action(world, "coordinator", world.coordinator).get_json()
    assert_error(patch(world, "coordinator", action["id"], {"status": "bezig"}, None), 428, "versie_ontbreekt")
    assert_error(patch(world, "coordinator", action["id"], {"status": "bezig"}, "*"), 412, "versie_ongeldig")
    done = patch(world, "colleague", action["id"], {"status": "bezig", "progress": "Huisarts gebeld"}, '"1"')
    assert done.status_code == 200, done.get_json()
    assert done.headers["ETag"] == '"2"' and done.get_json()["status"] == "bezig"

    before = (count(ActionUpdate), count(PlanHistory))
    stale = patch(world, "coordinator", action["id"], {"status": "gereed", "progress": "Klaar"}, '"1"')
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"]["code"] == "verouderd" and "gewijzigd" in body["error"]["message"]
    assert (body["current"]["version"], body["current"]["status"], body["current"]["what"]) == (2, "bezig", WHAT)
    assert stale.headers["ETag"] == '"2"'
    assert (count(ActionUpdate), count(PlanHistory)) == before
    db.session.expire_all()
    assert db.session.get(PlanAction, uuid.UUID(action["id"])).status == "bezig"


def test_bad_updates_are_refused_in_dutch(world):
    action = post_action(world, "coordinator", world.coordinator).get_json()
    assert_error(patch(world, "coordinator", action["id"], {"status": "weg"}, '"1"'), 422)
    refused = assert_error(patch(world, "coordinator", action["id"], {"status": "niet_gelukt"}, '"1"'), 422)
    assert refused["details"][0]["field"] == "failure_reason"
    assert db.session.get(PlanAction, uuid.UUID(action["id"])).version == 1


# --- two real HTTP clients at once ---------------------------------------------------------------

def test_two_real_clients_updating_at_once_one_wins_the_other_gets_409(world, app, backend):
    if backend.name != "postgresql":
        pytest.skip("concurrent writers need a server database; SQLite serialises the whole file")
    action = post_action(world, "coordinator", world.coordinator).get_json()
    tokens = [world.api["coordinator"].token, world.api["colleague"].token]
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    barrier = threading.Barrier(2, timeout=10)
    results: list[tuple[int, dict, str | None]] = []
    lock = threading.Lock()

    def update(token: str, progress: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=20)
        try:
            payload = json.dumps({"status": "bezig", "progress": progress})
            barrier.wait()
            conn.request("PATCH", f"/api/v1/actions/{action['id']}", body=payload, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json", "If-Match": '"1"'})
            response = conn.getresponse()
            with lock:
                results.append((response.status, json.loads(response.read()), response.getheader("ETag")))
        finally:
            conn.close()

    try:
        workers = [threading.Thread(target=update, args=(token, f"Voortgang {n}")) for n, token in enumerate(tokens)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        assert not any(worker.is_alive() for worker in workers)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert sorted(status for status, _, _ in results) == [200, 409], results
    won = next(body for status, body, _ in results if status == 200)
    lost = next(body for status, body, _ in results if status == 409)
    assert won["version"] == 2
    assert lost["current"]["version"] == 2 and lost["current"]["status"] == "bezig"
    assert lost["error"]["code"] == "verouderd"
    db.session.expire_all()
    row = db.session.get(PlanAction, uuid.UUID(action["id"]))
    assert row.version == 2
    assert count(ActionUpdate, ActionUpdate.action_id == row.id) == 1
