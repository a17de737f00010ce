"""The participants' live view and the projector's live parts (issue 5, part 7): each
viewer sees only the sections they attend, follows the chair or browses, reads the plan
through the gate (audited); the projector's stream opens with its link only and ends when
the link is revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from meetings import operations as ops
from meetings.models import AgendaItem, Meeting
from netwerk import operations as core
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Family
from netwerk.models.plans import PlanGoal
from privacy.models import AuditEntry
from tests.helpers import html
from tests.meetings.conftest import Region
from tests.meetings.test_live import live_meeting
from tests.netwerk.test_person_views import client_for

NOW = datetime.now(UTC)
CJG_GOAL = "Noor gaat weer elke schooldag naar school."
CHAIR_GOAL = "Afspraken over thuiskomen worden nagekomen."
CJG_ACTION = "Jeugdwerker belt de mentor over het verzuim"


def planned_meeting(r: Region) -> tuple[Meeting, list[AgendaItem], Family]:
    """A live meeting whose "strafrecht" item (CJG and police at the table) has a plan with
    a CJG goal and action and a goal of the chair's own organisation; the wall shows it."""
    meeting, items = live_meeting(r)
    item = items[1]  # sections alternate: items 0 and 2 are "preventief", 1 is "strafrecht"
    family = db.session.get(Family, item.family_id)
    youth = actor_for(r.youth_worker)
    plan = core.start_plan(family, r.youth_worker, youth, NOW.date())
    goal = core.add_goal(plan, "school", CJG_GOAL, r.youth_worker, youth)
    core.add_goal(plan, "opvoeding", CHAIR_GOAL, r.chair, actor_for(r.chair))
    core.add_action(plan, goal_id=goal.id, what=CJG_ACTION, done_when="klaar als er een datum voor een gesprek staat",
                    owner_user=r.youth_worker, owner_member=None, due=NOW.date() + timedelta(days=10),
                    due_text=None, agreed_by=None, agreed_on=None, actor=youth, today=NOW.date())
    chair = actor_for(r.chair)
    ops.go_live(meeting, r.chair, chair, NOW, meeting.version)
    ops.move_to(meeting, item.id, r.chair, chair, NOW, meeting.version)
    db.session.commit()
    return meeting, items, family


def reads_by(user) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "content.read", AuditEntry.actor_user_id == user.id))


def test_each_participant_sees_only_their_sections_and_what_the_gate_allows(app, region):
    meeting, items, family = planned_meeting(region)
    url = f"/vergaderingen/{meeting.id}/live"
    other = db.session.get(Family, items[0].family_id)  # a "preventief" family

    # The CJG sits at both tables and wrote the goal and the action: it reads them.
    youth_client = client_for(app, region.youth_worker)
    assert f'href="{url}"' in html(youth_client.get(f"/vergaderingen/{meeting.id}"))  # linked from the meeting
    youth = html(youth_client.get(url))
    assert f"Nu: {family.pseudonym}" in youth and CJG_GOAL in youth and CJG_ACTION in youth
    assert other.pseudonym in youth  # both sections on its agenda

    # The police sits at the strafrecht table only: the item, but the CJG's text only as
    # whom to call (no covenant rule), through the gate and audited; nothing of preventief.
    before = reads_by(region.officer)
    police = html(client_for(app, region.officer).get(url))
    assert f"Nu: {family.pseudonym}" in police and "Er is informatie bij CJG Test" in police
    for absent in (CJG_GOAL, CJG_ACTION, CHAIR_GOAL, other.pseudonym, "Preventief"):
        assert absent not in police
    assert reads_by(region.officer) > before

    # The school sits at the preventief table only: while strafrecht is on the wall it sees
    # that another section is being discussed, and nothing of it, not even by asking.
    teacher = client_for(app, region.teacher)
    page = html(teacher.get(url))
    assert "een onderdeel waaraan u niet deelneemt" in page and other.pseudonym in page
    for absent in (family.pseudonym, CJG_GOAL, "Strafrecht"):
        assert absent not in page
    assert teacher.get(f"{url}?punt={items[1].id}").status_code == 404
    assert teacher.get(f"{url}?punt=geen-id").status_code == 404
    assert reads_by(region.teacher) == 0  # no plan of another section was even read

    # Browsing freely: the teacher opens a preventief item; the fragment has no site frame.
    browsed = html(teacher.get(f"{url}?punt={items[0].id}&deel=1"))
    assert other.pseudonym in browsed and "Volg de voorzitter" in browsed and "<html" not in browsed

    # Recorded absent ("afgemeld") for preventief: the teacher attends no section any more.
    ops.record_attendance(meeting, items[0].section, region.teacher, "afgemeld", region.chair,
                          actor_for(region.chair))
    db.session.commit()
    page = html(teacher.get(url))
    assert other.pseudonym not in page and "U neemt aan geen onderdeel" in page
    assert client_for(app, region.outsider).get(url).status_code == 404


def test_the_projector_stream_opens_with_its_link_and_ends_when_it_is_revoked(app, region):
    meeting, items, family = planned_meeting(region)
    app.config["MEETING_STREAM_HEARTBEAT_SECONDS"] = 0.05
    app.config["MEETING_STREAM_MAX_SECONDS"] = 0.2
    token = ops.issue_projector_link(meeting, region.chair, actor_for(region.chair), NOW)
    db.session.commit()
    beamer = app.test_client()  # no account
    wall = html(beamer.get(f"/projectie/{token}?deel=1"))
    # The wall lists the action's owner, date and state, never what it is.
    assert family.pseudonym in wall and "Jan Jeugdwerker (CJG Test)" in wall
    assert CJG_ACTION not in wall and CJG_GOAL not in wall and "<html" not in wall

    assert beamer.get(f"/projectie/{token}/stroom", headers={"Last-Event-ID": "zeven"}).status_code == 400
    assert beamer.get("/projectie/geraden/stroom").status_code == 404
    ops.record_decision(db.session.get(AgendaItem, items[1].id), ops.DecisionSpec("plan_starten"), region.chair,
                        actor_for(region.chair), NOW.date())
    ops.record_decision(db.session.get(AgendaItem, items[0].id), ops.DecisionSpec("plan_starten"), region.chair,
                        actor_for(region.chair), NOW.date())  # not on the wall's section
    db.session.commit()
    body = beamer.get(f"/projectie/{token}/stroom", headers={"Last-Event-ID": "0"}).get_data(as_text=True)
    kinds = [line.split(": ", 1)[1] for line in body.splitlines() if line.startswith("event: ")]
    assert "current_changed" in kinds and kinds.count("decision") == 1  # the other section's is not sent
    assert str(items[0].id) not in body

    ops.revoke_projector_links(meeting, region.chair, actor_for(region.chair), NOW)
    db.session.commit()
    assert beamer.get(f"/projectie/{token}/stroom").status_code == 404
    assert beamer.get(f"/projectie/{token}?deel=1").status_code == 404


def test_the_chairs_goal_choices_are_what_the_gate_disclosed(app, region):
    meeting, _, family = planned_meeting(region)
    page = html(client_for(app, region.chair).get(f"/vergaderingen/{meeting.id}/console"))
    chair_goal = db.session.scalar(select(PlanGoal).where(PlanGoal.organisation_id == region.chair.organisation_id))
    assert f'value="{chair_goal.id}"' in page and CHAIR_GOAL[:40] in page
    assert CJG_GOAL not in page  # the CJG's goal is the CJG's (no covenant rule in this region)
    assert f"SMART-actie vastleggen voor {family.pseudonym}" in page
