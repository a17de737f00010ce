"""The meetings' channels of the leak harness (issue 5): the projector page, the event
stream (with replay from ``Last-Event-ID``), the besluitenlijst (page and PDF) and the
letters to families. They walk the meetings ``scenario.build_meetings`` set up and yield
nothing for a scenario without them (the crawls of ``test_leak.py``).

* ``projector`` (no user: the beamer has no account; never content) — the live meeting's
  projector page with each agenda item on the wall in turn.
* ``stream`` (never content) — the live meeting's event stream read to its end
  (``STREAM_LIMITS``), from the start of the log and from the middle.
* ``besluitenlijst`` (content through the gate, audited per request) — the closed
  meeting's page and PDF.
* ``letters`` (never content: a name and address for the secretary, never a note or plan
  text) — every letter of both meetings, as a PDF.

What a screen *must* show (the positive oracle, so a page cannot pass by answering 404)
is asserted in ``test_meeting_leak.py`` from the same readings (:func:`read_stream`, ...).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from meetings.models import AgendaItem, Letter, Meeting, MeetingEvent
from netwerk.db import db
from netwerk.models import User
from tests.helpers import pdf_text
from tests.leak.harness import Exposure, Scenario, audit_window, channel


@dataclass(frozen=True)
class StreamEvent:
    id: int
    kind: str
    item: str | None
    section: str | None


def read_stream(client: FlaskClient, meeting_id: uuid.UUID, last_id: int | None) -> tuple[int, str]:
    """The whole answer of one stream request (it ends after MEETING_STREAM_MAX_SECONDS)."""
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    response = client.get(f"/vergaderingen/{meeting_id}/stroom", headers=headers)
    return response.status_code, response.get_data(as_text=True)


def parse_stream(text: str) -> list[StreamEvent]:
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "id" in fields and "data" in fields:
            data = json.loads(fields["data"])
            found.append(StreamEvent(int(fields["id"]), fields.get("event", ""), data.get("item"), data.get("section")))
    return found


def replay_points(meeting_id: uuid.UUID) -> list[int]:
    """From the start of the log, and from halfway (a client that missed the second half)."""
    ids = list(db.session.scalars(select(MeetingEvent.id).where(MeetingEvent.meeting_id == meeting_id)
                                  .order_by(MeetingEvent.id)))
    return [0, ids[len(ids) // 2]] if ids else [0]


def letter_urls(scenario: Scenario) -> list[tuple[str, Letter]]:
    info = scenario.extra["meetings"]
    item_ids = [*info["closed_items"].values(), *info["live_items"].values()]
    rows = db.session.execute(select(Letter, AgendaItem.meeting_id).join(
        AgendaItem, AgendaItem.id == Letter.agenda_item_id).where(Letter.agenda_item_id.in_(item_ids)))
    return [(f"/vergaderingen/{meeting_id}/agenda/{letter.agenda_item_id}/brieven/{letter.id}.pdf", letter)
            for letter, meeting_id in rows]


def client_of(app: Flask, scenario: Scenario, user: User) -> FlaskClient:
    """One logged-in client per user for these channels and their test: an account with a
    second factor has two fresh codes per 30 seconds, not one per channel."""
    clients = scenario.extra.setdefault("meeting_clients", {})
    if user.id not in clients:
        clients[user.id] = scenario.login(app, user)
    return clients[user.id]


def page_text(response) -> str:
    body = response.get_data()
    return pdf_text(body) if response.mimetype == "application/pdf" else body.decode("utf-8", "replace")


@channel("projector", carries_content=False, per_user=False)
def projector_channel(app: Flask, user: None, scenario: Scenario) -> Iterator[Exposure]:
    info = scenario.extra.get("meetings")
    if not info:
        return
    meeting = db.session.get(Meeting, info["live"])
    saved = meeting.current_item_id
    client = app.test_client()
    try:
        for key, item_id in sorted(info["live_items"].items()):
            meeting.current_item_id = item_id
            db.session.commit()
            response = client.get(f"/projectie/{info['token']}")
            yield Exposure(f"projector with item {key}", page_text(response), None, response.status_code,
                           response.mimetype)
    finally:
        meeting = db.session.get(Meeting, info["live"])
        meeting.current_item_id = saved
        db.session.commit()


@channel("stream", carries_content=False)
def stream_channel(app: Flask, user: User, scenario: Scenario) -> Iterator[Exposure]:
    info = scenario.extra.get("meetings")
    if not info:
        return
    client = client_of(app, scenario, user)
    for last in replay_points(info["live"]):
        status, text = read_stream(client, info["live"], last)
        yield Exposure(f"stream of the live meeting after {last}", text, None, status, "text/event-stream")


@channel("besluitenlijst")
def besluitenlijst_channel(app: Flask, user: User, scenario: Scenario) -> Iterator[Exposure]:
    info = scenario.extra.get("meetings")
    if not info:
        return
    client = client_of(app, scenario, user)
    base = f"/vergaderingen/{info['closed']}/besluitenlijst"
    for url in (base, base + ".pdf"):
        with audit_window() as window:
            response = client.get(url)
        yield Exposure(url, page_text(response), window.range, response.status_code, response.mimetype)


@channel("letters", carries_content=False)
def letters_channel(app: Flask, user: User, scenario: Scenario) -> Iterator[Exposure]:
    info = scenario.extra.get("meetings")
    if not info:
        return
    client = client_of(app, scenario, user)
    for url, _letter in letter_urls(scenario):
        response = client.get(url)
        yield Exposure(url, page_text(response), None, response.status_code, response.mimetype)
