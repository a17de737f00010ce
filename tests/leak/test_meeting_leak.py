"""Issue 5, "must hold": the leak harness over the meetings' channels — the projector, the
event stream (with replay from Last-Event-ID), the besluitenlijst (page, PDF, mail) and the
letters. Amira's household (a plan with a marker in every piece) is in section A
(Preventief) and Dirk in section B (Strafrecht onder 18) of a closed and of a live meeting
of the demo's Hét Overleg (``scenario.build_meetings``).

Each test holds the channel to a hand-written table of what it must show (a positive
oracle: a page that answers 404 fails), and the harness to what it must not: a marker
only with its audited, covenant-allowed read; none at all on the projector, in the stream,
in letters or mails; nothing of a section one did not attend or is not admitted to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from meetings.models import AgendaItem, Meeting, MeetingEvent, Overleg
from netwerk.db import db
from netwerk.demo import DOMAIN
from netwerk.models import OutboxMail, PlanAction
from privacy.demo_covenant import CATEGORIES
from tests.leak.channels_meetings import (
    client_of,
    letter_urls,
    page_text,
    parse_stream,
    projector_channel,
    read_stream,
    replay_points,
)
from tests.leak.harness import Scenario, find_markers, run
from tests.leak.scenario import build_meetings, by_local

# Sections by letter: A Preventief, B Strafrecht onder 18, C Nazorg detentie (no items).
# Admitted: the organisation is a party of the section (the chair and secretary: all).
ADMITTED = {"cjg-alphen.1": "AB", "leerplicht.1": "A", "politie.1": "ABC", "raad.1": "B", "jongerenwerk.1": "A",
            "reclassering.1": "C", "zat.1": None, "voorzitter": "ABC", "secretaris": "ABC"}
# The besluitenlijst: the sections the organisation *attended* (scenario.MEETING_ATTENDANCE).
# Politie sits at both tables but came to B only; Jongerenwerk's one participant sent
# apologies; Reclassering's section had nothing. None: the meeting does not exist for them.
BESLUITENLIJST = {"cjg-alphen.1": "AB", "leerplicht.1": "A", "politie.1": "B", "raad.1": "B", "jongerenwerk.1": "",
                  "reclassering.1": "", "zat.1": None, "voorzitter": "AB", "secretaris": "AB"}
MAILED = {"cjg-alphen.1", "leerplicht.1", "politie.1", "raad.1"}
MANAGERS = {"voorzitter", "secretaris"}
CHANNELS = ["besluitenlijst", "stream", "letters"]


@pytest.fixture(scope="module")
def meetings(region: tuple[Flask, Scenario]) -> Iterator[tuple[Flask, Scenario]]:
    app, scenario = region
    build_meetings(scenario)
    yield app, scenario


def _sections(scenario: Scenario) -> dict[str, str]:
    """Section id -> letter."""
    overleg = db.session.get(Meeting, scenario.extra["meetings"]["live"]).overleg
    return {str(s.id): "ABC"[i] for i, s in enumerate(overleg.sections[:3])}


def _own_open_action_markers(scenario: Scenario, account: str) -> set[str]:
    """Action texts of the household's open actions written or owned by the account's own
    organisation: the gate always shows an organisation its own, so the list must."""
    org = by_local(account).organisation_id
    found = set()
    for marker, planted in scenario.markers.items():
        if planted.piece != "action" or planted.owner_org_id != org:
            continue
        action = db.session.get(PlanAction, planted.action_id)
        if action.status in ("open", "bezig") and marker in action.what:
            found.add(marker)
    return found


@pytest.mark.parametrize("account", sorted(ADMITTED))
def test_a_participant_receives_only_the_sections_they_are_admitted_to_and_attended(meetings, account):
    app, scenario = meetings
    info, user = scenario.extra["meetings"], by_local(account)
    report = run(app, scenario, [user], CHANNELS)
    report.assert_clean()
    answers = report.answers[user.email]
    pseudonyms = info["pseudonyms"]

    # The besluitenlijst: exactly the attended sections' families, page and PDF alike.
    base = f"besluitenlijst:/vergaderingen/{info['closed']}/besluitenlijst"
    want = BESLUITENLIJST[account]
    client = client_of(app, scenario, user)
    for url in (base.split(":", 1)[1], base.split(":", 1)[1] + ".pdf"):
        response = client.get(url)
        if want is None or (not want and url.endswith(".pdf")):
            assert response.status_code == 404, url
            continue
        assert response.status_code == 200, url
        text = page_text(response)
        assert {k for k, p in pseudonyms.items() if p in text} == set(want), url
    assert answers[base][0] == (404 if want is None else 200)
    # What the gate gives an organisation of its own is there (so the list is read, not empty).
    if want and "A" in want and account not in MANAGERS:
        assert _own_open_action_markers(scenario, account) <= report.seen(user, "besluitenlijst")

    # The stream: exactly the missed events of the admitted sections (and the meeting's own),
    # from the start of the log and from halfway.
    letters = _sections(scenario)
    for last in replay_points(info["live"]):
        status, text = read_stream(client, info["live"], last)
        if ADMITTED[account] is None:
            assert status == 404
            continue
        expected = [e.id for e in db.session.scalars(select(MeetingEvent).where(
            MeetingEvent.meeting_id == info["live"], MeetingEvent.id > last).order_by(MeetingEvent.id))
            if e.section_id is None or letters[str(e.section_id)] in ADMITTED[account]]
        got = parse_stream(text)
        assert (status, [e.id for e in got]) == (200, expected), f"after {last}"
        assert {letters[e.section] for e in got if e.section} <= set(ADMITTED[account])
        others = {str(i) for k, i in info["live_items"].items() if k not in ADMITTED[account]}
        assert not others & {e.item for e in got}

    # Letters: only the chair and the secretary open them.
    for url, _letter in letter_urls(scenario):
        assert (answers[f"letters:{url}"][0] == 200) == (account in MANAGERS), url


def test_the_projector_shows_the_item_on_the_wall_and_never_content(meetings):
    app, scenario = meetings
    info = scenario.extra["meetings"]
    run(app, scenario, [], ["projector"]).assert_clean()
    people = scenario.extra["people"].values()
    forbidden = [re.escape(p.bsn) for p in people] + [re.escape(p.last) for p in people]
    forbidden += [rf"\b{re.escape(p.first)}\b" for p in people] + ["Lekstraat"]
    forbidden += [re.escape(label) for label, *_ in CATEGORIES.values()]
    names = {letter: s for s, letter in _sections(scenario).items()}
    overleg = db.session.scalar(select(Overleg).join(Meeting, Meeting.overleg_id == Overleg.id)
                                .where(Meeting.id == info["live"]))
    section_names = {str(s.id): s.name for s in overleg.sections}
    shown = list(projector_channel(app, None, scenario))
    assert len(shown) == 2
    for exposure in shown:
        key = exposure.location.rsplit(" ", 1)[1]
        other = "B" if key == "A" else "A"
        assert exposure.status == 200
        assert info["pseudonyms"][key] in exposure.text and section_names[names[key]] in exposure.text
        assert info["pseudonyms"][other] not in exposure.text  # nothing of the other section
        assert not find_markers(exposure.text, scenario.markers)
        hits = [p for p in forbidden if re.search(p, exposure.text, re.IGNORECASE)]
        assert hits == [], f"projector with item {key} shows {hits}"


def test_the_besluitenlijst_mail_carries_a_link_to_each_attending_organisations_participants(meetings):
    app, scenario = meetings
    info = scenario.extra["meetings"]
    run(app, scenario, [], ["mail"]).assert_clean()
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "besluitenlijst")).all()
    assert sorted(m.recipient for m in mails) == sorted(f"{a}@{DOMAIN}" for a in MAILED)
    for mail in mails:
        assert f"/vergaderingen/{info['closed']}/besluitenlijst" in mail.body
        assert not any(p in mail.body for p in info["pseudonyms"].values())
    # Closing carried the unfinished over: both families are on the next meeting, "doorgeschoven".
    closed = db.session.get(Meeting, info["closed"])
    following = db.session.scalar(select(Meeting).where(Meeting.overleg_id == closed.overleg_id,
                                                        Meeting.date > closed.date).order_by(Meeting.date).limit(1))
    carried = {i.carried_from_id: i.reasons for i in db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == following.id))}
    assert {carried.get(i) and "doorgeschoven" in carried[i] for i in info["closed_items"].values()} == {True}
