"""The live meeting's operations (issue 5, part 3): going live, moving between items with
time booked per item, two chairs at once, structured decisions, blanking, the projector
link and closing (twice)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from meetings import operations as ops
from meetings.models import AgendaItem, Decision, Meeting, MeetingEvent
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.operations.common import OperationError
from privacy.models import AuditEntry
from tests.meetings.conftest import Region, make_overleg
from tests.meetings.test_agenda import household

NOW = datetime(2026, 11, 24, 13, 30, tzinfo=UTC)
TODAY = NOW.date()


def live_meeting(r: Region, items: int = 3) -> tuple[Meeting, list[AgendaItem]]:
    overleg = make_overleg(r)
    meeting = Meeting(overleg_id=overleg.id, date=TODAY, start_time=overleg.start_time, duration_minutes=180,
                      place="Zaal")
    db.session.add(meeting)
    db.session.flush()
    added = [ops.add_to_agenda(meeting, overleg.sections[i % 2], household(r), r.chair, actor_for(r.chair))
             for i in range(items)]
    db.session.commit()
    return meeting, added


def events(meeting: Meeting) -> list[str]:
    return list(db.session.scalars(select(MeetingEvent.kind).where(MeetingEvent.meeting_id == meeting.id)
                                   .order_by(MeetingEvent.id)))


def test_going_live_puts_the_first_item_of_the_first_section_on_the_wall(app, region):
    meeting, _items = live_meeting(region)
    ops.go_live(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)
    running = ops.ordered_items(meeting)
    assert [i.section.position for i in running] == [0, 0, 1]  # section by section
    assert (meeting.status, meeting.current_item_id, meeting.item_started_at) == ("live", running[0].id, NOW)
    assert events(meeting)[-1] == "live"
    with pytest.raises(OperationError, match="al live"):
        ops.go_live(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)


def test_only_the_chair_runs_the_meeting(app, region):
    meeting, _ = live_meeting(region)
    for user in (region.secretary, region.youth_worker):
        with pytest.raises(OperationError, match="Alleen de voorzitter"):
            ops.go_live(meeting, user, actor_for(user), NOW, meeting.version)


def test_stepping_books_the_time_to_the_item_and_stops_at_the_ends(app, region):
    meeting, _ = live_meeting(region)
    chair = actor_for(region.chair)
    ops.go_live(meeting, region.chair, chair, NOW, meeting.version)
    running = ops.ordered_items(meeting)
    ops.step(meeting, +1, region.chair, chair, NOW + timedelta(minutes=14), meeting.version)
    ops.step(meeting, +1, region.chair, chair, NOW + timedelta(minutes=20), meeting.version)
    ops.step(meeting, +1, region.chair, chair, NOW + timedelta(minutes=31), meeting.version)  # at the end: stays
    assert meeting.current_item_id == running[2].id
    db.session.commit()
    assert [db.session.get(AgendaItem, i.id).used_seconds for i in running] == [14 * 60, 6 * 60, 11 * 60]
    ops.step(meeting, -1, region.chair, chair, NOW + timedelta(minutes=32), meeting.version)
    assert meeting.current_item_id == running[1].id


def test_two_chairs_pressing_next_at_once_move_the_agenda_once(app, region):
    meeting, _ = live_meeting(region)
    chair = actor_for(region.chair)
    ops.go_live(meeting, region.chair, chair, NOW, meeting.version)
    seen = meeting.version  # both consoles show this state
    ops.step(meeting, +1, region.chair, chair, NOW + timedelta(minutes=1), seen)
    db.session.commit()
    with pytest.raises(ops.StaleMeeting, match="intussen verder gezet"):
        ops.step(meeting, +1, region.chair, chair, NOW + timedelta(minutes=1), seen)
    db.session.rollback()
    assert meeting.current_item_id == ops.ordered_items(meeting)[1].id


def test_an_item_of_another_meeting_cannot_be_put_on_the_wall(app, region):
    meeting, _ = live_meeting(region)
    _other, [foreign] = live_meeting_other(region, meeting)
    ops.go_live(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)
    with pytest.raises(OperationError, match="niet op de agenda"):
        ops.move_to(meeting, foreign.id, region.chair, actor_for(region.chair), NOW, meeting.version)


def live_meeting_other(r: Region, meeting: Meeting) -> tuple[Meeting, list[AgendaItem]]:
    other = Meeting(overleg_id=meeting.overleg_id, date=TODAY + timedelta(days=14), start_time=meeting.start_time,
                    duration_minutes=180, place="Zaal")
    db.session.add(other)
    db.session.flush()
    item = ops.add_to_agenda(other, meeting.overleg.sections[0], household(r), r.chair, actor_for(r.chair))
    db.session.commit()
    return other, [item]


@pytest.mark.parametrize(("spec", "message"), [
    (ops.DecisionSpec("borrelen"), "besluit uit de lijst"),
    (ops.DecisionSpec("terug_op_agenda"), "datum waarop"),
    (ops.DecisionSpec("terug_op_agenda", on_date=TODAY), "datum waarop"),
    (ops.DecisionSpec("zorgcoordinator"), "betrokken organisatie"),
])
def test_bad_decisions_are_refused_and_write_nothing(app, region, spec, message):
    meeting, items = live_meeting(region)
    ops.go_live(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)
    with pytest.raises(OperationError, match=message):
        ops.record_decision(items[0], spec, region.chair, actor_for(region.chair), TODAY)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Decision)) == 0


def test_decisions_are_structured_audited_and_published(app, region):
    meeting, items = live_meeting(region)
    chair = actor_for(region.chair)
    ops.go_live(meeting, region.chair, chair, NOW, meeting.version)
    back = ops.record_decision(items[0], ops.DecisionSpec("terug_op_agenda", on_date=date(2026, 12, 8)),
                               region.chair, chair, TODAY)
    coordinator = ops.record_decision(items[0], ops.DecisionSpec("zorgcoordinator", user_id=region.youth_worker.id),
                                      region.chair, chair, TODAY)
    with pytest.raises(OperationError, match="betrokken organisatie"):  # the school is not involved
        ops.record_decision(items[0], ops.DecisionSpec("zorgcoordinator", user_id=region.teacher.id),
                            region.chair, chair, TODAY)
    assert (back.on_date, back.user_id, coordinator.user_id) == (date(2026, 12, 8), None, region.youth_worker.id)
    assert events(meeting).count("decision") == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "meetings.decision")) == 2


def test_a_decision_needs_a_live_meeting(app, region):
    _meeting, items = live_meeting(region)
    with pytest.raises(OperationError, match="niet live"):
        ops.record_decision(items[0], ops.DecisionSpec("geen_actie"), region.chair, actor_for(region.chair), TODAY)


def test_closing_carries_over_what_was_not_discussed_and_cannot_happen_twice(app, region):
    meeting, _ = live_meeting(region)
    chair = actor_for(region.chair)
    ops.go_live(meeting, region.chair, chair, NOW, meeting.version)
    running = ops.ordered_items(meeting)
    ops.mark_discussed(running[0], region.chair, chair)
    token = ops.issue_projector_link(meeting, region.chair, chair, NOW)
    assert ops.close(meeting, region.chair, chair, NOW + timedelta(hours=1), meeting.version) == 2
    db.session.commit()
    assert [i.status for i in ops.ordered_items(meeting)] == ["besproken", "doorgeschoven", "doorgeschoven"]
    assert (meeting.status, meeting.current_item_id) == ("gesloten", None)
    assert ops.projector_meeting(token, NOW + timedelta(hours=1)) is None  # the beamer's link ends with it
    with pytest.raises(OperationError, match="al gesloten"):
        ops.close(meeting, region.chair, chair, NOW + timedelta(hours=1), meeting.version)


def test_the_projector_link_expires_is_revoked_and_replaced(app, region):
    meeting, _ = live_meeting(region)
    chair = actor_for(region.chair)
    first = ops.issue_projector_link(meeting, region.chair, chair, NOW)
    assert ops.projector_meeting(first, NOW) == meeting
    assert ops.projector_meeting(first, NOW + timedelta(hours=13)) is None  # short-lived
    second = ops.issue_projector_link(meeting, region.chair, chair, NOW)
    assert ops.projector_meeting(first, NOW) is None and ops.projector_meeting(second, NOW) == meeting
    ops.revoke_projector_links(meeting, region.chair, chair, NOW)
    assert ops.projector_meeting(second, NOW) is None
    assert ops.projector_meeting("", NOW) is None and ops.projector_meeting("x" * 500, NOW) is None
    with pytest.raises(OperationError, match="Alleen de voorzitter"):
        ops.issue_projector_link(meeting, region.secretary, actor_for(region.secretary), NOW)


def test_blanking_the_projector_is_a_published_state(app, region):
    meeting, _ = live_meeting(region)
    ops.blank(meeting, True, region.chair, actor_for(region.chair))
    assert meeting.blanked and events(meeting)[-1] == "blank"
    ops.blank(meeting, False, region.chair, actor_for(region.chair))
    assert not meeting.blanked
