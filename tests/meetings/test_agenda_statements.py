"""The agenda page's query budget (issue 5, performance): the number of SQL statements of
GET /vergaderingen/<id> does not grow with the number of agenda items or actions
(bench/agenda_page.py times it with 40 items and 300 actions)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event

from meetings import operations as ops
from meetings.models import Meeting
from netwerk import operations as core
from netwerk.auth import actor_for
from netwerk.db import db
from tests.meetings.conftest import Region, make_overleg
from tests.meetings.test_agenda import household
from tests.meetings.test_besluitenlijst import TODAY
from tests.netwerk.test_person_views import client_for
from tests.netwerk.test_plans import DONE_WHEN, GOAL, WHAT


def _add_cases(r: Region, meeting: Meeting, families: int, actions: int) -> None:
    """``families`` households on the agenda (alternating sections), each with a plan, a
    coordinator and ``actions`` open actions."""
    sections = meeting.overleg.sections
    for n in range(families):
        family = household(r, r.cjg, r.school, r.police)
        plan = core.start_plan(family, r.youth_worker, actor_for(r.youth_worker), TODAY)
        goal = core.add_goal(plan, "gezondheid", GOAL, r.youth_worker, actor_for(r.youth_worker))
        for a in range(actions):
            core.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=r.youth_worker,
                            owner_member=None, due=TODAY + timedelta(days=7 + a), due_text=None, agreed_by="ouder",
                            agreed_on=TODAY, actor=actor_for(r.youth_worker), today=TODAY)
        ops.add_to_agenda(meeting, sections[n % 2], family, r.chair, actor_for(r.chair))
    db.session.commit()


def test_the_agenda_page_costs_the_same_statements_however_many_items_and_actions(app, region):
    overleg = make_overleg(region)
    meeting = Meeting(overleg_id=overleg.id, date=TODAY + timedelta(days=7), start_time=overleg.start_time,
                      duration_minutes=180, place="Zaal")
    db.session.add(meeting)
    db.session.commit()
    url = f"/vergaderingen/{meeting.id}"
    clients = {who: client_for(app, getattr(region, who)) for who in ("chair", "teacher")}

    def statements(who: str) -> int:
        count = 0
        db.session.expire_all()  # the test shares the session: start each request from the same state

        def tick(*args: object, **kwargs: object) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", tick)
        try:
            response = clients[who].get(url)
            assert response.status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", tick)
        return count

    _add_cases(region, meeting, 2, 1)
    for who in clients:
        statements(who)  # warm: the compiled covenant is cached per process
    few = {who: statements(who) for who in clients}
    _add_cases(region, meeting, 4, 3)  # items x3, actions x6
    assert {who: statements(who) for who in clients} == few
    assert "Acties: 3 open" in clients["chair"].get(url).get_data(as_text=True)
