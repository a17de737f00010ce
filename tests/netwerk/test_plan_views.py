"""The plan page of a family (1gezin1plan): only for organisations involved with a member
(404 like a family that does not exist), starting a plan with an eligible zorgcoördinator,
goals and SMART actions through the forms (a vague action is refused with the checker's
Dutch message, 422, nothing written), optimistic concurrency on edits, content through the
privacy gate per category and owner, and escaping of what people wrote."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import func, select

from netwerk import operations as ops
from netwerk import smart
from netwerk.db import db, utcnow
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import NetworkMember, Plan, PlanAction, PlanConcern, PlanGoal, PlanHistory
from privacy.audit import Actor
from tests.conftest import post_form
from tests.factories import SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import html, path_of
from tests.netwerk.test_person_views import client_for

TODAY = utcnow().date()
NOBODY = "00000000-0000-4000-8000-000000000000"
GOAL = "Noor slaapt weer door en gaat uitgerust naar school"
WHAT = "Moeder belt de huisarts voor een afspraak over het slapen van Noor"
DONE_WHEN = "klaar als er een datum voor de afspraak in de agenda staat"


@dataclass
class World:
    family: Family
    cjg: Organisation
    police: Organisation
    coordinator: User
    colleague: User  # another CJG professional
    agent: User  # police, involved with the family
    outsider: User

    @property
    def url(self) -> str:
        return f"/gezinnen/{self.family.id}/plan"


def actor(user: User) -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role="deelnemer")


def count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def involve(who, org: Organisation) -> None:
    ops.register_involvement(who, ops.InvolvementData(
        organisation_id=org.id, contact_name=f"Contact {org.name}", contact_email=f"c@{org.id.hex[:8]}.example.test",
        start_date=TODAY - timedelta(days=3)), SYSTEM, TODAY)


@pytest.fixture
def world(app: Flask) -> World:
    cjg, police = make_org("CJG Plan", "cjg"), make_org("Politie Plan", "politie", "veiligheid")
    make_covenant(cjg, police, rules=[allow(police, "plan", "procesregie")])
    coordinator = make_user(org=cjg, name="Sanne de Vries")
    coordinator.phone = "071 555 1234"
    colleague, agent = make_user(org=cjg, name="Karin Kok"), make_user(org=police, name="Wout Agent")
    outsider = make_user(org=make_org("Jongerenwerk Plan", "jongerenwerk"), name="Ali Yilmaz")
    mother = ops.register_person(ops.PersonData("Sara", "Jansen", date(1985, 1, 1)), SYSTEM, TODAY, confirmed_new=True)
    noor = ops.register_person(ops.PersonData("Noor", "Jansen", date(2012, 3, 4)), SYSTEM, TODAY, confirmed_new=True)
    family = ops.compose_family([(mother, "ouder"), (noor, "kind")], SYSTEM)
    involve(noor, cjg)
    involve(noor, police)
    db.session.commit()
    return World(family, cjg, police, coordinator, colleague, agent, outsider)


def started(w: World) -> Plan:
    plan = ops.start_plan(w.family, w.coordinator, actor(w.coordinator), TODAY)
    ops.update_plan(plan, family_view="We willen rust in huis", strengths="Oma helpt veel",
                    next_evaluation=TODAY + timedelta(days=60), family_agreement_required=True,
                    expected_version=plan.version, actor=actor(w.coordinator), today=TODAY)
    db.session.commit()
    return plan


def action_data(w: World, goal: PlanGoal, **changes: str) -> dict[str, str]:
    return {"goal_id": str(goal.id), "what": WHAT, "done_when": DONE_WHEN, "owner": f"u:{w.coordinator.id}",
            "due": (TODAY + timedelta(days=14)).isoformat(), "due_text": "", "agreed_by": "ouder",
            "agreed_on": TODAY.isoformat()} | changes


def test_the_plan_page_is_404_for_outsiders_and_for_a_family_that_does_not_exist(app, world):
    outsider = client_for(app, world.outsider)
    hidden, missing = outsider.get(world.url), outsider.get(f"/gezinnen/{NOBODY}/plan")
    assert hidden.status_code == missing.status_code == 404
    assert outsider.get("/gezinnen/x/plan").status_code == 404
    assert outsider.post(f"{world.url}/doelen", data={}).status_code in (400, 404)
    started(world)
    assert outsider.get(world.url).status_code == 404
    assert "We willen rust" not in html(outsider.get(world.url))


def test_starting_a_plan_with_an_eligible_coordinator(app, world):
    cjg = client_for(app, world.colleague)
    page = html(cjg.get(world.url))
    assert "Plan starten" in page and "Sanne de Vries (CJG Plan)" in page and "Ali Yilmaz" not in page
    assert f"/gezinnen/{world.family.id}/plan" in html(cjg.get(f"/gezinnen/{world.family.id}"))
    refused = post_form(cjg, f"{world.url}/starten", {"coordinator": str(world.outsider.id)}, token_from=world.url)
    assert refused.status_code == 422 and count(Plan) == 0
    response = post_form(cjg, f"{world.url}/starten", {"coordinator": str(world.coordinator.id)},
                         token_from=world.url)
    assert response.status_code == 302 and path_of(response) == world.url
    plan = db.session.scalar(select(Plan))
    assert plan.status == "concept" and plan.created_by_user_id == world.colleague.id
    page = html(cjg.get(world.url))
    assert "Concept" in page and "Sanne de Vries, CJG Plan, 071 555 1234" in page


def test_adding_a_goal_and_a_good_action(app, world):
    plan = started(world)
    cjg = client_for(app, world.coordinator)
    response = post_form(cjg, f"{world.url}/doelen", {"domain": "gezondheid", "text": GOAL}, token_from=world.url)
    assert response.status_code == 302
    goal = db.session.scalar(select(PlanGoal).where(PlanGoal.plan_id == plan.id))
    assert goal.text == GOAL and goal.domain == "gezondheid"
    response = post_form(cjg, f"{world.url}/acties", action_data(world, goal), token_from=world.url)
    assert response.status_code == 302, html(response)
    action = db.session.scalar(select(PlanAction))
    assert (action.what, action.owner_user_id, action.due) == (WHAT, world.coordinator.id, TODAY + timedelta(days=14))
    page = html(cjg.get(world.url))
    assert GOAL in page and WHAT in page and DONE_WHEN in page and "Gezondheid" in page and "Open" in page


def test_a_vague_action_is_refused_with_the_checkers_message_and_nothing_written(app, world):
    plan = started(world)
    goal = ops.add_goal(plan, "opvoeding", GOAL, world.coordinator, actor(world.coordinator))
    db.session.commit()
    history = count(PlanHistory)
    cjg = client_for(app, world.coordinator)
    response = post_form(cjg, f"{world.url}/acties",
                         action_data(world, goal, what="Begeleidt het gezin", done_when="Het gezin is begeleid"),
                         token_from=world.url)
    body = html(response)
    assert response.status_code == 422
    draft = smart.ActionDraft(what="Begeleidt het gezin", done_when="Het gezin is begeleid",
                              owner_label=world.coordinator.name, goal_id=goal.id, due=TODAY + timedelta(days=14),
                              due_text=None, owner_accepted=True, family_agreement_required=False,
                              family_agreed=True, today=TODAY, next_evaluation=TODAY + timedelta(days=60),
                              owner_is_group=False)
    messages = [f.message for f in smart.check(draft).blocking]
    assert len(messages) >= 2
    for message in messages:
        assert str(escape(message)) in body
    assert 'aria-invalid="true"' in body
    assert count(PlanAction) == 0 and count(PlanHistory) == history


def test_a_stale_edit_says_so_and_writes_nothing(app, world):
    plan = started(world)
    cjg = client_for(app, world.coordinator)
    old_version = plan.version
    token_page = world.url
    ops.update_plan(plan, family_view="Nieuwe visie van de ander", strengths=plan.strengths,
                    next_evaluation=plan.next_evaluation, family_agreement_required=True,
                    expected_version=plan.version, actor=actor(world.colleague), today=TODAY)
    db.session.commit()
    response = post_form(cjg, f"{world.url}/bewerken",
                         {"family_view": "Mijn visie", "strengths": "Oma helpt veel",
                          "next_evaluation": (TODAY + timedelta(days=60)).isoformat(),
                          "family_agreement_required": "y", "version": str(old_version)},
                         token_from=token_page, follow_redirects=True)
    body = html(response)
    assert "Iemand anders heeft dit plan intussen gewijzigd" in body and "Nieuwe visie van de ander" in body
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).family_view == "Nieuwe visie van de ander"


def test_an_edit_with_the_current_version_is_saved(app, world):
    plan = started(world)
    cjg = client_for(app, world.coordinator)
    response = post_form(cjg, f"{world.url}/bewerken",
                         {"family_view": "Mijn visie", "strengths": "", "next_evaluation": "",
                          "version": str(plan.version)}, token_from=world.url)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Plan, plan.id)
    assert saved.family_view == "Mijn visie" and saved.strengths is None and not saved.family_agreement_required


def test_procesregie_shows_goals_and_actions_but_a_forbidden_concern_only_as_that(app, world):
    plan = started(world)
    goal = ops.add_goal(plan, "veiligheid", "MARKER-GOAL", world.coordinator, actor(world.coordinator))
    ops.add_concern(plan, "gezondheid", "gezondheid", "MARKER-HEALTH", world.coordinator, actor(world.coordinator),
                    TODAY)
    ops.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=world.agent, owner_member=None,
                   due=TODAY + timedelta(days=14), due_text=None, agreed_by="ouder", agreed_on=TODAY,
                   actor=actor(world.coordinator), today=TODAY)
    db.session.commit()
    police = html(client_for(app, world.agent).get(world.url + "?doel=procesregie"))
    assert "Doel: <strong>procesregie</strong>" in police
    assert "MARKER-GOAL" in police and WHAT in police and "We willen rust in huis" in police
    assert "MARKER-HEALTH" not in police
    assert "Er is informatie bij CJG Plan — neem contact op" in police
    own = html(client_for(app, world.coordinator).get(world.url))
    assert "MARKER-HEALTH" in own


def test_what_people_wrote_is_escaped(app, world):
    plan = started(world)
    ops.add_goal(plan, "school", "<script>alert(1)</script>", world.coordinator, actor(world.coordinator))
    db.session.commit()
    body = html(client_for(app, world.coordinator).get(world.url))
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_adopting_and_handing_over(app, world):
    plan = started(world)
    ops.add_goal(plan, "school", GOAL, world.coordinator, actor(world.coordinator))
    db.session.commit()
    colleague = client_for(app, world.colleague)
    post_form(colleague, f"{world.url}/vaststellen", {}, token_from=world.url)
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).status == "concept"  # only the coordinator adopts alone
    cjg = client_for(app, world.coordinator)
    assert "Vaststellen" in html(cjg.get(world.url))
    response = post_form(cjg, f"{world.url}/vaststellen", {}, token_from=world.url, follow_redirects=True)
    assert "Plan vastgesteld." in html(response)
    refused = post_form(cjg, f"{world.url}/zorgcoordinator", {"coordinator": str(world.colleague.id), "reason": ""},
                        token_from=world.url)
    assert refused.status_code == 422
    response = post_form(cjg, f"{world.url}/zorgcoordinator",
                         {"coordinator": str(world.colleague.id), "reason": "Verlof van drie maanden"},
                         token_from=world.url, follow_redirects=True)
    assert "Karin Kok, CJG Plan" in html(response)


def test_a_concern_with_a_covenant_category_and_a_network_member_owning_an_action(app, world):
    plan = started(world)
    goal = ops.add_goal(plan, "school", GOAL, world.coordinator, actor(world.coordinator))
    db.session.commit()
    cjg = client_for(app, world.coordinator)
    page = html(cjg.get(world.url))
    assert '<option value="gezondheid">Gezondheid</option>' in page  # the covenant's categories
    bad = post_form(cjg, f"{world.url}/zorgen", {"domain": "school", "category": "verzonnen", "text": "Zorg"},
                    token_from=world.url)
    assert bad.status_code == 422 and count(PlanConcern) == 0
    ok = post_form(cjg, f"{world.url}/zorgen", {"domain": "school", "category": "school", "text": "Verzuim"},
                   token_from=world.url)
    assert ok.status_code == 302 and db.session.scalar(select(PlanConcern)).text == "Verzuim"
    ok = post_form(cjg, f"{world.url}/netwerk", {"kind": "informeel", "name": "Oma Jansen", "role": "Haalt Noor op",
                                                 "organisation_id": ""}, token_from=world.url)
    assert ok.status_code == 302
    member = db.session.scalar(select(NetworkMember))
    assert f'value="m:{member.id}"' in html(cjg.get(world.url))
    response = post_form(cjg, f"{world.url}/acties",
                         action_data(world, goal, owner=f"m:{member.id}",
                                     what="Oma haalt Noor op dinsdag en donderdag op van school"),
                         token_from=world.url)
    assert response.status_code == 302, html(response)
    assert db.session.scalar(select(PlanAction)).owner_member_id == member.id
    assert "Oma Jansen" in html(cjg.get(world.url))


def test_forms_offer_only_what_the_gate_disclosed(app, world):
    """The plan page's forms are part of the page: a viewer without a purpose finds no goal
    text in the goal list, no network member in the owner list and no family view in the
    edit form (which is not offered at all), and cannot post one either."""
    plan = started(world)
    ops.add_goal(plan, "school", "DOELTEKST Noor gaat weer naar school", world.coordinator, actor(world.coordinator))
    ops.add_network_member(plan, "informeel", "NETWERKNAAM Oma Jansen", "vangt op", None, None,
                           actor(world.coordinator))
    db.session.commit()
    agent = client_for(app, world.agent)  # involved, but the plan gives the police no purpose
    page = html(agent.get(world.url))
    for marker in ("DOELTEKST", "NETWERKNAAM", "We willen rust", "Oma helpt veel"):
        assert marker not in page, marker
    assert "plan-bewerken" not in page
    response = post_form(agent, f"{world.url}/bewerken", {
        "family_view": "overschreven", "strengths": "", "next_evaluation": "", "version": str(plan.version)},
        token_from=world.url)
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Plan, plan.id).family_view == "We willen rust in huis"
    coordinator = html(client_for(app, world.coordinator).get(world.url))
    assert "DOELTEKST" in coordinator and "NETWERKNAAM" in coordinator and "We willen rust" in coordinator
