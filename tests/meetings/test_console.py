"""The chair's console and the projector on screen (issue 5): steps with the version the
chair saw, a stale step answered with the new state, decisions from the form, and a
projector that opens with its link only and shows the frame of the item on the wall."""

from __future__ import annotations

import re

from meetings import operations as ops
from meetings.models import Decision
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Family
from tests.conftest import post_form
from tests.helpers import html
from tests.meetings.test_live import live_meeting
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
