"""1gezin1plan operations: one open plan per family, one zorgcoördinator at a time from an
involved organisation, optimistic concurrency on plans and actions, SMART refusals that
write nothing, history and audit for every change, and content encrypted at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import (
    ActionUpdate,
    CoordinatorTerm,
    NetworkMember,
    Plan,
    PlanAction,
    PlanGoal,
    PlanHistory,
)
from privacy.audit import Actor
from privacy.models import AuditEntry
from tests.factories import SYSTEM, make_covenant, make_org, make_user

TODAY = date.today()
EVALUATION = TODAY + timedelta(days=60)
WHAT = "Moeder belt de huisarts voor een afspraak over het slapen van Noor"
DONE_WHEN = "klaar als er een datum voor de afspraak in de agenda staat"
GOAL = "Noor slaapt weer door en gaat uitgerust naar school"


@dataclass
class World:
    family: Family
    cjg: Organisation
    coordinator: User
    colleague: User
    outsider: User
    plan: Plan
    goal: PlanGoal


def actor(user: User) -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role="deelnemer")


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def person(first: str, born: date):
    return ops.register_person(ops.PersonData(first, "Jansen", born), SYSTEM, TODAY, confirmed_new=True)


def involve(who, org: Organisation) -> None:
    ops.register_involvement(who, ops.InvolvementData(
        organisation_id=org.id, contact_name=f"Contact {org.name}", contact_email=f"c@{org.id.hex[:8]}.example.test",
        start_date=TODAY - timedelta(days=3)), SYSTEM, TODAY)


def family_with(*orgs: Organisation) -> Family:
    mother, noor = person("Sara", date(1985, 1, 1)), person("Noor", date(2012, 3, 4))
    family = ops.compose_family([(mother, "ouder"), (noor, "kind")], SYSTEM)
    for org in orgs:
        involve(noor, org)
    db.session.commit()
    return family


@pytest.fixture
def world(app) -> World:
    cjg, school = make_org(org_type="cjg"), make_org(org_type="leerplicht", domain="onderwijs")
    coordinator, colleague = make_user(org=cjg, name="Sanne de Vries"), make_user(org=school, name="Piet Bakker")
    outsider = make_user(org=make_org(org_type="jongerenwerk"), name="Ali Yilmaz")
    family = family_with(cjg, school)
    plan = ops.start_plan(family, coordinator, actor(coordinator), TODAY)
    goal = ops.add_goal(plan, "gezondheid", GOAL, coordinator, actor(coordinator))
    ops.update_plan(plan, family_view=None, strengths=None, next_evaluation=EVALUATION,
                    family_agreement_required=True, expected_version=plan.version, actor=actor(coordinator),
                    today=TODAY)
    db.session.commit()
    return World(family, cjg, coordinator, colleague, outsider, plan, goal)


def add(w: World, owner: User | None = None, member: NetworkMember | None = None, who: User | None = None, **extra):
    fields = {"goal_id": w.goal.id, "what": WHAT, "done_when": DONE_WHEN, "due": TODAY + timedelta(days=14),
              "due_text": None, "agreed_by": "ouder", "agreed_on": TODAY}
    fields.update(extra)
    owner = owner if owner is not None or member is not None else w.coordinator
    return ops.add_action(w.plan, owner_user=owner, owner_member=member, actor=actor(who or w.coordinator),
                          today=TODAY, **fields)


def raw(table: str, column: str, row_id) -> str:
    key = row_id.hex if db.session.get_bind().dialect.name == "sqlite" else row_id
    return db.session.execute(text(f"SELECT {column} FROM {table} WHERE id = :id"), {"id": key}).scalar_one()


# ---------------------------------------------------------------------------- the plan

def test_start_plan_makes_a_concept_with_its_first_coordinator(world):
    plan, term = world.plan, db.session.scalar(select(CoordinatorTerm))
    assert (plan.status, plan.organisation_id, plan.created_by_user_id) == ("concept", world.cjg.id,
                                                                            world.coordinator.id)
    assert (term.user_id, term.organisation_id, term.start_on, term.end_on) == (
        world.coordinator.id, world.cjg.id, TODAY, None)
    assert plan.version == 2 and plan.next_evaluation == EVALUATION
    kinds = list(db.session.scalars(select(PlanHistory.kind).order_by(PlanHistory.at)))
    assert kinds[0] == "plan.started" and set(kinds) == {"plan.started", "goal.added", "plan.updated"}
    assert {"plan.started", "plan.goal_added", "plan.updated"} <= set(audit_actions())


def test_a_family_has_one_open_plan(world):
    with pytest.raises(ops.OperationError, match=r"Dit gezin heeft al een plan\."):
        ops.start_plan(world.family, world.colleague, actor(world.colleague), TODAY)
    assert count(Plan) == 1
    world.plan.status = "afgesloten"
    db.session.commit()
    again = ops.start_plan(world.family, world.colleague, actor(world.colleague), TODAY)
    assert again.status == "concept" and count(Plan) == 2


def test_the_database_refuses_a_second_open_plan_or_term(world):
    db.session.add(Plan(family_id=world.family.id, status="concept", organisation_id=world.cjg.id))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    db.session.add(CoordinatorTerm(plan_id=world.plan.id, user_id=world.colleague.id,
                                   organisation_id=world.colleague.organisation_id, start_on=TODAY))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_the_coordinator_comes_from_an_involved_organisation(app):
    cjg = make_org()
    family = family_with(cjg)
    outsider = make_user(org=make_org(org_type="jongerenwerk"))
    before = audit_actions()
    with pytest.raises(ops.OperationError, match="professional van een betrokken organisatie") as refused:
        ops.start_plan(family, outsider, actor(outsider), TODAY)
    assert refused.value.field == "coordinator"
    assert count(Plan) == 0 and audit_actions() == before


def test_hand_over_closes_the_old_term_and_records_the_reason(world):
    with pytest.raises(ops.OperationError, match="reden"):
        ops.change_coordinator(world.plan, world.colleague, "nee", actor(world.coordinator), TODAY)
    with pytest.raises(ops.OperationError, match="al de zorgcoördinator"):
        ops.change_coordinator(world.plan, world.coordinator, "Nog steeds ik", actor(world.coordinator), TODAY)
    with pytest.raises(ops.OperationError, match="betrokken organisatie"):
        ops.change_coordinator(world.plan, world.outsider, "Ander team", actor(world.coordinator), TODAY)
    ops.change_coordinator(world.plan, world.colleague, "Schoolzaken staan nu voorop", actor(world.coordinator),
                           TODAY)
    db.session.commit()
    terms = db.session.scalars(select(CoordinatorTerm).order_by(CoordinatorTerm.end_on.is_(None))).all()
    assert [(t.user_id, t.end_on) for t in terms] == [(world.coordinator.id, TODAY), (world.colleague.id, None)]
    assert terms[1].reason == "Schoolzaken staan nu voorop"
    assert "Schoolzaken" not in raw("plan_coordinator", "reason", terms[1].id)
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.kind == "plan.coordinator_changed"))
    assert history.changes["coordinator"] == {"old": str(world.coordinator.id), "new": str(world.colleague.id)}
    assert history.changes["reason"] == "Schoolzaken staan nu voorop"
    assert audit_actions()[-1] == "plan.coordinator_changed"


def test_a_stale_plan_update_is_refused_with_the_current_version(world):
    ops.update_plan(world.plan, family_view="Wij willen rust in huis", strengths="Oma helpt elke woensdag",
                    next_evaluation=EVALUATION, family_agreement_required=True, expected_version=2,
                    actor=actor(world.coordinator), today=TODAY)
    db.session.commit()
    rows = count(PlanHistory)
    with pytest.raises(ops.StaleVersion) as stale:
        ops.update_plan(world.plan, family_view="Iets anders", strengths=None, next_evaluation=EVALUATION,
                        family_agreement_required=True, expected_version=2, actor=actor(world.colleague),
                        today=TODAY)
    assert stale.value.code == "verouderd" and stale.value.current.version == 3
    assert "intussen gewijzigd" in stale.value.message
    db.session.rollback()
    assert world.plan.family_view == "Wij willen rust in huis" and count(PlanHistory) == rows
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.kind == "plan.updated")
                                .order_by(PlanHistory.at.desc()).limit(1))
    assert history.changes["family_view"] == {"old": None, "new": "Wij willen rust in huis"}
    assert "rust in huis" not in raw("plan", "family_view", world.plan.id)
    assert raw("plan", "family_view", world.plan.id).startswith("nw1:")


def test_plan_update_refuses_past_evaluation_and_control_characters(world):
    for kwargs, field in (({"next_evaluation": TODAY - timedelta(days=1)}, "next_evaluation"),
                          ({"family_view": "rust\x00in huis"}, "family_view"),
                          ({"strengths": "x" * 5001}, "strengths")):
        fields = {"family_view": None, "strengths": None, "next_evaluation": EVALUATION} | kwargs
        with pytest.raises(ops.OperationError) as refused:
            ops.update_plan(world.plan, family_agreement_required=True, expected_version=world.plan.version,
                            actor=actor(world.coordinator), today=TODAY, **fields)
        assert refused.value.field == field
    assert world.plan.version == 2


def test_adopt_needs_a_goal_an_evaluation_and_the_coordinator_himself(world):
    with pytest.raises(ops.OperationError, match="Alleen de zorgcoördinator"):
        ops.adopt_plan(world.plan, "zorgcoordinator", actor(world.colleague), TODAY)
    ops.adopt_plan(world.plan, "zorgcoordinator", actor(world.coordinator), TODAY)
    assert (world.plan.status, world.plan.adopted_on, world.plan.adopted_how) == ("vastgesteld", TODAY,
                                                                                  "zorgcoordinator")
    assert audit_actions()[-1] == "plan.adopted"


def test_adopt_without_goal_is_refused(app):
    cjg = make_org()
    user = make_user(org=cjg)
    plan = ops.start_plan(family_with(cjg), user, actor(user), TODAY)
    plan.next_evaluation = EVALUATION
    with pytest.raises(ops.OperationError, match="minstens één doel"):
        ops.adopt_plan(plan, "overleg", actor(user), TODAY)
    assert plan.status == "concept"


def test_concerns_use_the_covenant_in_force(world):
    make_covenant(world.cjg)
    with pytest.raises(ops.OperationError) as refused:
        ops.add_concern(world.plan, "school", "onbekend", "Verzuim", world.coordinator, actor(world.coordinator),
                        TODAY)
    assert refused.value.field == "category"
    concern = ops.add_concern(world.plan, "school", "school", "Noor verzuimt op maandag", world.coordinator,
                              actor(world.coordinator), TODAY)
    db.session.commit()
    assert concern.text == "Noor verzuimt op maandag"
    assert "verzuimt" not in raw("plan_concern", "text", concern.id)


# ---------------------------------------------------------------------------- actions

def test_an_action_by_its_own_owner_is_accepted_and_audited_without_content(world):
    action, verdict = add(world)
    db.session.commit()
    assert verdict.ok and action.due == TODAY + timedelta(days=14)
    assert (action.owner_org_id, action.status, action.version, action.due_changes) == (world.cjg.id, "open", 1, 0)
    assert action.accepted_at is not None
    assert raw("plan_action", "what", action.id).startswith("nw1:")
    assert "huisarts" not in raw("plan_action", "what", action.id)
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.action_id == action.id))
    assert (history.kind, history.changes["what"]) == ("action.added", WHAT)
    assert "huisarts" not in raw("plan_history", "changes", history.id)
    for entry in db.session.scalars(select(AuditEntry)):
        dumped = json.dumps(entry.meta) + entry.summary
        assert "huisarts" not in dumped and "Noor" not in dumped and "rust" not in dumped
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "action.added"))
    assert entry.data_categories == ["plan"] and any(s.startswith("family:") for s in entry.subject_ids)


def test_a_relative_due_text_is_stored_as_a_real_date(world):
    action, verdict = add(world, due=None, due_text="binnen 2 weken")
    assert action.due == verdict.resolved_due == TODAY + timedelta(days=14)


def test_the_owner_of_another_colleague_accepts_later_with_one_click(world):
    action, verdict = add(world, owner=world.colleague)
    assert action.accepted_at is None and "not_accepted" in {f.code for f in verdict.advice}
    with pytest.raises(ops.OperationError, match="Alleen de eigenaar"):
        ops.accept_action(action, world.coordinator, actor(world.coordinator), TODAY)
    from netwerk.db import utcnow

    ops.accept_action(action, world.colleague, actor(world.colleague), utcnow())
    assert action.accepted_at is not None and audit_actions()[-1] == "action.accepted"


def test_a_network_member_can_own_an_action(world):
    oma = ops.add_network_member(world.plan, "informeel", "Oma Truus", "haalt Noor op", None, None,
                                 actor(world.coordinator))
    action, _ = add(world, member=oma, what="Oma Truus haalt Noor op woensdag op van school",
                    done_when="klaar als Noor drie woensdagen na school bij oma is geweest")
    assert (action.owner_member_id, action.owner_user_id, action.owner_org_id) == (oma.id, None, None)
    assert "Truus" not in raw("plan_network", "name", oma.id)


@pytest.mark.parametrize("owner", ["outsider", "both", "none"])
def test_an_owner_outside_the_involved_organisations_is_refused(world, owner):
    oma = ops.add_network_member(world.plan, "informeel", "Oma Truus", None, None, None, actor(world.coordinator))
    db.session.commit()
    before, entries = count(PlanAction), len(audit_actions())
    args = {"outsider": {"owner": world.outsider}, "both": {"owner": world.coordinator, "member": oma},
            "none": {"owner": None, "member": None}}[owner]
    if owner == "none":
        with pytest.raises(ops.OperationError, match="Kies een eigenaar"):
            ops.add_action(world.plan, goal_id=world.goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=None,
                           owner_member=None, due=TODAY, due_text=None, agreed_by=None, agreed_on=None,
                           actor=actor(world.coordinator), today=TODAY)
    else:
        with pytest.raises(ops.OperationError, match="Kies een eigenaar") as refused:
            add(world, **args)
        assert refused.value.field == "owner"
    assert count(PlanAction) == before and len(audit_actions()) == entries


@pytest.mark.parametrize(("extra", "code"), [
    ({"what": "Sanne houdt de schoolgang in de gaten", "done_when": ""}, "vague_verb"),
    ({"goal_id": None}, "no_goal"),
    ({"due": TODAY - timedelta(days=1)}, "due_in_past"),
    ({"due": EVALUATION + timedelta(days=1)}, "due_after_evaluation"),
    ({"what": "Moeder belt de huisarts. " * 4200}, "too_long"),
    ({"done_when": ""}, "no_criterion"),
    ({"due": None, "due_text": "z.s.m."}, "vague_date"),
])
def test_a_smart_refusal_writes_nothing(world, extra, code):
    before = (count(PlanAction), count(PlanHistory), len(audit_actions()))
    with pytest.raises(ops.SmartRefused) as refused:
        add(world, **extra)
    assert code in refused.value.verdict.blocking_codes
    assert refused.value.message == refused.value.verdict.blocking[0].message
    assert refused.value.field == refused.value.verdict.blocking[0].field
    assert (count(PlanAction), count(PlanHistory), len(audit_actions())) == before


def test_family_agreement_is_required_once_the_plan_is_adopted(world):
    add(world, agreed_by=None, agreed_on=None)  # a concept plan collects agreement later
    ops.adopt_plan(world.plan, "overleg", actor(world.coordinator), TODAY)
    with pytest.raises(ops.SmartRefused) as refused:
        add(world, agreed_by=None, agreed_on=None)
    assert "no_family_agreement" in refused.value.verdict.blocking_codes


def test_a_goal_of_another_plan_is_refused(world, app):
    cjg = make_org()
    user = make_user(org=cjg)
    other = ops.start_plan(family_with(cjg), user, actor(user), TODAY)
    foreign = ops.add_goal(other, "school", "Naar school", user, actor(user))
    with pytest.raises(ops.OperationError, match="doel van dit plan"):
        add(world, goal_id=foreign.id)


def update(action: PlanAction, user: User, **fields):
    values = {"status": action.status, "progress": None, "failure_reason": None, "due": None,
              "expected_version": action.version} | fields
    return ops.update_action(action, actor=actor(user), today=TODAY, **values)


def test_gereed_needs_a_progress_note(world):
    action, _ = add(world)
    with pytest.raises(ops.OperationError, match=r"Schrijf bij gereed kort wat er is bereikt\.") as refused:
        update(action, world.coordinator, status="gereed")
    assert refused.value.field == "progress" and action.version == 1
    update(action, world.coordinator, status="gereed", progress="Afspraak staat op 3 maart")
    db.session.commit()
    note = db.session.scalar(select(ActionUpdate))
    assert (note.text, note.written_on, note.author_user_id) == ("Afspraak staat op 3 maart", TODAY,
                                                                 world.coordinator.id)
    assert "maart" not in raw("plan_action_update", "text", note.id)
    assert (action.status, action.version) == ("gereed", 2)
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.kind == "action.updated"))
    assert history.changes["status"] == {"old": "open", "new": "gereed"}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "action.updated"))
    assert "maart" not in json.dumps(entry.meta)


def test_niet_gelukt_needs_a_reason(world):
    action, _ = add(world)
    with pytest.raises(ops.OperationError) as refused:
        update(action, world.coordinator, status="niet_gelukt", failure_reason="geen zin")
    assert refused.value.field == "failure_reason"
    update(action, world.coordinator, status="niet_gelukt", failure_reason="niet_ondernomen")
    db.session.commit()
    assert (action.status, action.failure_reason) == ("niet_gelukt", "niet_ondernomen")
    update(action, world.coordinator, status="bezig")
    assert action.failure_reason is None


def test_moving_the_due_date_is_checked_and_counted(world):
    action, _ = add(world)
    first = action.due
    for bad in (TODAY - timedelta(days=1), EVALUATION + timedelta(days=1)):
        with pytest.raises(ops.OperationError) as refused:
            update(action, world.coordinator, due=bad)
        assert refused.value.field == "due"
    assert action.due_changes == 0
    update(action, world.coordinator, due=first + timedelta(days=7))
    update(action, world.coordinator, due=first)  # moving it back counts too: never reset
    db.session.commit()
    assert (action.due, action.due_changes, action.version) == (first, 2, 3)


def test_a_stale_action_update_gets_the_current_action_and_writes_nothing(world):
    action, _ = add(world)
    db.session.commit()
    update(action, world.coordinator, status="bezig", progress="Gebeld, voicemail")
    db.session.commit()
    before = (count(ActionUpdate), count(PlanHistory), len(audit_actions()))
    with pytest.raises(ops.StaleVersion) as stale:
        update(action, world.colleague, status="vervallen", expected_version=1)
    assert stale.value.current is action and stale.value.current.version == 2
    assert stale.value.current.status == "bezig"
    assert (count(ActionUpdate), count(PlanHistory), len(audit_actions())) == before


def test_a_concurrent_writer_loses_the_version_claim(world):
    """The in-memory check passes, but the row moved on underneath: the conditional UPDATE
    claims nothing and the caller gets the current row."""
    action, _ = add(world)
    db.session.commit()
    assert action.version == 1  # loaded now; the raw UPDATE below does not expire it
    db.session.execute(text("UPDATE plan_action SET version = 5"))
    with pytest.raises(ops.StaleVersion) as stale:
        update(action, world.coordinator, status="bezig", expected_version=1)
    assert stale.value.current.version == 5
