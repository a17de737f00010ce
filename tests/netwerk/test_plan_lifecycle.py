"""The plan's lifecycle as operations (issue 4): editing an action with the SMART checker
re-run (a moved date counts, a new owner accepts anew), letting it lapse with a reason,
accepting on behalf of the owning organisation, goals edited, reached or dropped, and the
zorgcoördinator's evaluation and closing. Every refusal is Dutch and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models.plans import ActionUpdate, CoordinatorTerm, Plan, PlanAction, PlanEvaluation, PlanHistory
from netwerk.operations import plans as plan_ops
from tests.factories import make_user
from tests.netwerk import test_plans as base
from tests.netwerk.test_plans import EVALUATION, TODAY, WHAT, actor, add, audit_actions, count, raw

world = base.world  # the shared fixture: a plan with one goal and an evaluation date


def snapshot(action: PlanAction | None = None) -> tuple:
    """What a refusal must leave untouched."""
    version = db.session.scalar(select(PlanAction.version).where(PlanAction.id == action.id)) if action else None
    return (count(PlanAction), count(PlanHistory), count(ActionUpdate), len(audit_actions()), version)


def edit(action: PlanAction, user, **changes):
    fields = {"goal_id": action.goal_id, "what": action.what, "done_when": action.done_when,
              "owner_user": action.owner_user, "owner_member": action.owner_member, "due": action.due,
              "expected_version": action.version} | changes
    return plan_ops.edit_action(action, actor=actor(user), today=TODAY, **fields)


# ---------------------------------------------------------------------------- edit an action

def test_editing_an_action_rechecks_it_and_counts_a_moved_due_date(world):
    action, _ = add(world)
    db.session.commit()
    before = snapshot(action)
    with pytest.raises(ops.SmartRefused) as refused:
        edit(action, world.coordinator, what="Sanne houdt de schoolgang in de gaten", done_when="")
    assert {"vague_verb", "no_criterion"} & refused.value.verdict.blocking_codes
    db.session.rollback()
    assert snapshot(action) == before
    moved = action.due + timedelta(days=3)
    edit(action, world.coordinator, what=WHAT + " en de school", due=moved)
    db.session.commit()
    assert (action.what, action.due, action.due_changes, action.version) == (WHAT + " en de school", moved, 1, 2)
    edit(action, world.coordinator, due=action.due - timedelta(days=3))
    assert action.due_changes == 2  # moving it back counts too: never reset
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.kind == "action.edited")
                                .order_by(PlanHistory.at).limit(1))
    assert history.changes["what"] == {"old": WHAT, "new": WHAT + " en de school"}
    assert "school" not in raw("plan_history", "changes", history.id)
    assert audit_actions()[-1] == "action.edited"


def test_a_new_owner_accepts_anew_and_the_owner_must_be_involved(world):
    action, _ = add(world)
    assert action.accepted_at is not None
    before = snapshot(action)
    with pytest.raises(ops.OperationError, match="Kies een eigenaar") as refused:
        edit(action, world.coordinator, owner_user=world.outsider)
    assert refused.value.field == "owner" and snapshot(action) == before
    edit(action, world.coordinator, owner_user=world.colleague)
    assert (action.owner_user_id, action.owner_org_id, action.accepted_at) == (
        world.colleague.id, world.colleague.organisation_id, None)


@pytest.mark.parametrize(("due", "code"), [(TODAY - timedelta(days=1), "due_in_past"),
                                           (EVALUATION + timedelta(days=1), "due_after_evaluation")])
def test_a_new_due_date_in_the_past_or_after_the_evaluation_is_refused(world, due, code):
    action, _ = add(world)
    db.session.commit()
    before = snapshot(action)
    with pytest.raises(ops.SmartRefused) as refused:
        edit(action, world.coordinator, due=due)
    assert code in refused.value.verdict.blocking_codes and refused.value.field == "due"
    db.session.rollback()
    assert snapshot(action) == before and action.due_changes == 0


def test_an_overdue_action_still_gets_a_clearer_text(world):
    action, _ = add(world)
    db.session.execute(update(PlanAction).where(PlanAction.id == action.id).values(due=TODAY - timedelta(days=2)))
    db.session.commit()
    db.session.expire_all()
    edit(world_action := db.session.get(PlanAction, action.id), world.coordinator, what=WHAT + " vandaag nog")
    assert world_action.what.endswith("vandaag nog") and world_action.due_changes == 0


def test_edit_refuses_a_stale_version_an_empty_criterion_and_100_kb(world):
    action, _ = add(world)
    db.session.commit()
    before = snapshot(action)
    with pytest.raises(ops.StaleVersion):
        edit(action, world.coordinator, what=WHAT + " morgen", expected_version=action.version - 1)
    with pytest.raises(ops.SmartRefused) as empty:
        edit(action, world.coordinator, done_when="  ")
    assert "no_criterion" in empty.value.verdict.blocking_codes
    with pytest.raises(ops.SmartRefused) as long:
        edit(action, world.coordinator, what="Moeder belt de huisarts. " * 4200)
    assert "too_long" in long.value.verdict.blocking_codes
    db.session.rollback()
    assert snapshot(action) == before


# ---------------------------------------------------------------------------- lapse, accept

def test_an_action_lapses_with_a_reason(world):
    action, _ = add(world)
    db.session.commit()
    before = snapshot(action)
    for reason in ("", "nee"):
        with pytest.raises(ops.OperationError, match=r"[Rr]eden") as refused:
            plan_ops.lapse_action(action, reason=reason, expected_version=action.version,
                                  actor=actor(world.coordinator), today=TODAY)
        assert refused.value.field == "reason"
    assert snapshot(action) == before
    plan_ops.lapse_action(action, reason="Het gezin is verhuisd naar Leiden", expected_version=action.version,
                          actor=actor(world.coordinator), today=TODAY)
    db.session.commit()
    assert (action.status, action.version) == ("vervallen", 2)
    assert db.session.scalar(select(ActionUpdate)).text == "Het gezin is verhuisd naar Leiden"
    assert db.session.scalar(select(PlanHistory.kind).where(PlanHistory.action_id == action.id)
                             .order_by(PlanHistory.at.desc()).limit(1)) == "action.lapsed"
    with pytest.raises(ops.OperationError, match="al afgerond"):
        plan_ops.lapse_action(action, reason="Nog een keer", expected_version=action.version,
                              actor=actor(world.coordinator), today=TODAY)


def test_a_professional_of_the_owning_organisation_accepts_on_its_behalf(world):
    action, _ = add(world, owner=world.colleague)
    school_mate = make_user(org=world.colleague.organisation)
    with pytest.raises(ops.OperationError, match="Alleen de eigenaar"):
        ops.accept_action(action, world.outsider, actor(world.outsider), utcnow())
    assert action.accepted_at is None
    ops.accept_action(action, school_mate, actor(school_mate), utcnow())
    assert action.accepted_at is not None
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.kind == "action.accepted"))
    assert history.user_id == school_mate.id  # who accepted is on record


# ---------------------------------------------------------------------------- goals

def test_goals_are_edited_reached_or_dropped_by_their_author_or_the_coordinator(world):
    goal = world.goal
    with pytest.raises(ops.OperationError, match="Alleen de zorgcoördinator of de organisatie"):
        plan_ops.update_goal(goal, "Iets anders", actor(world.colleague))
    plan_ops.update_goal(goal, "Noor slaapt zes nachten per week door", actor(world.coordinator))
    assert goal.text == "Noor slaapt zes nachten per week door"
    action, _ = add(world)
    with pytest.raises(ops.OperationError, match="datum waarop het doel is bereikt") as future:
        plan_ops.achieve_goal(goal, TODAY + timedelta(days=1), actor(world.coordinator), TODAY)
    assert future.value.field == "achieved_on"
    with pytest.raises(ops.OperationError, match="nog 1 open acties"):
        plan_ops.achieve_goal(goal, TODAY, actor(world.coordinator), TODAY)
    with pytest.raises(ops.OperationError, match="nog 1 open acties"):
        plan_ops.drop_goal(goal, "Past niet meer bij het gezin", actor(world.coordinator), TODAY)
    assert goal.running
    ops.update_action(action, status="gereed", progress="Afspraak gemaakt", failure_reason=None, due=None,
                      expected_version=action.version, actor=actor(world.coordinator), today=TODAY)
    plan_ops.achieve_goal(goal, TODAY, actor(world.coordinator), TODAY)
    assert (goal.achieved_on, goal.running) == (TODAY, False)
    with pytest.raises(ops.OperationError, match="al bereikt of vervallen"):
        plan_ops.drop_goal(goal, "Past niet meer bij het gezin", actor(world.coordinator), TODAY)
    with pytest.raises(ops.OperationError, match="kies een doel dat nog loopt"):
        add(world)
    kinds = set(db.session.scalars(select(PlanHistory.kind)))
    assert {"goal.updated", "goal.achieved"} <= kinds


def test_a_goal_is_dropped_with_a_reason_and_the_database_refuses_both_outcomes(world):
    goal = world.goal
    with pytest.raises(ops.OperationError) as refused:
        plan_ops.drop_goal(goal, "", actor(world.coordinator), TODAY)
    assert refused.value.field == "reason" and goal.running
    plan_ops.drop_goal(goal, "Het gezin kiest voor een ander doel", actor(world.coordinator), TODAY)
    db.session.commit()
    assert goal.dropped_on == TODAY
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.kind == "goal.dropped"))
    assert history.changes["reason"] == "Het gezin kiest voor een ander doel"
    goal.achieved_on = TODAY
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# ---------------------------------------------------------------------------- evaluate, close

def test_only_the_coordinator_evaluates_an_adopted_plan(world):
    plan = world.plan
    args = {"held_on": TODAY, "summary": "Slapen gaat beter; school nog lastig",
            "next_evaluation": TODAY + timedelta(days=42)}
    with pytest.raises(ops.OperationError, match="Stel het plan eerst vast"):
        plan_ops.evaluate_plan(plan, actor=actor(world.coordinator), today=TODAY, **args)
    ops.adopt_plan(plan, "zorgcoordinator", actor(world.coordinator), TODAY)
    db.session.commit()
    version = plan.version
    with pytest.raises(ops.OperationError, match="Alleen de zorgcoördinator kan het plan evalueren"):
        plan_ops.evaluate_plan(plan, actor=actor(world.colleague), today=TODAY, **args)
    for bad, field in (({"held_on": TODAY + timedelta(days=1)}, "held_on"), ({"summary": " "}, "summary"),
                       ({"summary": "x" * 5001}, "summary"), ({"next_evaluation": TODAY}, "next_evaluation"),
                       ({"next_evaluation": None}, "next_evaluation")):
        with pytest.raises(ops.OperationError) as refused:
            plan_ops.evaluate_plan(plan, actor=actor(world.coordinator), today=TODAY, **(args | bad))
        assert refused.value.field == field
    assert (plan.version, plan.status, count(PlanEvaluation)) == (version, "vastgesteld", 0)
    evaluation = plan_ops.evaluate_plan(plan, actor=actor(world.coordinator), today=TODAY, **args)
    db.session.commit()
    assert (plan.status, plan.next_evaluation, plan.version) == ("geevalueerd", TODAY + timedelta(days=42),
                                                                 version + 1)
    assert evaluation.summary == args["summary"] and "school" not in raw("plan_evaluation", "summary",
                                                                           evaluation.id)
    assert audit_actions()[-1] == "plan.evaluated"
    ops.adopt_plan(plan, "zorgcoordinator", actor(world.coordinator), TODAY)  # re-adopted after evaluation
    assert plan.status == "vastgesteld"


def test_closing_is_refused_while_actions_are_open_unless_they_lapse(world):
    plan = world.plan
    first, _ = add(world)
    second, _ = add(world, owner=world.colleague, what="Piet belt de leerplichtambtenaar over Noor")
    db.session.commit()
    before = (snapshot(first), plan.version, plan.status)
    with pytest.raises(ops.OperationError, match="Alleen de zorgcoördinator kan het plan afsluiten"):
        plan_ops.close_plan(plan, reason="Doelen bereikt", lapse_open=True, actor=actor(world.colleague),
                            today=TODAY)
    with pytest.raises(ops.OperationError, match="Er staan nog 2 acties open") as refused:
        plan_ops.close_plan(plan, reason="Doelen bereikt", lapse_open=False, actor=actor(world.coordinator),
                            today=TODAY)
    assert refused.value.field == "lapse_open"
    with pytest.raises(ops.OperationError, match="reden"):
        plan_ops.close_plan(plan, reason="", lapse_open=True, actor=actor(world.coordinator), today=TODAY)
    db.session.rollback()
    assert (snapshot(first), plan.version, plan.status) == before
    plan_ops.close_plan(plan, reason="Gezin redt het zelf weer", lapse_open=True, actor=actor(world.coordinator),
                        today=TODAY)
    db.session.commit()
    assert (plan.status, plan.closed_on, plan.close_reason) == ("afgesloten", TODAY, "Gezin redt het zelf weer")
    assert "zelf" not in raw("plan", "close_reason", plan.id)
    assert {first.status, second.status} == {"vervallen"}
    assert {u.text for u in db.session.scalars(select(ActionUpdate))} == {plan_ops.LAPSED_ON_CLOSE}
    assert db.session.scalar(select(CoordinatorTerm.end_on).where(CoordinatorTerm.plan_id == plan.id)) == TODAY
    with pytest.raises(ops.OperationError, match="afgesloten"):
        ops.update_action(first, status="bezig", progress=None, failure_reason=None, due=None,
                          expected_version=first.version, actor=actor(world.coordinator), today=TODAY)
    again = ops.start_plan(world.family, world.coordinator, actor(world.coordinator), TODAY)
    db.session.commit()
    assert again.status == "concept" and count(Plan) == 2


def test_a_plan_without_open_actions_closes_without_lapsing(world):
    plan_ops.close_plan(world.plan, reason="Verhuisd buiten de regio", lapse_open=False,
                        actor=actor(world.coordinator), today=TODAY)
    history = db.session.scalar(select(PlanHistory).where(PlanHistory.kind == "plan.closed"))
    assert history.changes["lapsed"] == [] and history.changes["reason"] == "Verhuisd buiten de regio"
    assert "Verhuisd" not in raw("plan_history", "changes", history.id)
