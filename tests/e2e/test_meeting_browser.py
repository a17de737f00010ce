"""Real chromium against the real server: a live meeting (issue 5).

The chair (the demo voorzitter) goes live on the demo's next Hét Overleg, moves to the next
item and records a SMART action from the console; the projector (opened with its secret
link, no account) and a participant's live view (the police), each in a browser context of
its own, show the change without reloading — through the event stream and a re-fetch of
their own view. Screenshots of projector and console go to the artefacts folder.

Arrange: the demo has one household on that agenda; a second one (involved with the
Veiligheidshuis, whose plan has the chair as zorgcoördinator and a goal of the chair's
organisation, so the chair may read it and link an action to it) is put in "Strafrecht
onder 18" through the operations, in a subprocess on the server's own instance.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from netwerk.demo import DOMAIN
from tests.e2e.conftest import REPO, NetwerkServer, Tab, _clean_env
from tests.e2e.test_browser import VOORZITTER, log_in

POLITIE = f"politie.1@{DOMAIN}"
WAIT_MS = 10_000  # every wait is bounded: a live update normally arrives well within a second
GOAL = "Eva komt haar afspraken met de reclassering na."
WHAT = "Voorzitter belt de mentor van Eva over het verzuim"
DONE_WHEN = "klaar als er een datum voor een gesprek met school staat"

ARRANGE = r"""
import json
import sys
from datetime import date
from sqlalchemy import select
from meetings import operations as mops
from meetings.demo import OVERLEGGEN
from meetings.models import AgendaItem, Meeting, Overleg
from netwerk import create_app, operations as ops
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.demo import DOMAIN
from netwerk.models import Family, User

app = create_app()
with app.app_context():
    today = date.today()
    chair = db.session.scalar(select(User).where(User.email == f"voorzitter@{DOMAIN}"))
    actor = actor_for(chair)
    overleg = db.session.scalar(select(Overleg).where(Overleg.name == OVERLEGGEN[0][0]))
    meeting = db.session.scalar(select(Meeting).where(Meeting.overleg_id == overleg.id, Meeting.date >= today)
                                .order_by(Meeting.date).limit(1))
    first = db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id))
    eva = ops.register_person(ops.PersonData("Eva", "Testmeeting", date(2009, 2, 3)), actor, today,
                              confirmed_new=True)
    family = ops.compose_family([(eva, "kind")], actor)
    ops.register_involvement(eva, ops.InvolvementData(chair.organisation_id, chair.name, chair.email, today), actor,
                             today)
    plan = ops.start_plan(family, chair, actor, today)
    ops.add_goal(plan, "school", sys.argv[1], chair, actor)
    section = next(s for s in overleg.sections if s.name == "Strafrecht onder 18")
    mops.add_to_agenda(meeting, section, family, chair, actor)
    db.session.commit()
    print(json.dumps({"meeting": str(meeting.id), "first": db.session.get(Family, first.family_id).pseudonym,
                      "second": family.pseudonym}))
"""


def arrange(server: NetwerkServer) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", ARRANGE, GOAL], cwd=REPO,
                          env=_clean_env(server.instance), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def not_reloaded(page: Page) -> None:
    """Mark the document; a reload or navigation would lose the mark."""
    page.evaluate("window.__nietHerladen = true")


def still_same_document(page: Page) -> bool:
    return page.evaluate("window.__nietHerladen === true")


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_projector_and_participant_follow_the_chair_without_reloading(
        tab: Tab, browser: object, netwerk_server: NetwerkServer, artifacts_dir: Path) -> None:
    ids = arrange(netwerk_server)
    console_url = f"/vergaderingen/{ids['meeting']}/console"
    chair = tab.page
    log_in(chair, VOORZITTER)
    chair.wait_for_url(netwerk_server.url("/"))
    chair.goto(console_url)
    chair.get_by_role("button", name="Overleg live zetten").click()
    expect(chair.get_by_role("heading", name=f"Nu: {ids['first']}")).to_be_visible(timeout=WAIT_MS)
    chair.get_by_role("button", name="Nieuwe projectorlink").click()
    link = re.search(r"http://127\.0\.0\.1:\d+(/projectie/[A-Za-z0-9_-]+)", chair.content())
    assert link, "no projector link shown"

    contexts = []
    try:
        wall_context = browser.new_context(base_url=netwerk_server.base_url,  # type: ignore[attr-defined]
                                           viewport={"width": 1280, "height": 720})
        contexts.append(wall_context)
        wall = wall_context.new_page()
        wall_errors: list[str] = []
        wall.on("console", lambda m: wall_errors.append(m.text) if m.type == "error" else None)
        wall.goto(link.group(1))
        expect(wall.locator("h1")).to_have_text(ids["first"], timeout=WAIT_MS)

        police_context = browser.new_context(base_url=netwerk_server.base_url)  # type: ignore[attr-defined]
        contexts.append(police_context)
        police = police_context.new_page()
        police_errors: list[str] = []
        police.on("console", lambda m: police_errors.append(m.text) if m.type == "error" else None)
        log_in(police, POLITIE)
        police.wait_for_url(netwerk_server.url("/"))
        police.goto(f"/vergaderingen/{ids['meeting']}/live")
        expect(police.locator("#punt-kop")).to_have_text(f"Nu: {ids['first']}", timeout=WAIT_MS)
        for page in (wall, police):
            expect(page.locator("[data-live-status]")).to_have_text("Live verbonden.", timeout=WAIT_MS)
            not_reloaded(page)

        # The chair moves on with the keyboard ("n"): both screens follow.
        chair.locator("body").press("n")
        expect(chair.get_by_role("heading", name=f"Nu: {ids['second']}")).to_be_visible(timeout=WAIT_MS)
        expect(wall.locator("h1")).to_have_text(ids["second"], timeout=WAIT_MS)
        expect(wall.locator(".section")).to_have_text("Strafrecht onder 18")
        expect(police.locator("#punt-kop")).to_have_text(f"Nu: {ids['second']}", timeout=WAIT_MS)

        # A SMART action, inline; the checker answers while the chair types.
        form = chair.locator("#actie-form")
        form.get_by_label("Doel").select_option(label=f"School en werk: {GOAL}")
        form.get_by_label("Wat precies").fill(WHAT)
        expect(chair.locator("#smart-uitslag")).to_contain_text("klaar als", timeout=WAIT_MS)
        form.get_by_label("Klaar als …").fill(DONE_WHEN)
        form.get_by_label("Eigenaar").select_option(label="Victor Voorzitter (Veiligheidshuis Hollands Midden)")
        form.get_by_label("Of in woorden").fill("binnen 2 weken")
        expect(chair.locator("#smart-uitslag")).not_to_contain_text("klaar als", timeout=WAIT_MS)
        form.get_by_role("button", name="Actie vastleggen").click()
        expect(chair.get_by_text("Actie vastgelegd.")).to_be_visible(timeout=WAIT_MS)
        expect(chair.locator("#nu-kader .acties")).to_contain_text(WHAT)

        # Without reloading: the wall lists the action's owner (never its text), the police
        # its count, and the police reads its text only as whom to call.
        expect(wall.locator(".wall-actions")).to_contain_text("Victor Voorzitter (Veiligheidshuis Hollands Midden)",
                                                              timeout=WAIT_MS)
        expect(police.locator("#live-punt")).to_contain_text("1 open", timeout=WAIT_MS)
        expect(police.locator("#live-punt")).to_contain_text("Er is informatie bij Veiligheidshuis Hollands Midden")
        for page in (wall, police):
            assert still_same_document(page), "the page was reloaded"
            assert WHAT not in page.content() and GOAL not in page.content()

        wall.screenshot(path=str(artifacts_dir / "meeting-projector.png"))
        chair.screenshot(path=str(artifacts_dir / "meeting-console.png"), full_page=True)
        assert (artifacts_dir / "meeting-projector.png").stat().st_size > 5_000
        assert wall_errors == [] and police_errors == [], (wall_errors, police_errors)
        tab.assert_clean()
    finally:
        for context in contexts:
            context.close()
