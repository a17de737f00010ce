"""The board costs the same number of SQL statements however many escalations it shows
(issue 6): the policy's facts (chairs, coordinators, ladder, covenant parties, the people
reached) are read once per screen, not once per row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from escalation import operations as esc_ops
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.operations import plans as core
from tests.escalation.conftest import TODAY, World, at
from tests.escalation.test_views import client_for
from tests.netwerk.test_plans import DONE_WHEN, GOAL, WHAT, family_with


def _stalled(w: World, n: int) -> None:
    """``n`` more households, each with a police action raised to the team leader (level 1)."""
    for _ in range(n):
        family = family_with(w.cjg, w.police)
        plan = core.start_plan(family, w.coordinator, actor_for(w.coordinator), TODAY - timedelta(days=30))
        goal = core.add_goal(plan, "school", GOAL, w.coordinator, actor_for(w.coordinator))
        action, _ = core.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=w.officer,
                                    owner_member=None, due=TODAY + timedelta(days=10), due_text=None,
                                    agreed_by=None, agreed_on=None, actor=actor_for(w.coordinator), today=TODAY)
        esc = esc_ops.propose(overleg=w.overleg, household_id=family.id, source="regel", rule_code="action_overdue",
                              blocked_action_ids=[action.id], now=at(TODAY))
        esc_ops.raise_escalation(esc, by=w.chair, reason_category="capaciteit", ask="Kan de politie dit oppakken?",
                                 level=1, now=at(TODAY))
    db.session.commit()


def test_the_board_costs_the_same_statements_for_two_or_six_escalations(app, world: World) -> None:
    w = world
    # The chair (whole record) and an addressee up the ladder (minimal package). A
    # zorgcoördinator still pays per household they coordinate: the gate's purpose contexts
    # (plan, match, claims) are read per person; they see their own few households.
    clients = {"chair": client_for(app, w.chair), "team_leader": client_for(app, w.team_leader)}

    def statements(who: str) -> int:
        count = 0
        db.session.expire_all()

        def tick(*args: object, **kwargs: object) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", tick)
        try:
            response = clients[who].get("/opschaling")
            assert response.status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", tick)
        return count

    _stalled(w, 2)
    for who in clients:
        statements(who)  # warm: the compiled covenant is cached per process
    few = {who: statements(who) for who in clients}
    _stalled(w, 4)
    many = {who: statements(who) for who in clients}
    page = clients["team_leader"].get("/opschaling").get_data(as_text=True)
    assert page.count("Kan de politie dit oppakken?") == 6  # every row is there, for the addressee too
    assert many == few, (few, many)
