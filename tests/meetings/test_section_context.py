"""A live meeting's section is a context for the privacy gate: the people recorded at its
table get the section's covenant purpose for the families on its agenda — on the meeting's
day, while it is live, never for an item discussed anonymously — and the chairs and the
secretary only while they hold that role."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from meetings import operations as ops
from meetings.models import AgendaItem
from netwerk.access import purposes_for
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import FamilyMember, User, UserRole
from tests.meetings.conftest import Region
from tests.meetings.test_live import NOW, live_meeting


def _from_meeting(user: User, item: AgendaItem, now=NOW) -> set[str]:
    person = db.session.scalar(select(FamilyMember.person_id).where(FamilyMember.family_id == item.family_id)
                               .limit(1))
    return {c.purpose for c in purposes_for(actor_for(user), person, now) if c.source == "overleg"}


def _attend(meeting, item: AgendaItem, user: User, status: str, r: Region) -> None:
    ops.record_attendance(meeting, item.section, user, status, r.chair, actor_for(r.chair))
    db.session.commit()


def test_the_table_of_a_live_section_gives_its_purpose_and_nothing_more(app, region: Region):
    meeting, (preventief, strafrecht, _) = live_meeting(region)
    meeting.date = NOW.date()
    _attend(meeting, preventief, region.teacher, "aanwezig", region)
    assert _from_meeting(region.teacher, preventief) == set()  # planned, not live: no context
    ops.go_live(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)
    db.session.commit()

    assert _from_meeting(region.teacher, preventief) == {"signalering"}  # recorded at Preventief
    assert _from_meeting(region.teacher, strafrecht) == set()  # ... and not at Strafrecht
    assert _from_meeting(region.officer, strafrecht) == set()  # admitted, but not recorded present
    _attend(meeting, strafrecht, region.officer, "later", region)
    assert _from_meeting(region.officer, strafrecht) == {"procesregie"}
    assert _from_meeting(region.officer, preventief) == set()
    assert _from_meeting(region.chair, strafrecht) == {"procesregie"}  # the chair runs every section
    assert _from_meeting(region.outsider, preventief) == set()
    assert _from_meeting(region.teacher, preventief, NOW + timedelta(days=1)) == set()  # a meeting left live

    _attend(meeting, preventief, region.teacher, "afgemeld", region)
    ops.discuss_anonymously(strafrecht, "Gezin niet bereikbaar voor de brief", region.chair, actor_for(region.chair))
    db.session.commit()
    assert _from_meeting(region.teacher, preventief) == set()  # not at the table
    assert _from_meeting(region.officer, strafrecht) == set()  # anonymous: nobody is told who it is

    assert _from_meeting(region.secretary, preventief) == {"signalering"}
    db.session.execute(delete(UserRole).where(UserRole.user_id == region.secretary.id))
    db.session.commit()
    db.session.expire_all()
    assert _from_meeting(region.secretary, preventief) == set()  # no longer the secretary
    ops.close(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)
    db.session.commit()
    assert _from_meeting(region.chair, preventief) == set()  # the meeting is over
