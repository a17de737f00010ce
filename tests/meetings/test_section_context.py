"""A live meeting's section is a context for the privacy gate: the people at its table get
the section's covenant purpose for the families on its agenda — only while the meeting is
live, not when recorded absent, never for an item discussed anonymously."""

from __future__ import annotations

from sqlalchemy import select

from meetings import operations as ops
from meetings.models import AgendaItem
from netwerk.access import purposes_for
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import FamilyMember, User
from tests.meetings.conftest import Region
from tests.meetings.test_live import NOW, live_meeting


def _from_meeting(user: User, item: AgendaItem) -> set[str]:
    person = db.session.scalar(select(FamilyMember.person_id).where(FamilyMember.family_id == item.family_id)
                               .limit(1))
    return {c.purpose for c in purposes_for(actor_for(user), person, NOW) if c.source == "overleg"}


def test_the_table_of_a_live_section_gives_its_purpose_and_nothing_more(app, region: Region):
    meeting, (preventief, strafrecht, _) = live_meeting(region)
    assert _from_meeting(region.teacher, preventief) == set()  # planned, not live: no context
    ops.go_live(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)
    db.session.commit()

    assert _from_meeting(region.teacher, preventief) == {"signalering"}  # school sits at Preventief
    assert _from_meeting(region.teacher, strafrecht) == set()  # ... and not at Strafrecht
    assert _from_meeting(region.officer, strafrecht) == {"procesregie"}
    assert _from_meeting(region.officer, preventief) == set()
    assert _from_meeting(region.chair, strafrecht) == {"procesregie"}  # the chair runs every section
    assert _from_meeting(region.outsider, preventief) == set()

    ops.record_attendance(meeting, preventief.section, region.teacher, "afgemeld", region.chair,
                          actor_for(region.chair))
    ops.discuss_anonymously(strafrecht, "Gezin niet bereikbaar voor de brief", region.chair, actor_for(region.chair))
    db.session.commit()
    assert _from_meeting(region.teacher, preventief) == set()  # not at the table
    assert _from_meeting(region.officer, strafrecht) == set()  # anonymous: nobody is told who it is

    ops.close(meeting, region.chair, actor_for(region.chair), NOW, meeting.version)
    db.session.commit()
    assert _from_meeting(region.chair, preventief) == set()  # the meeting is over
