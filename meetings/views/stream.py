"""The meeting's event stream (Server-Sent Events): "notify, then fetch".

Each message names a committed event of the meeting's log by id only::

    id: 42
    event: agenda_changed
    data: {"item": "<uuid or null>", "section": "<uuid or null>"}

and only for events of the sections the subscriber is admitted to (or of the whole
meeting, ``section_id`` NULL) — on replay as well. The screen then re-fetches its view
through the privacy gate, so no content ever travels here (see ``meetings.events``).

Resuming: the ``Last-Event-ID`` header (sent by EventSource on reconnect), else ``?na=<id>``
(the id the page was rendered at), else the log's current end. Anything but a plain
non-negative integer of at most 18 digits is refused with 400 and a Dutch message. A
number beyond the log's end (a database restored from an older backup, a reset demo)
starts from the end, announced with an ``herladen`` message so the screen fetches its
whole view again: the client's idea of the log is not this log's.

In a process, the streams of one meeting share one reading of its log and one wait for
the broker (:class:`LogTail`): a notification wakes one of them, which reads the new rows
once; the others wake when the rows are there and take their messages from memory, each
message rendered once.

A stream holds no database transaction while it waits (it ends the transaction after each
read), sends a heartbeat comment every ``MEETING_STREAM_HEARTBEAT_SECONDS`` (default 15)
to keep proxies from closing it, re-checks at each heartbeat that the login session is
still alive, the user still admitted and the meeting still there, and ends after
``MEETING_STREAM_MAX_SECONDS`` (default 600) so that the client reconnects with its
``Last-Event-ID`` (which also spreads streams over restarted or added processes). When
the stream may not go on (session ended or expired, user deactivated, no longer admitted,
meeting deleted) it sends ``event: einde`` with ``{"reden": "sessie" | "toegang" |
"vergadering"}`` and closes: the page should close its EventSource (a reconnect would get
the login page or a 404 anyway). A stream is not user activity: it does not extend the
login session's idle time (the re-fetches it causes do).
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from flask import Response, current_app, request, session, stream_with_context
from flask_login import current_user
from sqlalchemy import func, select

from meetings import events
from meetings.models import Meeting, MeetingEvent
from meetings.policy import admitted_section_ids
from meetings.views import bp
from meetings.views.overleggen import visible_meeting
from netwerk.db import db, utcnow
from netwerk.models import LoginSession, User
from netwerk.web import permission_required

HEARTBEAT_SECONDS = 15.0
MAX_SECONDS = 600.0
RETRY_MS = 2000
BATCH = 500  # events per read: a long replay is sent in pieces, each in its own transaction
_EVENT_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits (\d would take "٣"); below 2**63
BAD_ID = ("Ongeldige Last-Event-ID: verwacht een volgnummer (een geheel getal van 0 of hoger). "
          "Laad de pagina opnieuw.")


@dataclass
class Subscriber:
    """What a stream needs between reads: plain values, no ORM objects (the session is
    ended after every read)."""

    meeting_id: uuid.UUID
    user_id: uuid.UUID
    login_session_id: str | None
    sections: set[uuid.UUID]
    scanned: int  # the last event id looked at (sent, or not for this subscriber's sections)


def _start_id(meeting_id: uuid.UUID) -> tuple[int, bool] | str:
    """Where to resume, and whether the client is beyond the log's end; or a refusal."""
    raw = request.headers.get("Last-Event-ID")
    if raw is None:
        raw = request.args.get("na")
    end = db.session.scalar(select(func.coalesce(func.max(MeetingEvent.id), 0)))
    if raw is None:
        return end, False
    raw = raw.strip()
    if not _EVENT_ID.fullmatch(raw):
        return BAD_ID
    wanted = int(raw)
    return (end, True) if wanted > end else (wanted, False)


def _message(event_id: int | None, kind: str, item: uuid.UUID | None, section: uuid.UUID | None) -> str:
    data = json.dumps({"item": str(item) if item else None, "section": str(section) if section else None})
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {data}\n\n"


Row = tuple[int, str, uuid.UUID | None, uuid.UUID | None]  # id, kind, item, section
Entry = tuple[uuid.UUID | None, str]  # an event's section and its message (the same for every subscriber)
TAIL_ROWS = 1000  # per meeting and process: a stream further behind reads the database itself


def _entries(rows: list[Row]) -> list[Entry]:
    return [(r[3], _message(*r)) for r in rows]


@dataclass(frozen=True)
class Held:
    """The rows a :class:`LogTail` holds at one moment; never changed, only replaced, so a
    stream reads it without a lock. ``ids`` ascend; ``entries`` match them one for one."""

    floor: int  # complete above this: every row of the meeting in (floor, top] is held
    ids: list[int]
    entries: list[Entry]

    @property
    def top(self) -> int:
        return self.ids[-1] if self.ids else self.floor


class LogTail:
    """The recent end of one meeting's log, shared by this process's streams of it, and
    their waiting for it to grow.

    Without it, one notification makes every stream query the database at once (200
    streams: 200 queries queueing for a pool of 15 connections). With it, one stream reads
    the new rows once and the others take them from here. It holds what the stream sends
    anyway (ids and kinds, never content), each row's message rendered once: it names ids
    only, so it is the same text for every subscriber, and each stream picks the messages
    of the sections it is admitted to.

    Waiting: of the streams waiting for the tail to grow, exactly one *leads*: it waits on
    the broker, and when notified reads the new rows and publishes them, which opens the
    gate (a lock of its own) each other stream sleeps on. So a notification wakes one
    thread, which reads the database without 199 others competing for the interpreter, and
    the rest wake to rows that are ready (no shared lock to queue on). A leader that stops
    waiting without new rows (its own timeout) hands the lead to one waiting stream. The
    leader waits for the broker's count past :attr:`counter`, read before the rows were, so
    no notification falls in between.
    """

    def __init__(self, meeting_id: uuid.UUID, broker: events.Broker) -> None:
        self.meeting_id, self.broker = meeting_id, broker
        self.lock = threading.Lock()  # one database read at a time
        self._mutex = threading.Lock()  # guards what follows; never held while reading or waiting
        self.held: Held | None = None
        self.counter = -1  # the broker's count the held rows are fresh for
        self.read_at = 0.0
        self._leading = False
        self._gates: dict[threading.Lock, None] = {}  # the waiting streams' closed gates, oldest first
        self._handed: threading.Lock | None = None  # the gate of the waiter the lead was handed to

    def current(self, max_age: float) -> Held:
        """The held rows, read again if older than ``max_age`` (the heartbeat): a
        notification lost on the way (Redis down for a moment) then costs a heartbeat or
        two, never an event."""
        held = self.held
        if held is None or time.monotonic() - self.read_at > max_age:
            held = self._refresh(lambda: self.held is None or time.monotonic() - self.read_at > max_age)
        return held

    def wait(self, held: Held, timeout: float) -> None:
        """Return once rows newer than ``held`` are published, or after ``timeout``."""
        deadline = time.monotonic() + timeout
        gate = threading.Lock()
        gate.acquire()  # closed: a publication (or a hand-over of the lead) opens it
        with self._mutex:
            if self.held is not held:
                return
            lead = not self._leading
            if lead:
                self._leading = True
            else:
                self._gates[gate] = None
        if not lead:
            opened = gate.acquire(timeout=min(max(0.0, timeout), threading.TIMEOUT_MAX))
            if opened and self._handed is not gate:
                return  # new rows (a gate is handed the lead before it is opened, so this read is safe)
            with self._mutex:
                if self._handed is gate:
                    self._handed, lead = None, True
                else:
                    self._gates.pop(gate, None)  # timed out (or opened just now by new rows)
            if not lead:
                return
        self._lead(held, deadline)

    def _lead(self, held: Held, deadline: float) -> None:
        try:
            with self._mutex:
                current, count = self.held, self.counter
            if current is held and self.broker.wait(self.meeting_id, count, max(0.0, deadline - time.monotonic())):
                wanted = self.broker.counter(self.meeting_id)
                self._refresh(lambda: self.counter < wanted)  # unless a stream has read the log since
        finally:
            with self._mutex:
                handed = None
                if self._gates:  # publishing new rows opened them all; else one takes the lead over
                    handed = self._handed = next(iter(self._gates))
                    del self._gates[handed]
                else:
                    self._leading = False
            if handed is not None:
                handed.release()

    def _refresh(self, stale: Callable[[], bool]) -> Held:
        """Read the new rows and publish them, unless ``stale()`` says another stream just did."""
        with self.lock:
            held = self.held
            if held is not None and not stale():
                return held
            seen = self.broker.counter(self.meeting_id)  # before reading: no notification falls in between
            read_at = time.monotonic()
            new = self._read(held)
            with self._mutex:
                self.held, self.counter, self.read_at = new, max(self.counter, seen), read_at
                opened: list[threading.Lock] = []
                if new is not held:
                    opened, self._gates = list(self._gates), {}
            for gate in opened:
                gate.release()
            return new

    def _read(self, held: Held | None) -> Held:
        if held is None:  # first use: start at the log's end, with nothing held yet
            return Held(_meeting_end(self.meeting_id), [], [])
        rows = _rows(self.meeting_id, held.top, limit=None)
        if not rows:
            return held
        ids, entries, floor = held.ids + [r[0] for r in rows], held.entries + _entries(rows), held.floor
        if len(ids) > TAIL_ROWS:
            cut = len(ids) - TAIL_ROWS
            floor, ids, entries = ids[cut - 1], ids[cut:], entries[cut:]
        return Held(floor, ids, entries)


_TAILS_LOCK = threading.Lock()


def _tail(meeting_id: uuid.UUID) -> LogTail:
    tails = current_app.extensions.setdefault("netwerk.meeting_log_tails", {})
    with _TAILS_LOCK:
        tail = tails.get(meeting_id)
        if tail is None:
            tail = tails[meeting_id] = LogTail(meeting_id, events.broker())
        return tail


def _meeting_end(meeting_id: uuid.UUID) -> int:
    try:
        return db.session.scalar(select(func.coalesce(func.max(MeetingEvent.id), 0))
                                 .where(MeetingEvent.meeting_id == meeting_id))
    finally:
        db.session.rollback()


def _rows(meeting_id: uuid.UUID, after: int, limit: int | None) -> list[Row]:
    """The meeting's events after ``after`` (every section); ends the transaction, so no
    transaction (or pooled connection) is held while the stream waits."""
    query = (select(MeetingEvent.id, MeetingEvent.kind, MeetingEvent.item_id, MeetingEvent.section_id)
             .where(MeetingEvent.meeting_id == meeting_id, MeetingEvent.id > after).order_by(MeetingEvent.id))
    try:
        return [tuple(r) for r in db.session.execute(query.limit(limit))]  # type: ignore[misc]
    finally:
        db.session.rollback()


def _read(sub: Subscriber, held: Held) -> tuple[str, bool]:
    """The messages for the admitted events after the cursor (as one piece of text, written
    at once), and whether more are waiting."""
    more = False
    if sub.scanned < held.floor:  # replaying from further back than this process holds
        rows = _rows(sub.meeting_id, sub.scanned, BATCH)
        more = len(rows) == BATCH
        entries = _entries(rows)
        if rows:
            sub.scanned = rows[-1][0]
    else:
        start = bisect.bisect_right(held.ids, sub.scanned)
        entries = held.entries[start:]
        if entries:
            sub.scanned = held.ids[-1]
    sections = sub.sections
    return "".join(message for section, message in entries if section is None or section in sections), more


def _still_admitted(sub: Subscriber) -> str | None:
    """None while the stream may go on; else why it ends (a code, never content)."""
    try:
        cfg = current_app.config
        login = db.session.get(LoginSession, sub.login_session_id) if sub.login_session_id else None
        now = utcnow()
        if (login is None or login.ended_at is not None or login.user_id != sub.user_id
                or now - login.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
                or now - login.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])):
            return "sessie"
        user = db.session.get(User, sub.user_id)
        if user is None or not user.active:
            return "sessie"
        meeting = db.session.get(Meeting, sub.meeting_id)
        if meeting is None:
            return "vergadering"
        sub.sections = admitted_section_ids(user, meeting.overleg)
        return None if sub.sections else "toegang"
    finally:
        db.session.rollback()


def _events(sub: Subscriber, beyond_end: bool, still_admitted: Callable[[Subscriber], str | None] | None = None,
            after_batch: Callable[[Subscriber], None] | None = None) -> Iterator[str]:
    """The stream loop: replay, then wait for the broker's wake-ups; every heartbeat asks
    ``still_admitted`` (default: the login session and the sections) whether to go on, and
    ``after_batch`` may re-read what the subscriber is admitted to after events."""
    still_admitted = still_admitted or _still_admitted
    cfg = current_app.config
    heartbeat = float(cfg.get("MEETING_STREAM_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))
    ends_at = time.monotonic() + float(cfg.get("MEETING_STREAM_MAX_SECONDS", MAX_SECONDS))
    yield f"retry: {RETRY_MS}\n\n"
    if beyond_end:
        yield _message(sub.scanned, "herladen", None, None)
    tail = _tail(sub.meeting_id)
    next_check = time.monotonic() + heartbeat
    while time.monotonic() < ends_at:
        held = tail.current(heartbeat)
        batch, more = _read(sub, held)
        if batch:
            yield batch
            if after_batch:
                after_batch(sub)
        if more:
            continue  # a long replay, sent in pieces
        if time.monotonic() >= next_check:  # also while events flow: a busy meeting is re-checked too
            reason = still_admitted(sub)
            if reason:
                yield f"event: einde\ndata: {json.dumps({'reden': reason})}\n\n"
                return
            yield ": hartslag\n\n"
            next_check = time.monotonic() + heartbeat
        tail.wait(held, max(0.0, min(next_check, ends_at) - time.monotonic()))


@bp.route("/vergaderingen/<meeting_id>/stroom")
@permission_required("meetings.view")
def stream(meeting_id: str) -> Response:
    meeting = visible_meeting(meeting_id)
    start = _start_id(meeting.id)
    if isinstance(start, str):
        db.session.rollback()
        return Response(start + "\n", status=400, mimetype="text/plain",
                        headers={"Cache-Control": "no-store"})
    cursor, beyond_end = start
    sub = Subscriber(meeting.id, current_user.id, session.get("sid"),
                     admitted_section_ids(current_user, meeting.overleg), cursor)
    db.session.rollback()
    return Response(stream_with_context(_events(sub, beyond_end)), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
