"""Mijn acties (issue 4): a user's and their organisation's open actions across families,
by due date with "te laat" and "binnenkort" marks, updated inline in one POST; the
zorgcoördinator sees every action of their families (texts through the gate); reminders
carry a link and no content, once per action, kind and day."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select, update

from netwerk import operations as ops
from netwerk import queries
from netwerk.db import db, utcnow
from netwerk.jobqueue import PERIODIC
from netwerk.jobs import remind_actions
from netwerk.models import Family, Notification, Organisation, OutboxMail, User
from netwerk.models.plans import ActionUpdate, Plan, PlanAction, PlanGoal
from privacy.models import AuditEntry
from tests.conftest import csrf_token
from tests.factories import make_covenant, make_org, make_user
from tests.helpers import html, path_of
from tests.netwerk.test_api import bearer, token_for
from tests.netwerk.test_person_views import client_for
from tests.netwerk.test_plans import DONE_WHEN, GOAL, TODAY, WHAT, actor, family_with

EVALUATION = TODAY + timedelta(days=60)


@dataclass
class World:
    cjg: Organisation
    school: Organisation
    coordinator: User
    teacher: User  # owns the school's actions
    colleague: User  # the teacher's colleague at the school
    outsider: User
    families: list[Family]
    plans: list[Plan]
    goals: list[PlanGoal]


@pytest.fixture
def world(app) -> World:
    cjg, school = make_org("CJG Test", "cjg"), make_org("School Test", "leerplicht", "onderwijs")
    other = make_org("Derde Test", "jongerenwerk")
    make_covenant(cjg, school, other)  # no rule: another organisation's plan texts stay withheld
    coordinator = make_user(org=cjg, name="Sanne de Vries")
    teacher, colleague = make_user(org=school, name="Piet Bakker"), make_user(org=school, name="Juf Jet")
    outsider = make_user(org=other, name="Ali Yilmaz")
    families, plans, goals = [], [], []
    for _ in range(2):
        family = family_with(cjg, school)
        plan = ops.start_plan(family, coordinator, actor(coordinator), TODAY)
        goals.append(ops.add_goal(plan, "gezondheid", GOAL, coordinator, actor(coordinator)))
        families.append(family)
        plans.append(plan)
    db.session.commit()
    return World(cjg, school, coordinator, teacher, colleague, outsider, families, plans, goals)


def add(w: World, index: int, owner: User, due_in: int = 14, what: str = WHAT) -> PlanAction:
    action, _ = ops.add_action(w.plans[index], goal_id=w.goals[index].id, what=what, done_when=DONE_WHEN,
                               owner_user=owner, owner_member=None, due=TODAY + timedelta(days=14), due_text=None,
                               agreed_by=None, agreed_on=None, actor=actor(w.coordinator), today=TODAY)
    if due_in != 14:  # past or near dates: set directly, as time passing would
        db.session.execute(update(PlanAction).where(PlanAction.id == action.id)
                           .values(due=TODAY + timedelta(days=due_in)))
    db.session.commit()
    db.session.expire_all()
    return action


def form(action: PlanAction, **fields: str) -> dict[str, str]:
    return {"version": str(action.version), "status": action.status, "failure_reason": "", "progress": ""} | fields


def test_the_page_lists_own_and_organisation_actions_by_due_date_with_marks(app, world):
    later = add(world, 0, world.teacher, 20, what="Piet belt de leerplichtambtenaar over het verzuim van Noor")
    late = add(world, 1, world.teacher, -2, what="Piet stuurt het verzuimoverzicht naar moeder van Noor")
    soon = add(world, 0, world.teacher, 0, what="Piet plant een gesprek met de mentor en moeder van Noor")
    cjg_own = add(world, 1, world.coordinator, 10, what="Sanne bespreekt met moeder de slaaptips voor Noor")
    for user in (world.teacher, world.colleague):
        body = html(client_for(app, user).get("/mijn-acties"))
        positions = [body.index(f'id="actie-{a.id}"') for a in (late, soon, later)]
        assert positions == sorted(positions)
        assert late.what in body and soon.what in body and later.what in body and DONE_WHEN in body
        assert "te laat" in body and "binnenkort" in body
        assert f'id="actie-{cjg_own.id}"' not in body and cjg_own.what not in body
        assert world.families[0].pseudonym in body and "Mijn acties" in body
    rows = queries.my_actions(world.teacher, TODAY)
    assert [(r.action.id, r.overdue, r.due_soon) for r in rows] == [
        (late.id, True, False), (soon.id, False, True), (later.id, False, False)]
    assert {r.relation for r in rows} == {"eigen"}
    assert {r.relation for r in queries.my_actions(world.colleague, TODAY)} == {"organisatie"}


def test_the_coordinator_sees_every_action_with_other_texts_withheld(app, world):
    school_action = add(world, 0, world.teacher, what="Piet belt de leerplichtambtenaar over het verzuim van Noor")
    own = add(world, 1, world.coordinator, what="Sanne bespreekt met moeder de slaaptips voor Noor")
    body = html(client_for(app, world.coordinator).get("/mijn-acties"))
    assert f'id="actie-{school_action.id}"' in body and f'id="actie-{own.id}"' in body
    assert own.what in body and school_action.what not in body
    assert "Er is informatie bij School Test" in body and "als zorgcoördinator" in body


def test_another_organisation_sees_nothing_and_gets_404(app, world):
    action = add(world, 0, world.teacher)
    client = client_for(app, world.outsider)
    body = html(client.get("/mijn-acties"))
    assert f"actie-{action.id}" not in body and WHAT not in body and "Geen openstaande acties" in body
    token = csrf_token(client, "/mijn-acties")
    response = client.post(f"/acties/{action.id}", data={"csrf_token": token, **form(action, status="bezig")})
    assert response.status_code == 404
    assert client.post("/acties/niet-een-id", data={"csrf_token": token}).status_code == 404
    db.session.expire_all()
    assert db.session.get(PlanAction, action.id).status == "open"


def test_status_and_progress_are_updated_in_one_post(app, world):
    action = add(world, 0, world.teacher)
    client = client_for(app, world.colleague)  # the owner's organisation may update it too
    token = csrf_token(client, "/mijn-acties")
    version = action.version
    response = client.post(f"/acties/{action.id}", data={
        "csrf_token": token, **form(action, status="bezig", progress="Eerste gesprek gevoerd")})
    assert response.status_code == 302 and path_of(response) == "/mijn-acties"
    db.session.expire_all()
    fresh = db.session.get(PlanAction, action.id)
    assert (fresh.status, fresh.version) == ("bezig", version + 1)
    assert [u.text for u in db.session.scalars(select(ActionUpdate))] == ["Eerste gesprek gevoerd"]
    assert "Actie bijgewerkt" in html(client.get("/mijn-acties"))


def test_done_without_saying_what_was_reached_is_saved_with_a_warning(app, world):
    """The note is judged against "klaar als" when it is written; a bare "gedaan" is kept
    (the owner decides) but the page says it still counts as open for escalation."""
    action = add(world, 0, world.teacher)
    client = client_for(app, world.teacher)
    token = csrf_token(client, "/mijn-acties")
    client.post(f"/acties/{action.id}", data={"csrf_token": token, **form(action, status="gereed", progress="gedaan")})
    page = html(client.get("/mijn-acties"))
    assert "Actie bijgewerkt" in page and "telt voor de opschaling nog als open" in page
    db.session.expire_all()
    fresh = db.session.get(PlanAction, action.id)
    assert (fresh.status, fresh.criterion_met) == ("gereed", False)


def test_a_post_without_csrf_token_is_refused(app, world):
    action = add(world, 0, world.teacher)
    response = client_for(app, world.teacher).post(f"/acties/{action.id}", data=form(action, status="bezig"))
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(PlanAction, action.id).status == "open"


def test_a_stale_version_says_so_and_writes_nothing(app, world):
    action = add(world, 0, world.teacher)
    client = client_for(app, world.teacher)
    token = csrf_token(client, "/mijn-acties")
    stale = form(action, status="bezig", progress="Mijn oude stand")
    version = action.version
    first = client.post(f"/acties/{action.id}", data={"csrf_token": token, **form(action, status="bezig")})
    assert first.status_code == 302
    response = client.post(f"/acties/{action.id}", data={"csrf_token": token, **stale})
    body = html(response)
    assert response.status_code == 409 and "intussen bijgewerkt" in body
    assert f'name="version" value="{version + 1}"' in body  # the current state is shown
    db.session.expire_all()
    assert db.session.get(PlanAction, action.id).version == version + 1
    assert db.session.scalars(select(ActionUpdate)).all() == []


def test_gereed_without_progress_gets_a_dutch_message(app, world):
    action = add(world, 0, world.teacher)
    client = client_for(app, world.teacher)
    token = csrf_token(client, "/mijn-acties")
    version = action.version
    response = client.post(f"/acties/{action.id}", data={"csrf_token": token, **form(action, status="gereed")})
    assert response.status_code == 422 and "Schrijf bij gereed kort wat er is bereikt." in html(response)
    db.session.expire_all()
    assert (db.session.get(PlanAction, action.id).status, db.session.get(PlanAction, action.id).version) == (
        "open", version)


def test_the_page_costs_the_same_statements_however_many_actions(app, world):
    client = client_for(app, world.coordinator)

    def statements() -> int:
        count = 0
        db.session.expire_all()  # the test shares the session: start each request from the same state

        def tick(*args, **kwargs) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", tick)
        try:
            assert client.get("/mijn-acties").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", tick)
        return count

    for n in range(4):
        add(world, n % 2, (world.teacher, world.coordinator)[n // 2], 3 + n)
    statements()  # warm: the compiled covenant is cached per process
    few = statements()
    for n in range(8):
        add(world, n % 2, (world.teacher, world.coordinator)[n % 4 // 2], 10 + n)
    assert statements() == few
    assert len(queries.my_actions(world.coordinator, TODAY)) == 12


def test_the_page_is_paged_and_only_the_page_goes_through_the_gate(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "MY_ACTIONS_PER_PAGE", 2)  # the app outlives the test
    actions = [add(world, n % 2, world.coordinator, 3 + n) for n in range(5)]  # by due date
    db.session.commit()
    client = client_for(app, world.coordinator)

    def shown(query: str) -> list[str]:
        body = client.get(f"/mijn-acties{query}").get_data(as_text=True)
        return [a.id.hex for a in actions if f'id="actie-{a.id}"' in body]

    ids = [a.id.hex for a in actions]
    assert shown("") == ids[:2]
    assert shown("?pagina=2") == ids[2:4]
    assert shown("?pagina=3") == ids[4:]
    assert shown("?pagina=99") == ids[4:]  # past the end: the last page
    assert shown("?pagina=abc") == shown("?pagina=-1") == ids[:2]
    page = client.get("/mijn-acties?pagina=2").get_data(as_text=True)
    assert "Acties 3–4 van 5" in page and "pagina=3" in page and "pagina=1" in page
    # A change made on page 2 comes back to page 2.
    assert f"/mijn-acties?pagina=2#actie-{actions[2].id}" in page
    # The gate sees (and the audit names) only the plans of the actions on screen: the last
    # page holds one action, of one family, while the user has actions on two.
    assert actions[4].plan_id != actions[3].plan_id
    before = db.session.scalar(select(func.max(AuditEntry.seq)))
    assert shown("?pagina=3") == ids[4:]
    reads = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > before,
                                                        AuditEntry.action == "content.read")).all()
    assert reads and {o for e in reads for o in e.meta["objects"]} == {str(actions[4].plan_id)}


def test_reminders_are_due_soon_and_overdue_with_a_link_and_no_content(app, world):
    late = add(world, 0, world.teacher, -1)
    soon = add(world, 1, world.teacher, 0)
    add(world, 0, world.coordinator, 40)  # far away: no reminder
    assert remind_actions(TODAY.isoformat()) == 2
    db.session.commit()
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind.like("action_%"))
                               .order_by(OutboxMail.kind)).all()
    assert [(m.kind, m.recipient) for m in mails] == [
        ("action_due_soon", world.teacher.email), ("action_overdue", world.teacher.email)]
    assert {m.dedupe_key for m in mails} == {f"action_overdue:{late.id.hex}:{TODAY.isoformat()}",
                                             f"action_due_soon:{soon.id.hex}:{TODAY.isoformat()}"}
    for mail in mails:
        assert "http://netwerk.test/mijn-acties" in mail.body
        text = mail.subject + mail.body
        assert WHAT not in text and DONE_WHEN not in text and "Noor" not in text
        assert world.families[0].pseudonym not in text and world.families[1].pseudonym not in text
    notices = db.session.scalars(select(Notification).where(Notification.user_id == world.teacher.id)).all()
    assert sorted(n.kind for n in notices) == ["action_due_soon", "action_overdue"]
    assert {n.link for n in notices} == {"/mijn-acties"}
    client_for(app, world.teacher).get("/mijn-acties")  # reading the page reads its notices
    db.session.expire_all()
    assert all(n.read_at is not None for n in db.session.scalars(select(Notification).where(
        Notification.user_id == world.teacher.id)))
    assert remind_actions(TODAY.isoformat()) == 0  # a second run on the same day queues nothing
    db.session.commit()
    assert len(db.session.scalars(select(OutboxMail).where(OutboxMail.kind.like("action_%"))).all()) == 2
    # a finished action gets no reminder the next day
    db.session.execute(update(PlanAction).where(PlanAction.id == late.id).values(status="vervallen"))
    db.session.commit()
    tomorrow = TODAY + timedelta(days=1)
    assert remind_actions(tomorrow.isoformat()) == 1
    db.session.commit()


def test_due_soon_counts_working_days(app):
    friday = date(2026, 11, 20)
    assert friday.weekday() == 4
    assert queries.due_soon_until(friday) == date(2026, 11, 25)  # Mon, Tue, Wed
    # Public holidays are not working days: Christmas and Boxing Day 2026 fall on Fri/Sat.
    assert queries.due_soon_until(date(2026, 12, 23)) == date(2026, 12, 29)
    app.config["ACTION_DUE_SOON_WORKING_DAYS"] = 1
    assert queries.due_soon_until(friday) == date(2026, 11, 23)


def test_the_reminder_job_runs_daily(app):
    assert ("netwerk.jobs.remind_actions", timedelta(days=1)) in PERIODIC


def test_the_page_and_the_api_list_the_same_actions(app, world):
    """A professional who sits in the network of a family (linked to their account) owns an
    action as a network member: Mijn acties and GET /api/v1/me/actions both list it, as
    both list the actions of the plans the user coordinates."""
    member = ops.add_network_member(world.plans[1], "professioneel", "Juf Jet", "mentor", world.school.id,
                                    world.colleague.id, actor(world.coordinator))
    db.session.commit()
    by_member, _ = ops.add_action(world.plans[1], goal_id=world.goals[1].id, what=WHAT, done_when=DONE_WHEN,
                                  owner_user=None, owner_member=member, due=TODAY + timedelta(days=14), due_text=None,
                                  agreed_by=None, agreed_on=None, actor=actor(world.coordinator), today=TODAY)
    own = add(world, 0, world.coordinator)
    db.session.commit()
    for user, expected in ((world.colleague, {by_member.id}), (world.coordinator, {by_member.id, own.id})):
        page = {row.action.id for row in queries.my_actions(user, TODAY)}
        token = token_for(app.test_client(), user)
        listed = app.test_client().get("/api/v1/me/actions", headers=bearer(token)).get_json()["actions"]
        assert page >= expected and {uuid.UUID(a["id"]) for a in listed} == page, user.name


def test_an_action_not_accepted_in_time_gets_one_reminder_with_a_link_only(app, world):
    """Made and not accepted ACTION_ACCEPT_DAYS (5) days later: one mail and notice to its
    owner, once — the mark stays on Mijn acties after that. An accepted one gets none."""
    waiting = add(world, 0, world.teacher, 30)
    accepted = add(world, 1, world.teacher, 30)
    ops.accept_action(accepted, world.teacher, actor(world.teacher), utcnow())
    db.session.commit()
    assert remind_actions((TODAY + timedelta(days=4)).isoformat()) == 0  # still within the days
    assert remind_actions((TODAY + timedelta(days=5)).isoformat()) == 1
    db.session.commit()
    mail = db.session.scalar(select(OutboxMail).where(OutboxMail.kind == "action_not_accepted"))
    assert (mail.recipient, mail.dedupe_key) == (world.teacher.email, f"action_not_accepted:{waiting.id.hex}")
    assert WHAT not in mail.body and "http://netwerk.test/mijn-acties" in mail.body
    assert remind_actions((TODAY + timedelta(days=6)).isoformat()) == 0  # once
    db.session.commit()
    notices = db.session.scalars(select(Notification.kind).where(Notification.user_id == world.teacher.id)).all()
    assert notices == ["action_not_accepted"]
