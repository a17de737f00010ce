"""The chair's console and the projector on screen (issue 5): steps with the version the
chair saw, a stale step answered with the new state, decisions from the form, and a
projector that opens with its link only and shows the frame of the item on the wall."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from meetings import operations as ops
from meetings.models import AgendaItem, Attendance, Decision, Meeting, MeetingEvent
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import Family
from netwerk.models.plans import PlanAction, PlanGoal
from privacy.models import AuditEntry
from tests.conftest import csrf_token, post_form
from tests.helpers import html
from tests.meetings.test_agenda import household
from tests.meetings.test_live import live_meeting
from tests.meetings.test_live_view import planned_meeting
from tests.netwerk.test_person_views import client_for

LINK = re.compile(r"http://[^/\s]+(/projectie/[A-Za-z0-9_-]+)")


def console_url(meeting) -> str:
    return f"/vergaderingen/{meeting.id}/console"


def test_only_the_runners_open_the_console(app, region):
    meeting, _ = live_meeting(region)
    assert client_for(app, region.youth_worker).get(console_url(meeting)).status_code == 403
    assert client_for(app, region.outsider).get(console_url(meeting)).status_code == 404
    page = html(client_for(app, region.chair).get(console_url(meeting)))
    assert "Overleg live zetten" in page and 'data-key="n"' not in page  # not live yet


def test_the_chair_goes_live_and_steps_with_the_version_seen(app, region):
    meeting, _ = live_meeting(region)
    chair = client_for(app, region.chair)
    url = console_url(meeting)
    response = post_form(chair, f"{url}/live", {"version": str(meeting.version)}, token_from=url)
    assert response.status_code == 302
    db.session.refresh(meeting)
    first, second = ops.ordered_items(meeting)[:2]
    assert (meeting.status, meeting.current_item_id) == ("live", first.id)
    seen = str(meeting.version)
    assert post_form(chair, f"{url}/volgende", {"version": seen}, token_from=url).status_code == 302
    stale = post_form(chair, f"{url}/volgende", {"version": seen}, token_from=url)
    assert stale.status_code == 409 and "intussen verder gezet" in html(stale)
    db.session.refresh(meeting)
    assert meeting.current_item_id == second.id  # moved once
    assert post_form(chair, f"{url}/onbekend", {"version": str(meeting.version)}, token_from=url).status_code == 404
    assert chair.post(f"{url}/volgende", data={"version": str(meeting.version)}).status_code == 400  # no CSRF


def test_a_decision_from_the_form_lands_on_the_item_on_the_wall(app, region):
    meeting, _ = live_meeting(region)
    ops.go_live(meeting, region.chair, actor_for(region.chair), meeting.created_at, meeting.version)
    db.session.commit()
    chair = client_for(app, region.chair)
    url = console_url(meeting)
    response = post_form(chair, f"{url}/besluit", {"version": str(meeting.version), "kind": "terug_op_agenda",
                                                   "on_date": "2099-01-05", "user_id": ""}, token_from=url)
    assert response.status_code == 302
    decision = db.session.scalar(db.select(Decision))
    assert (decision.agenda_item_id, decision.kind) == (meeting.current_item_id, "terug_op_agenda")
    bad = post_form(chair, f"{url}/besluit", {"version": str(meeting.version), "kind": "terug_op_agenda",
                                              "on_date": "", "user_id": ""}, token_from=url)
    assert bad.status_code == 422 and "datum waarop" in html(bad)


def test_the_projector_shows_the_frame_of_the_item_on_the_wall_and_nothing_after_revocation(app, region):
    meeting, _ = live_meeting(region)
    ops.go_live(meeting, region.chair, actor_for(region.chair), meeting.created_at, meeting.version)
    db.session.commit()
    chair = client_for(app, region.chair)
    url = console_url(meeting)
    page = html(post_form(chair, f"{url}/projector", {"version": str(meeting.version)}, token_from=url))
    link = LINK.search(page).group(1)
    beamer = app.test_client()  # no account on the beamer PC
    wall = html(beamer.get(link))
    running = ops.ordered_items(meeting)
    current, other_section = (db.session.get(Family, i.family_id) for i in (running[0], running[-1]))
    assert current.pseudonym in wall and running[0].section.name in wall
    assert other_section.pseudonym not in wall  # another section's item never shows
    for absent in ("BSN", "Lekstraat", "zorgen", "Sara"):
        assert absent not in wall
    post_form(chair, f"{url}/zwart", {"version": str(meeting.version)}, token_from=url)
    assert current.pseudonym not in html(beamer.get(link))
    post_form(chair, f"{url}/projector/intrekken", {"version": str(meeting.version)}, token_from=url)
    assert beamer.get(link).status_code == 404
    assert beamer.get("/projectie/geraden").status_code == 404


# --- inline SMART actions, attendance and the order of the agenda (issue 5, parts 3 and 5) -----

def _counts(meeting: Meeting) -> tuple[int, int, int]:
    """Actions, the meeting's events, its version: what a refused step must leave alone."""
    db.session.expire_all()
    return (db.session.scalar(select(func.count()).select_from(PlanAction)),
            db.session.scalar(select(func.count()).select_from(MeetingEvent)
                              .where(MeetingEvent.meeting_id == meeting.id)),
            db.session.get(Meeting, meeting.id).version)


def test_the_chair_records_a_smart_action_inline_for_the_family_on_the_wall_only(app, region):
    meeting, _, family = planned_meeting(region)
    goal = db.session.scalar(select(PlanGoal).where(PlanGoal.organisation_id == region.chair.organisation_id))
    chair, url = client_for(app, region.chair), console_url(meeting)
    action = {"family": str(family.id), "goal_id": str(goal.id), "what": "Wijkagent bezoekt het gezin thuis",
              "done_when": "klaar als het verslag van het huisbezoek bij de zorgcoördinator ligt",
              "owner": str(region.officer.id), "due": "", "due_text": "binnen 2 weken", "agreed_by": "",
              "agreed_on": ""}

    # As the chair types: the checker's Dutch findings, nothing written.
    before = _counts(meeting)
    vague = post_form(chair, f"{url}/smart", action | {"version": str(meeting.version), "done_when": "",
                                                       "due_text": "z.s.m."}, token_from=url)
    codes = {f["code"] for f in vague.get_json()["findings"]}
    assert vague.status_code == 200 and not vague.get_json()["ok"] and {"no_criterion", "vague_date"} <= codes
    assert any("z.s.m." in f["message"] for f in vague.get_json()["findings"])
    assert post_form(chair, f"{url}/smart", action | {"version": "1"}, token_from=url).get_json()["ok"]
    stranger = household(region)  # involved with CJG and police, but not on this agenda
    refused = post_form(chair, f"{url}/smart", action | {"version": "1", "family": str(stranger.id)}, token_from=url)
    assert refused.status_code == 422 and "niet op de agenda" in refused.get_json()["findings"][0]["message"]
    assert _counts(meeting) == before

    # Bad input changes nothing: a family not on the agenda, a SMART failure, a stale version.
    for data, status, message in (
            ({"family": str(stranger.id)}, 422, "staat niet op de agenda van dit overleg"),
            ({"due_text": "voor de zomer"}, 422, "te vaag"),
            ({"version": str(meeting.version - 1)}, 409, "intussen verder gezet")):
        answer = post_form(chair, f"{url}/actie", action | {"version": str(meeting.version)} | data, token_from=url)
        assert answer.status_code == status and message in html(answer), data
        assert _counts(meeting) == before

    saved = post_form(chair, f"{url}/actie", action | {"version": str(meeting.version)}, token_from=url)
    assert saved.status_code == 302
    recorded = db.session.scalar(select(PlanAction).where(PlanAction.owner_user_id == region.officer.id))
    assert recorded.goal_id == goal.id and recorded.due == utcnow().date() + timedelta(days=14)
    last = db.session.scalar(select(MeetingEvent).where(MeetingEvent.meeting_id == meeting.id)
                             .order_by(MeetingEvent.id.desc()).limit(1))
    assert (last.kind, last.item_id) == ("action", meeting.current_item_id)
    assert _counts(meeting)[2] == before[2] + 1  # the version was claimed


def test_attendance_from_the_console_is_an_event_of_its_section(app, region):
    meeting, items = live_meeting(region)
    chair, url = client_for(app, region.chair), console_url(meeting)
    strafrecht = items[1].section
    data = {"section": str(strafrecht.id), "user": str(region.officer.id), "status": "later"}
    before = _counts(meeting)
    stale = post_form(chair, f"{url}/aanwezigheid", data | {"version": str(meeting.version + 5)}, token_from=url)
    assert stale.status_code == 409 and "intussen verder gezet" in html(stale)
    wrong = post_form(chair, f"{url}/aanwezigheid", data | {"version": str(meeting.version),
                                                             "user": str(region.teacher.id)}, token_from=url)
    assert wrong.status_code == 422 and "neemt niet deel aan dit onderdeel" in html(wrong)
    assert _counts(meeting) == before
    assert post_form(chair, f"{url}/aanwezigheid", data | {"version": str(meeting.version)},
                     token_from=url).status_code == 302
    row = db.session.get(Attendance, (meeting.id, strafrecht.id, region.officer.id))
    assert row.status == "later" and _counts(meeting)[1] == before[1] + 1
    assert "Komt later" in html(chair.get(url))
    assert post_form(chair, f"{url}/aanwezigheid", data | {"version": "x"}, token_from=url).status_code == 400


def test_reordering_by_keyboard_and_by_drag_renumbers_within_the_section(app, region):
    meeting, items = live_meeting(region)
    chair, url = client_for(app, region.chair), console_url(meeting)
    section = items[0].section

    def order() -> list:
        return list(db.session.scalars(select(AgendaItem.id).where(
            AgendaItem.meeting_id == meeting.id, AgendaItem.section_id == section.id).order_by(AgendaItem.position)))

    first, second = order()
    seen = str(meeting.version)
    moved = post_form(chair, f"{url}/agenda/{second}/verplaatsen", {"version": seen, "direction": "op"},
                      token_from=url)
    assert moved.status_code == 302 and order() == [second, first]
    stale = post_form(chair, f"{url}/agenda/{second}/verplaatsen", {"version": seen, "direction": "neer"},
                      token_from=url)
    assert stale.status_code == 409 and "De agenda is intussen gewijzigd" in html(stale)
    assert order() == [second, first]
    top = post_form(chair, f"{url}/agenda/{second}/verplaatsen", {"version": str(_counts(meeting)[2]),
                                                                  "direction": "op"}, token_from=url)
    assert top.status_code == 302 and order() == [second, first]  # at the top it stays

    # A drag posts the section's whole order (the script asks for JSON).
    version = str(_counts(meeting)[2])
    dragged = post_form(chair, f"{url}/volgorde", {"version": version, "section": str(section.id),
                                                   "order": f"{first},{second}"}, token_from=url)
    assert dragged.status_code == 302 and order() == [first, second]
    assert db.session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "meetings.agenda_reordered").limit(1))
    version = str(_counts(meeting)[2])
    incomplete = chair.post(f"{url}/volgorde", data={"csrf_token": csrf_token(chair, url), "version": version,
                                                     "section": str(section.id), "order": f"{second}"},
                            headers={"X-Requested-With": "fetch"})
    assert incomplete.status_code == 422 and "gewijzigd" in incomplete.get_json()["message"]
    assert order() == [first, second]
    assert post_form(chair, f"{url}/volgorde", {"version": version, "section": str(section.id),
                                                "order": "geen,ids"}, token_from=url).status_code == 400
