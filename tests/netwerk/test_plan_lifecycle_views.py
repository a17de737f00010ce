"""The plan's lifecycle on screen (issue 4): the history through the privacy gate, accepting
with one click from Mijn acties and the plan page, status and progress from the plan page
through the one update route with a safe ``next``, editing and lapsing an action, goals,
and the zorgcoördinator's evaluation and closing. Bad input gets a Dutch message, 4xx, and
writes nothing; another organisation's plan or action answers 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select, update

from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models.plans import ActionUpdate, Plan, PlanAction, PlanEvaluation, PlanGoal, PlanHistory
from netwerk.operations import plans as plan_ops
from tests.conftest import csrf_token, post_form
from tests.helpers import html, path_of
from tests.netwerk import test_plan_views as base
from tests.netwerk.test_person_views import client_for
from tests.netwerk.test_plan_views import DONE_WHEN, GOAL, NOBODY, TODAY, WHAT, action_data, actor, count, started

world = base.world  # the shared fixture: a family with CJG (coordinator) and police involved


def with_goal(w):
    plan = started(w)
    goal = ops.add_goal(plan, "gezondheid", GOAL, w.coordinator, actor(w.coordinator))
    db.session.commit()
    return plan, goal


def with_action(w, owner=None, what: str = WHAT):
    plan, goal = with_goal(w)
    action, _ = ops.add_action(plan, goal_id=goal.id, what=what, done_when=DONE_WHEN, owner_user=owner or w.coordinator,
                               owner_member=None, due=TODAY + timedelta(days=14), due_text=None, agreed_by="ouder",
                               agreed_on=TODAY, actor=actor(w.coordinator), today=TODAY)
    db.session.commit()
    return plan, goal, action


def state(action: PlanAction) -> tuple:
    """What a refused request must leave as it was."""
    db.session.expire_all()
    fresh = db.session.get(PlanAction, action.id)
    return (fresh.version, fresh.status, fresh.due, fresh.what, count(PlanHistory), count(ActionUpdate))


# ---------------------------------------------------------------------------- history

def test_the_history_shows_who_and_what_through_the_gate(app, world):
    plan, goal = with_goal(world)
    ops.add_concern(plan, "gezondheid", "gezondheid", "MARKER-HEALTH", world.coordinator, actor(world.coordinator),
                    TODAY)
    db.session.commit()
    url = f"{world.url}/geschiedenis"
    assert client_for(app, world.outsider).get(url).status_code == 404
    assert client_for(app, world.outsider).get(f"/gezinnen/{NOBODY}/plan/geschiedenis").status_code == 404
    own = html(client_for(app, world.coordinator).get(url))
    assert "Plan gestart" in own and "Doel toegevoegd" in own and "Zorg toegevoegd" in own
    assert "Sanne de Vries (CJG Plan)" in own and GOAL in own and "MARKER-HEALTH" in own
    assert "We willen rust in huis" in own
    # Police without a purpose: that things changed and by whom, never what.
    police = html(client_for(app, world.agent).get(url))
    assert "Doel toegevoegd" in police and "gewijzigd" in police and "Concept" in police
    for text in (GOAL, "MARKER-HEALTH", "We willen rust in huis", "Oma helpt veel"):
        assert text not in police
    # Owning an action puts the police on the plan (procesregie): goals and the plan's own
    # texts, which the covenant gives them, but still not the health concern.
    ops.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=world.agent, owner_member=None,
                   due=TODAY + timedelta(days=14), due_text=None, agreed_by="ouder", agreed_on=TODAY,
                   actor=actor(world.coordinator), today=TODAY)
    db.session.commit()
    police = html(client_for(app, world.agent).get(url + "?doel=procesregie"))
    assert GOAL in police and WHAT in police and "We willen rust in huis" in police
    assert "MARKER-HEALTH" not in police and "Zorg toegevoegd" in police


def test_the_history_of_a_closed_plan_stays_readable(app, world):
    plan, _ = with_goal(world)
    plan_ops.close_plan(plan, reason="Gezin redt het zelf", lapse_open=False, actor=actor(world.coordinator),
                        today=TODAY)
    db.session.commit()
    body = html(client_for(app, world.coordinator).get(f"{world.url}/geschiedenis"))
    assert "Plan afgesloten" in body and "Gezin redt het zelf" in body


# ---------------------------------------------------------------------------- accept

def test_the_owner_accepts_with_one_click_from_mijn_acties_and_the_plan_page(app, world):
    _, _, action = with_action(world, owner=world.agent)
    police = client_for(app, world.agent)
    mine = html(police.get("/mijn-acties"))
    assert "Accepteren" in mine and "nog niet geaccepteerd" in mine
    assert "Accepteren" not in html(client_for(app, world.coordinator).get("/mijn-acties"))  # not theirs
    page = html(police.get(world.url + "?doel=procesregie"))
    assert f"/acties/{action.id}/accepteren" in page
    token = csrf_token(police, world.url)
    response = police.post(f"/acties/{action.id}/accepteren",
                           data={"csrf_token": token, "next": f"/gezinnen/{world.family.id}/plan#acties"})
    assert response.status_code == 302 and path_of(response) == world.url
    db.session.expire_all()
    assert db.session.get(PlanAction, action.id).accepted_at is not None
    assert "Accepteren" not in html(police.get("/mijn-acties"))


def test_an_action_not_accepted_in_time_is_marked(app, world):
    _, _, action = with_action(world, owner=world.agent)
    app.config["ACTION_ACCEPT_DAYS"] = 5
    db.session.execute(update(PlanAction).where(PlanAction.id == action.id)
                       .values(created_at=utcnow() - timedelta(days=4)))
    db.session.commit()
    assert "niet geaccepteerd" in html(client_for(app, world.agent).get("/mijn-acties"))
    assert '<span class="tag tag-warning">niet geaccepteerd</span>' not in html(
        client_for(app, world.agent).get("/mijn-acties"))
    db.session.execute(update(PlanAction).where(PlanAction.id == action.id)
                       .values(created_at=utcnow() - timedelta(days=6)))
    db.session.commit()
    for client, url in ((client_for(app, world.agent), "/mijn-acties"),
                        (client_for(app, world.coordinator), "/mijn-acties"),
                        (client_for(app, world.agent), world.url + "?doel=procesregie")):
        assert '<span class="tag tag-warning">niet geaccepteerd</span>' in html(client.get(url)), url


def test_accepting_needs_csrf_and_is_404_for_another_organisation(app, world):
    _, _, action = with_action(world, owner=world.agent)
    police = client_for(app, world.agent)
    assert police.post(f"/acties/{action.id}/accepteren", data={}).status_code == 400
    outsider = client_for(app, world.outsider)
    token = csrf_token(outsider, "/mijn-acties")
    assert outsider.post(f"/acties/{action.id}/accepteren", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(PlanAction, action.id).accepted_at is None


# ---------------------------------------------------------------------------- progress from the plan page

def test_status_and_progress_from_the_plan_page_go_back_to_the_plan(app, world):
    _, _, action = with_action(world)
    cjg = client_for(app, world.coordinator)
    page = html(cjg.get(world.url))
    assert f'action="/acties/{action.id}"' in page and f'value="/gezinnen/{world.family.id}/plan#acties"' in page
    token = csrf_token(cjg, world.url)
    data = {"csrf_token": token, "version": str(action.version), "status": "bezig", "failure_reason": "",
            "progress": "Huisarts gebeld", "next": f"/gezinnen/{world.family.id}/plan#acties"}
    response = cjg.post(f"/acties/{action.id}", data=data)
    assert response.status_code == 302 and path_of(response) == world.url
    assert "Actie bijgewerkt." in html(cjg.get(world.url))
    db.session.expire_all()
    assert db.session.get(PlanAction, action.id).status == "bezig"


@pytest.mark.parametrize("evil", ["https://evil.example/plan", "//evil.example/plan", "/\\evil.example",
                                  "javascript:alert(1)", "plan", "/ /x"])
def test_a_next_to_anywhere_else_is_refused(app, world, evil):
    _, _, action = with_action(world)
    cjg = client_for(app, world.coordinator)
    token = csrf_token(cjg, "/mijn-acties")
    response = cjg.post(f"/acties/{action.id}", data={
        "csrf_token": token, "version": str(action.version), "status": "bezig", "failure_reason": "",
        "progress": "", "next": evil})
    assert response.status_code == 302 and response.headers["Location"] == "/mijn-acties"


def test_a_refusal_from_the_plan_page_goes_back_with_the_message_and_writes_nothing(app, world):
    _, _, action = with_action(world)
    cjg = client_for(app, world.coordinator)
    before = state(action)
    token = csrf_token(cjg, world.url)
    response = cjg.post(f"/acties/{action.id}", data={
        "csrf_token": token, "version": str(action.version), "status": "gereed", "failure_reason": "",
        "progress": "", "next": f"/gezinnen/{world.family.id}/plan#acties"}, follow_redirects=True)
    assert "Schrijf bij gereed kort wat er is bereikt." in html(response)
    assert state(action) == before


# ---------------------------------------------------------------------------- edit and lapse an action

def edit_data(w, action: PlanAction, **changes: str) -> dict[str, str]:
    return {"goal_id": str(action.goal_id), "what": action.what, "done_when": action.done_when,
            "owner": f"u:{action.owner_user_id}", "due": action.due.isoformat(),
            "version": str(action.version)} | changes


def test_editing_an_action_on_its_page(app, world):
    _, _, action = with_action(world)
    url = f"{world.url}/acties/{action.id}"
    cjg = client_for(app, world.coordinator)
    page = html(cjg.get(url))
    assert WHAT in page and "Actie opslaan" in page and "Laten vervallen" in page
    assert url in html(cjg.get(world.url))
    new_due = action.due + timedelta(days=7)
    response = post_form(cjg, url, edit_data(world, action, what=WHAT + " en de school", due=new_due.isoformat()))
    assert response.status_code == 302, html(response)
    db.session.expire_all()
    fresh = db.session.get(PlanAction, action.id)
    assert (fresh.what, fresh.due, fresh.due_changes, fresh.version) == (WHAT + " en de school", new_due, 1, 2)


@pytest.mark.parametrize(("changes", "message"), [
    ({"owner": "u:outsider"}, "Kies een eigenaar uit de betrokken organisaties of het netwerk."),
    ({"due": (TODAY - timedelta(days=1)).isoformat()}, "verleden"),
    ({"due": (TODAY + timedelta(days=61)).isoformat()}, "evaluatie"),
    ({"done_when": ""}, "Dit veld is verplicht."),
    ({"what": "x" * 100_000}, "Gebruik hoogstens 2000 tekens."),
    ({"what": "Sanne houdt de schoolgang in de gaten", "done_when": "de schoolgang is in de gaten gehouden"},
     "is vaag"),
])
def test_a_bad_edit_gets_a_dutch_message_and_writes_nothing(app, world, changes, message):
    _, _, action = with_action(world)
    if changes.get("owner") == "u:outsider":
        changes = {"owner": f"u:{world.outsider.id}"}
    url = f"{world.url}/acties/{action.id}"
    cjg = client_for(app, world.coordinator)
    before = state(action)
    response = post_form(cjg, url, edit_data(world, action, **changes))
    body = html(response)
    assert response.status_code == 422 and (message in body or str(escape(message)) in body), body[-3000:]
    assert state(action) == before


def test_a_stale_edit_or_one_without_csrf_writes_nothing(app, world):
    _, _, action = with_action(world)
    url = f"{world.url}/acties/{action.id}"
    cjg = client_for(app, world.coordinator)
    before = state(action)
    assert cjg.post(url, data=edit_data(world, action, what=WHAT + " morgen")).status_code == 400
    assert state(action) == before
    response = post_form(cjg, url, edit_data(world, action, what=WHAT + " morgen", version="0"),
                         follow_redirects=True)
    assert "Iemand anders heeft deze actie intussen gewijzigd" in html(response)
    assert state(action) == before


def test_another_organisations_action_or_plan_is_404(app, world):
    _, _, action = with_action(world)
    url = f"{world.url}/acties/{action.id}"
    outsider = client_for(app, world.outsider)
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"{world.url}/doelen/{action.goal_id}").status_code == 404
    cjg = client_for(app, world.coordinator)
    assert cjg.get(f"{world.url}/acties/{NOBODY}").status_code == 404
    assert cjg.get(f"{world.url}/acties/niet-een-id").status_code == 404
    # An action of the family's plan, reached through another family's URL, is not there.
    assert cjg.get(f"/gezinnen/{NOBODY}/plan/acties/{action.id}").status_code == 404
    token = csrf_token(outsider, "/mijn-acties")
    before = state(action)
    for path in (f"{url}/vervallen", f"/acties/{action.id}"):
        response = outsider.post(path, data={"csrf_token": token, "reason": "Weg ermee", "version": "1",
                                             "status": "vervallen"})
        assert response.status_code == 404
    assert state(action) == before


def test_an_action_lapses_with_a_reason_on_its_page(app, world):
    _, _, action = with_action(world)
    url = f"{world.url}/acties/{action.id}"
    cjg = client_for(app, world.coordinator)
    before = state(action)
    refused = post_form(cjg, f"{url}/vervallen", {"reason": "", "version": str(action.version)}, token_from=url)
    assert refused.status_code == 422 and "Dit veld is verplicht." in html(refused)
    assert state(action) == before
    response = post_form(cjg, f"{url}/vervallen", {"reason": "Gezin verhuist", "version": str(action.version)},
                         token_from=url, follow_redirects=True)
    assert "Actie vervallen." in html(response)
    db.session.expire_all()
    assert db.session.get(PlanAction, action.id).status == "vervallen"


# ---------------------------------------------------------------------------- the add-action form's bad input

@pytest.mark.parametrize(("changes", "message"), [
    ({"owner": "outsider"}, "Kies een eigenaar uit de betrokken organisaties of het netwerk."),
    ({"due": (TODAY - timedelta(days=1)).isoformat()}, "verleden"),
    ({"due": (TODAY + timedelta(days=61)).isoformat()}, "evaluatie"),
    ({"done_when": ""}, "Dit veld is verplicht."),
    ({"what": "x" * 100_000}, "Gebruik hoogstens 2000 tekens."),
])
def test_a_bad_new_action_gets_a_dutch_message_and_writes_nothing(app, world, changes, message):
    _, goal = with_goal(world)
    if changes.get("owner") == "outsider":
        changes = {"owner": f"u:{world.outsider.id}"}
    cjg = client_for(app, world.coordinator)
    history = count(PlanHistory)
    response = post_form(cjg, f"{world.url}/acties", action_data(world, goal, **changes), token_from=world.url)
    body = html(response)
    assert response.status_code == 422 and (message in body or str(escape(message)) in body)
    assert count(PlanAction) == 0 and count(PlanHistory) == history


def test_plan_forms_without_csrf_are_refused(app, world):
    plan, goal = with_goal(world)
    cjg = client_for(app, world.coordinator)
    version = plan.version
    for path, data in ((f"{world.url}/acties", action_data(world, goal)),
                       (f"{world.url}/evalueren", {"held_on": TODAY.isoformat(), "summary": "x",
                                                   "next_evaluation": (TODAY + timedelta(days=9)).isoformat()}),
                       (f"{world.url}/afsluiten", {"reason": "Klaar ermee"}),
                       (f"{world.url}/doelen/{goal.id}/bereikt", {"achieved_on": TODAY.isoformat()})):
        assert cjg.post(path, data=data).status_code == 400, path
    db.session.expire_all()
    assert count(PlanAction) == 0 and db.session.get(Plan, plan.id).version == version
    assert db.session.get(PlanGoal, goal.id).achieved_on is None


# ---------------------------------------------------------------------------- goals

def test_a_goal_is_edited_reached_or_dropped_on_its_page(app, world):
    _, goal = with_goal(world)
    url = f"{world.url}/doelen/{goal.id}"
    cjg = client_for(app, world.coordinator)
    assert url in html(cjg.get(world.url)) and GOAL in html(cjg.get(url))
    response = post_form(cjg, url, {"text": "Noor slaapt zes nachten door"})
    assert response.status_code == 302
    future = post_form(cjg, f"{url}/bereikt", {"achieved_on": (TODAY + timedelta(days=2)).isoformat()},
                       token_from=url)
    assert future.status_code == 422 and "vandaag of eerder" in html(future)
    response = post_form(cjg, f"{url}/bereikt", {"achieved_on": TODAY.isoformat()}, token_from=url,
                         follow_redirects=True)
    assert "Doel bereikt." in html(response) and f"bereikt op {TODAY.isoformat()}" in html(response)
    db.session.expire_all()
    assert (db.session.get(PlanGoal, goal.id).text, db.session.get(PlanGoal, goal.id).achieved_on) == (
        "Noor slaapt zes nachten door", TODAY)


def test_another_organisation_may_not_change_a_goal(app, world):
    plan, goal = with_goal(world)
    ops.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=world.agent, owner_member=None,
                   due=TODAY + timedelta(days=14), due_text=None, agreed_by="ouder", agreed_on=TODAY,
                   actor=actor(world.coordinator), today=TODAY)
    db.session.commit()
    police = client_for(app, world.agent)
    url = f"{world.url}/doelen/{goal.id}?doel=procesregie"
    assert "Doel wijzigen" not in html(police.get(world.url + "?doel=procesregie"))
    response = post_form(police, url, {"text": "Anders"}, token_from=url)
    assert response.status_code == 422 and "Alleen de zorgcoördinator of de organisatie" in html(response)
    db.session.expire_all()
    assert db.session.get(PlanGoal, goal.id).text == GOAL
    dropped = post_form(police, f"{world.url}/doelen/{goal.id}/vervallen?doel=procesregie", {"reason": ""},
                        token_from=url)
    assert dropped.status_code == 422 and db.session.get(PlanGoal, goal.id).dropped_on is None


# ---------------------------------------------------------------------------- evaluate and close

def adopted(w):
    plan, goal = with_goal(w)
    ops.adopt_plan(plan, "zorgcoordinator", actor(w.coordinator), TODAY)
    db.session.commit()
    return plan, goal


def test_the_coordinator_evaluates_the_plan(app, world):
    plan, _ = adopted(world)
    data = {"held_on": TODAY.isoformat(), "summary": "Slapen gaat beter",
            "next_evaluation": (TODAY + timedelta(days=42)).isoformat()}
    colleague = client_for(app, world.colleague)
    assert "Evaluatie vastleggen" not in html(colleague.get(world.url))
    refused = post_form(colleague, f"{world.url}/evalueren", data, token_from=world.url)
    assert refused.status_code == 422 and "Alleen de zorgcoördinator kan het plan evalueren." in html(refused)
    cjg = client_for(app, world.coordinator)
    bad = post_form(cjg, f"{world.url}/evalueren", data | {"next_evaluation": TODAY.isoformat()},
                    token_from=world.url)
    assert bad.status_code == 422 and "volgende evaluatie na vandaag" in html(bad)
    assert count(PlanEvaluation) == 0
    response = post_form(cjg, f"{world.url}/evalueren", data, token_from=world.url, follow_redirects=True)
    body = html(response)
    assert "Evaluatie vastgelegd." in body and "Geëvalueerd" in body
    assert (TODAY + timedelta(days=42)).isoformat() in body
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).status == "geevalueerd"


def test_closing_with_open_actions_needs_letting_them_lapse_then_a_new_plan_starts(app, world):
    plan, goal = adopted(world)
    ops.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=world.coordinator,
                   owner_member=None, due=TODAY + timedelta(days=14), due_text=None, agreed_by="ouder",
                   agreed_on=TODAY, actor=actor(world.coordinator), today=TODAY)
    db.session.commit()
    cjg = client_for(app, world.coordinator)
    refused = post_form(cjg, f"{world.url}/afsluiten", {"reason": "Doelen bereikt"}, token_from=world.url)
    assert refused.status_code == 422 and "Er staan nog 1 acties open" in html(refused)
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).status == "vastgesteld"
    response = post_form(cjg, f"{world.url}/afsluiten", {"reason": "Doelen bereikt", "lapse_open": "y"},
                         token_from=world.url, follow_redirects=True)
    body = html(response)
    assert "Plan afgesloten." in body and "Plan starten" in body and "Het vorige plan is afgesloten op" in body
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).status == "afgesloten"
    assert db.session.scalar(select(PlanAction.status)) == "vervallen"
    response = post_form(cjg, f"{world.url}/starten", {"coordinator": str(world.colleague.id)}, token_from=world.url)
    assert response.status_code == 302 and count(Plan) == 2
