"""The meeting event stream (issue 5, item 8) through Flask's test client: ids only, only the
sections one is admitted to (live and on replay), exact replay after Last-Event-ID, nothing
for a rolled-back change, clear answers to a bad Last-Event-ID, and the two brokers (in
process; Redis between two "processes" against the real Redis server of the suite).

Every streaming read is bounded twice: by a deadline in :func:`read` and by pytest-timeout.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from meetings import events
from meetings import operations as ops
from meetings.models import Meeting, MeetingEvent, Section
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import LoginSession
from tests.meetings.conftest import Region
from tests.meetings.test_agenda import household, meetings_of
from tests.netwerk.test_person_views import client_for

pytestmark = pytest.mark.timeout(60)
HEARTBEAT = 0.05


@dataclass
class Live:
    meeting: Meeting
    prevention: Section  # section A: CJG and school
    justice: Section  # section B: CJG and police


@pytest.fixture
def live(app: Flask, region: Region, monkeypatch: pytest.MonkeyPatch) -> Live:
    monkeypatch.setitem(app.config, "MEETING_STREAM_HEARTBEAT_SECONDS", HEARTBEAT)
    monkeypatch.setitem(app.config, "MEETING_STREAM_MAX_SECONDS", 10)  # a stream left open ends anyway
    overleg, _, meeting = meetings_of(region)
    return Live(meeting, overleg.sections[0], overleg.sections[1])


def emit(live: Live, section: Section | None, kind: str = "agenda_changed") -> int:
    """One committed event (as an operation would publish it); its id."""
    event = ops.publish(live.meeting, kind, section_id=section.id if section else None)
    db.session.commit()
    return event.id


def parse(text: str) -> list[dict]:
    """SSE blocks as dicts; comments (heartbeats) become {"comment": ...}."""
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields: dict = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value.removeprefix(" ")
        out.append(fields)
    return out


def read(client: FlaskClient, live: Live, *, headers: dict | None = None, query: str = "",
         until=lambda msgs: False, seconds: float = 3.0) -> list[dict]:
    """Open the stream and collect messages until ``until(messages)`` or ``seconds``."""
    response = client.get(f"/vergaderingen/{live.meeting.id}/stroom{query}", headers=headers or {},
                          buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    buffer, messages = "", []
    deadline = time.monotonic() + seconds
    try:
        for chunk in response.response:
            buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
            *complete, buffer = buffer.split("\n\n")
            messages += parse("\n\n".join(complete))
            if until(messages) or time.monotonic() > deadline:
                break
    finally:
        response.close()
    return messages


def ids(messages: list[dict]) -> list[int]:
    return [int(m["id"]) for m in messages if "id" in m and m.get("event") != "herladen"]


def has(n: int):
    return lambda msgs: len(ids(msgs)) >= n


def heartbeats(n: int):
    return lambda msgs: sum(1 for m in msgs if m.get("comment") == "hartslag") >= n


# --- what a subscriber receives ----------------------------------------------------------------

def test_a_participant_gets_only_the_events_of_sections_they_sit_in_also_on_replay(app, region, live):
    teacher, officer = client_for(app, region.teacher), client_for(app, region.officer)
    a1, b1, whole, b2, a2 = (emit(live, live.prevention), emit(live, live.justice), emit(live, None),
                             emit(live, live.justice), emit(live, live.prevention))
    seen = read(teacher, live, query="?na=0", until=has(3))
    assert ids(seen) == [a1, whole, a2]
    assert read(officer, live, query="?na=0", until=has(3)) and ids(
        read(officer, live, query="?na=0", until=has(3))) == [b1, whole, b2]
    # Replay after an id of the other section skips that section's events as well.
    assert ids(read(teacher, live, headers={"Last-Event-ID": str(b1)}, until=has(2))) == [whole, a2]
    message = next(m for m in seen if m.get("id") == str(a1))
    assert message["event"] == "agenda_changed"
    assert json.loads(message["data"]) == {"item": None, "section": str(live.prevention.id)}
    everything = " ".join(json.dumps(m) for m in seen)
    assert str(live.justice.id) not in everything  # not even the other section's id


def test_messages_carry_ids_only_and_the_stream_has_the_right_headers(app, region, live):
    family = household(region)
    item = ops.add_to_agenda(live.meeting, live.prevention, family, region.youth_worker,
                             actor_for(region.youth_worker))
    db.session.commit()
    response = client_for(app, region.teacher).get(f"/vergaderingen/{live.meeting.id}/stroom?na=0",
                                                  buffered=False)
    try:
        assert response.mimetype == "text/event-stream"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Accel-Buffering"] == "no"
        first = next(iter(response.response))
        assert (first.decode() if isinstance(first, bytes) else first) == "retry: 2000\n\n"
    finally:
        response.close()
    [message] = [m for m in read(client_for(app, region.teacher), live, query="?na=0", until=has(1))
                 if "id" in m]
    assert json.loads(message["data"]) == {"item": str(item.id), "section": str(live.prevention.id)}
    assert set(message) == {"id", "event", "data"}


def test_replay_gives_exactly_the_missed_events_once(app, region, live):
    client = client_for(app, region.youth_worker)  # CJG: in both sections
    first = [emit(live, live.prevention), emit(live, live.justice)]
    got = ids(read(client, live, query="?na=0", until=has(2)))
    assert got == first
    missed = [emit(live, live.justice), emit(live, None), emit(live, live.prevention)]
    again = ids(read(client, live, headers={"Last-Event-ID": str(got[-1])}, until=has(3)))
    assert again == missed
    # A fresh connection without an id starts at the end: nothing old is repeated.
    assert ids(read(client, live, until=heartbeats(2))) == []
    # Last-Event-ID wins over ?na= (the page's id is older than what EventSource saw).
    assert ids(read(client, live, headers={"Last-Event-ID": str(missed[1])}, query="?na=0",
                    until=has(1))) == [missed[2]]


def test_a_long_replay_comes_in_pieces_complete_and_in_order(app, region, live, monkeypatch):
    from meetings.views import stream

    monkeypatch.setattr(stream, "BATCH", 2)
    made = [emit(live, live.prevention if n % 3 else live.justice) for n in range(7)]
    got = ids(read(client_for(app, region.teacher), live, query="?na=0", until=has(4)))
    assert got == [m for n, m in enumerate(made) if n % 3]


def test_a_change_committed_while_connected_arrives_live(app, region, live):
    client = client_for(app, region.teacher)
    sent: list[int] = []
    meeting_id, section_id = live.meeting.id, live.prevention.id  # read here: the thread has its own session
    db.session.rollback()  # and end this session's transaction (SQLite: one writer at a time)

    def chair_acts() -> None:
        time.sleep(0.3)  # the stream is waiting by now
        with app.app_context():
            meeting = db.session.get(Meeting, meeting_id)
            event = ops.publish(meeting, "agenda_changed", section_id=section_id)
            db.session.commit()
            sent.append(event.id)
            db.session.remove()

    thread = threading.Thread(target=chair_acts)
    thread.start()
    started = time.monotonic()
    try:
        got = read(client, live, until=has(1), seconds=5)
    finally:
        thread.join(10)
    assert ids(got) == sent
    assert time.monotonic() - started < 3


def test_a_lost_notification_costs_a_heartbeat_never_an_event(app, region, live):
    client = client_for(app, region.teacher)
    silent: list[int] = []

    def commit_without_notifying(msgs: list[dict]) -> bool:
        if not silent and any(m.get("comment") == "hartslag" for m in msgs):
            event = MeetingEvent(meeting_id=live.meeting.id, section_id=live.prevention.id, kind="agenda_changed")
            db.session.add(event)  # not through publish(): as if the notification were lost
            db.session.commit()
            silent.append(event.id)
        return bool(silent) and ids(msgs) == silent

    assert ids(read(client, live, until=commit_without_notifying, seconds=5)) == silent


def test_a_rolled_back_operation_publishes_nothing_and_notifies_nobody(app, region, live):
    broker = events.broker(app)
    before = broker.counter(live.meeting.id)
    family = household(region)
    ops.add_to_agenda(live.meeting, live.prevention, family, region.youth_worker, actor_for(region.youth_worker))
    db.session.flush()  # the event row existed inside the transaction
    assert db.session.scalar(select(func.count()).select_from(MeetingEvent)) == 1
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(MeetingEvent)) == 0
    assert broker.counter(live.meeting.id) == before
    assert not broker.wait(live.meeting.id, before, 0.2)
    emit(live, live.prevention)  # while a committed one notifies once
    assert broker.counter(live.meeting.id) == before + 1


# --- bad input and who may listen ---------------------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "-1", "1.5", "1e3", "", "12345678901234567890", "0x10", "٣"])
def test_a_malformed_last_event_id_is_refused_with_a_dutch_message(app, region, live, value):
    response = client_for(app, region.teacher).get(f"/vergaderingen/{live.meeting.id}/stroom",
                                                  headers={"Last-Event-ID": value})
    assert response.status_code == 400
    assert "Ongeldige Last-Event-ID" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_malformed_na_parameter_is_refused_as_well(app, region, live):
    response = client_for(app, region.teacher).get(f"/vergaderingen/{live.meeting.id}/stroom?na=x")
    assert response.status_code == 400 and "volgnummer" in response.get_data(as_text=True)


def test_an_id_beyond_the_end_of_the_log_starts_at_the_end_and_asks_for_a_reload(app, region, live):
    end = emit(live, live.prevention)
    client = client_for(app, region.teacher)
    got = read(client, live, headers={"Last-Event-ID": str(end + 1000)}, until=heartbeats(1))
    reload = [m for m in got if m.get("event") == "herladen"]
    assert len(reload) == 1 and reload[0]["id"] == str(end)
    assert ids(got) == []
    later = emit(live, live.prevention)
    assert ids(read(client, live, headers={"Last-Event-ID": reload[0]["id"]}, until=has(1))) == [later]


def test_outsiders_get_404_and_anonymous_visitors_the_login(app, region, live):
    url = f"/vergaderingen/{live.meeting.id}/stroom"
    assert client_for(app, region.outsider).get(url).status_code == 404
    assert client_for(app, region.outsider).get(f"/vergaderingen/{uuid.uuid4()}/stroom").status_code == 404
    assert client_for(app, region.teacher).get("/vergaderingen/geen-id/stroom").status_code == 404
    assert app.test_client().get(url).status_code == 302


# --- the stream's own life ----------------------------------------------------------------------

def test_the_stream_ends_when_the_login_session_ends(app, region, live):
    client = client_for(app, region.teacher)

    def logout_elsewhere(msgs: list[dict]) -> bool:
        if any(m.get("comment") == "hartslag" for m in msgs) and not getattr(logout_elsewhere, "done", False):
            for row in db.session.scalars(select(LoginSession).where(LoginSession.user_id == region.teacher.id)):
                row.ended_at = utcnow()
            db.session.commit()
            logout_elsewhere.done = True  # type: ignore[attr-defined]
        return any(m.get("event") == "einde" for m in msgs)

    got = read(client, live, until=logout_elsewhere, seconds=5)
    assert json.loads(got[-1]["data"]) == {"reden": "sessie"}


def test_the_stream_ends_after_its_lifetime_so_the_client_reconnects(app, region, live, monkeypatch):
    monkeypatch.setitem(app.config, "MEETING_STREAM_MAX_SECONDS", 0.3)
    started = time.monotonic()
    got = read(client_for(app, region.teacher), live, seconds=10)
    assert time.monotonic() - started < 3
    assert got[0] == {"retry": "2000"}


# --- the brokers --------------------------------------------------------------------------------

def test_the_in_process_broker_wakes_a_waiter_at_once_and_times_out_otherwise():
    broker = events.LocalBroker()
    meeting_id = uuid.uuid4()
    seen = broker.counter(meeting_id)
    started = time.monotonic()
    assert broker.wait(meeting_id, seen, 0.2) is False
    assert 0.15 < time.monotonic() - started < 1.0
    woke: list[float] = []

    def waiter() -> None:
        if broker.wait(meeting_id, seen, 5):
            woke.append(time.monotonic())

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.1)
    notified = time.monotonic()
    broker.notify(meeting_id)
    thread.join(5)
    assert woke and woke[0] - notified < 0.1
    # A notification before waiting is not lost: the counter was read first.
    assert broker.wait(meeting_id, seen, 0) is True


def until(condition, seconds: float = 10.0) -> None:
    """Wait (bounded) until ``condition()`` holds, e.g. until threads are asleep."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def test_one_wake_reaches_every_waiter_and_a_waiter_with_an_older_count_returns_at_once():
    broker = events.LocalBroker()
    meeting_id = uuid.uuid4()
    seen = broker.counter(meeting_id)
    woken: list[bool] = []

    def waiter() -> None:
        woken.append(broker.wait(meeting_id, seen, 30))

    threads = [threading.Thread(target=waiter) for _ in range(50)]
    for thread in threads:
        thread.start()
    until(lambda: len(broker._gates.get(str(meeting_id), ())) == 50)  # all fifty asleep
    broker.wake(meeting_id)
    for thread in threads:
        thread.join(10)
    assert woken == [True] * 50
    assert broker._gates == {}  # every gate was taken off when opened
    # Counter read before the wake, waiting after it: nothing to wait for, not even briefly.
    assert broker.wait(meeting_id, seen, 0) is True
    # A wait that times out leaves no gate behind.
    assert broker.wait(meeting_id, broker.counter(meeting_id), 0.05) is False
    assert broker._gates == {}


@pytest.mark.redis
def test_the_redis_broker_fans_out_between_processes_and_survives_a_lost_connection(redis_server):
    first, second = events.RedisBroker(redis_server.url), events.RedisBroker(redis_server.url)
    meeting_id = uuid.uuid4()
    try:
        assert first.ensure_listening(5) and second.ensure_listening(5)
        seen_first, seen_second = first.counter(meeting_id), second.counter(meeting_id)
        started = time.monotonic()
        first.notify(meeting_id)
        assert second.wait(meeting_id, seen_second, 2) and first.wait(meeting_id, seen_first, 2)
        assert time.monotonic() - started < 0.5
        other = uuid.uuid4()
        assert not second.wait(other, second.counter(other), 0.2)  # only the notified meeting wakes

        with redis.Redis.from_url(redis_server.url) as admin:
            admin.client_kill_filter(_type="pubsub")  # both listeners lose their connection
        deadline = time.monotonic() + 10
        seen = second.counter(meeting_id)
        while not second.wait(meeting_id, seen, 0.2):  # bounded: reconnect takes ~0.1-0.4 s
            assert time.monotonic() < deadline, "the listener did not come back"
            first.notify(meeting_id)
    finally:
        first.close()
        second.close()


def test_event_ids_follow_commit_order_when_two_chairs_act_at_once(app, region, live):
    """A stream sends "id > the last one sent": an id taken early but committed late would be
    skipped. The second writer must wait for the first, so ids follow commit order."""
    inserted, release = threading.Event(), threading.Event()
    first: dict[str, float] = {}
    meeting_id, section_id = live.meeting.id, live.prevention.id
    db.session.rollback()  # SQLite: this session's open transaction would hold the write lock

    def slow_chair() -> None:
        with app.app_context():
            meeting = db.session.get(Meeting, meeting_id)
            event = ops.publish(meeting, "agenda_changed", section_id=section_id)
            db.session.flush()  # the id is taken; the transaction stays open
            first["id"] = event.id
            inserted.set()
            release.wait(5)
            time.sleep(0.3)
            db.session.commit()
            first["committed"] = time.monotonic()
            db.session.remove()

    thread = threading.Thread(target=slow_chair)
    thread.start()
    try:
        assert inserted.wait(10)
        release.set()
        second = emit(live, live.justice)  # blocks until the slow chair commits
        done = time.monotonic()
    finally:
        thread.join(15)
    assert second > first["id"] and done >= first["committed"]


# --- the shared log tail: one read and one broker wait per meeting and process ------------------

def _log_reads(app: Flask) -> tuple[list[str], object]:
    """Reads of the event log's new rows (``id > ...``, in id order) from now on, in any
    thread; and the listener to remove."""
    seen: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):  # SQLAlchemy hook signature
        if "FROM meeting_event" in statement and "ORDER BY meeting_event.id" in statement:
            seen.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", listen)
    return seen, listen


def test_a_notification_wakes_every_waiting_stream_after_one_read_of_the_log(app, region, live):
    from meetings.views.stream import LogTail

    db.session.commit()
    tail = LogTail(live.meeting.id, events.broker(app))
    held = tail.current(60)
    got: list[list[int]] = []

    def stream() -> None:
        with app.app_context():
            tail.wait(held, 30)
            got.append(tail.current(60).ids)
            db.session.remove()

    threads = [threading.Thread(target=stream) for _ in range(20)]
    for thread in threads:
        thread.start()
    until(lambda: tail._leading and len(tail._gates) == 19)  # one leads, nineteen sleep on gates
    reads, listener = _log_reads(app)
    try:
        new = emit(live, live.prevention)
        db.session.rollback()  # SQLite: reading the id began a transaction, which holds the write lock
        for thread in threads:
            thread.join(10)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", listener)
    assert got == [[new]] * 20
    assert len(reads) == 1  # the leader's read; the others took the rows from the tail
    assert not tail._leading and tail._gates == {}


def test_a_waiting_stream_takes_over_the_lead_when_the_leader_stops_waiting(app, region, live):
    from meetings.views.stream import LogTail

    db.session.commit()
    tail = LogTail(live.meeting.id, events.broker(app))
    held = tail.current(60)
    newer: list[bool] = []

    def stream(timeout: float) -> None:
        with app.app_context():
            tail.wait(held, timeout)
            newer.append(tail.held is not held)
            db.session.remove()

    leader = threading.Thread(target=stream, args=(0.2,))
    leader.start()
    until(lambda: tail._leading)
    follower = threading.Thread(target=stream, args=(30,))
    follower.start()
    until(lambda: len(tail._gates) == 1)
    leader.join(10)  # its own timeout passed, with nothing new: it hands the lead on
    assert newer == [False]
    emit(live, live.prevention)
    db.session.rollback()  # SQLite: reading the id began a transaction, which holds the write lock
    follower.join(10)  # woken by the notification, long before its own 30 s
    assert not follower.is_alive() and newer == [False, True]


def test_a_notification_before_the_wait_is_not_lost(app, region, live):
    from meetings.views.stream import LogTail

    db.session.commit()
    tail = LogTail(live.meeting.id, events.broker(app))
    held = tail.current(60)
    new = emit(live, live.prevention)  # committed and notified while nobody waits
    tail.wait(held, 30)  # leads: the broker's count is past the one the rows were read at
    assert tail.held is not held and tail.held.ids == [new]


def test_a_stream_behind_what_the_tail_dropped_reads_the_rest_from_the_database(app, region, live, monkeypatch):
    from meetings.views import stream

    monkeypatch.setattr(stream, "TAIL_ROWS", 2)
    db.session.commit()
    tail = stream.LogTail(live.meeting.id, events.broker(app))
    held = tail.current(60)
    sub = stream.Subscriber(live.meeting.id, region.teacher.id, None, {live.prevention.id}, held.top)
    made = [emit(live, live.prevention if n != 2 else live.justice) for n in range(5)]
    held = tail.current(0)  # read again: five new rows, of which the tail keeps two
    assert held.ids == made[-2:] and sub.scanned < held.floor
    text, more = stream._read(sub, held)
    assert ids(parse(text)) == [m for n, m in enumerate(made) if n != 2] and not more
    assert sub.scanned == made[-1]
