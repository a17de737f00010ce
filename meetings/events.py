"""The live-meeting broker: "notify, then fetch".

Decision (issue 5, item 8): events carry ids only (event id, kind, item id, section id).
The source of truth is the meeting's event log in the database (:class:`MeetingEvent`,
whose autoincrement id is the SSE id); a screen that hears of an event re-fetches its view
through the privacy gate. So nothing here ever holds content: the broker only says "the
log of meeting M grew", and a stream then reads the log itself, filtered by what its
subscriber is admitted to. A lost notification therefore costs latency, never an event:
the next wake-up, heartbeat or reconnect reads the log again.

Two brokers with one interface:

* :class:`LocalBroker` (no ``REDIS_URL``): in this process. Each waiter sleeps on a lock of
  its own that a notification opens (no polling, and no shared lock for the woken threads
  to queue on).
* :class:`RedisBroker` (``REDIS_URL``): :func:`notify` publishes the meeting id on one
  Redis channel; one daemon subscriber thread per process (started lazily, restarted after
  a fork, reconnecting with bounded back-off) wakes the local waiters. Several gunicorn
  processes fan out through Redis. Only meeting ids travel through Redis.

Waiting uses a per-meeting notification counter rather than an event id, because a
notification names only the meeting: the reader of the log reads :meth:`Broker.counter`
*before* it reads the log and then waits for the counter to pass that value, so a
notification that arrives between reading the log and going to sleep is never missed. (In a
process, one stream per meeting waits here and reads the log for all of the meeting's
streams: ``LogTail`` in ``meetings.views.stream``.)
"""

from __future__ import annotations

import abc
import logging
import os
import threading
import uuid
from typing import Any

import redis
from flask import Flask, current_app
from sqlalchemy import event, text

from meetings.models import MeetingEvent
from privacy.audit import AUDIT_LOCK_KEY

CHANNEL = "netwerk:meeting-events"
EXTENSION = "netwerk.meeting_broker"
BACKOFF_FIRST, BACKOFF_MAX = 0.1, 5.0  # seconds between reconnect attempts to Redis
log = logging.getLogger(__name__)
_MAKE_LOCK = threading.Lock()


class Broker(abc.ABC):
    """Per-meeting notification counters in this process, and waiting on them; the
    subclasses decide how a notification reaches them (in process, or through Redis).

    Each waiter sleeps on a lock of its own (a "gate", held until it is woken), registered
    under the meeting; :meth:`wake` bumps the counter and opens every registered gate. So a
    woken waiter runs on at once, with no shared lock to take again (after
    ``Condition.notify_all`` every woken thread re-acquires the one condition lock, in turn).
    The streams of a meeting do not all wait here: per process, one of them does, on behalf
    of the others (``LogTail`` in ``meetings.views.stream``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the two dicts; held only for a few operations
        self._counters: dict[str, int] = {}
        self._gates: dict[str, set[threading.Lock]] = {}  # per meeting: the closed gates of its waiters

    def counter(self, meeting_id: uuid.UUID | str) -> int:
        """The meeting's notification count so far: read it *before* reading the log."""
        with self._lock:
            return self._counters.get(str(meeting_id), 0)

    def wait(self, meeting_id: uuid.UUID | str, after: int, timeout: float) -> bool:
        """Block until the meeting is notified past ``after`` (True) or ``timeout`` passes.

        Returns at once when the count has passed ``after`` already: a notification that
        came between reading the counter and calling this is not lost."""
        key = str(meeting_id)
        gate = threading.Lock()
        gate.acquire()  # closed: wake() opens it
        with self._lock:
            if self._counters.get(key, 0) > after:
                return True
            if timeout <= 0:
                return False
            self._gates.setdefault(key, set()).add(gate)
        if gate.acquire(timeout=min(timeout, threading.TIMEOUT_MAX)):
            return True  # opened by wake(), which also took it off the meeting's set
        with self._lock:  # timed out: take the gate off, unless a wake() just opened it
            gates = self._gates.get(key)
            if gates is not None:
                gates.discard(gate)
                if not gates:
                    del self._gates[key]
            return self._counters.get(key, 0) > after

    def wake(self, meeting_id: uuid.UUID | str) -> None:
        """Tell this process's waiters on the meeting that its log grew."""
        key = str(meeting_id)
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + 1
            gates = self._gates.pop(key, ())
        for gate in gates:  # each gate is in one set once, so it is opened once
            gate.release()

    def wake_all(self) -> None:
        """Wake every waiter (after a gap in Redis delivery: anything may have changed)."""
        with self._lock:
            keys = list(self._counters.keys() | self._gates.keys())
        for key in keys:
            self.wake(key)

    @abc.abstractmethod
    def notify(self, meeting_id: uuid.UUID | str) -> None:
        """Tell every process's waiters on this meeting that its log has grown."""

    def close(self) -> None:  # noqa: B027 - optional: only a broker with threads has work here
        """Stop background threads (tests and benches; a server process just exits)."""


class LocalBroker(Broker):
    """Embedded mode: one process, so notifying is waking."""

    def notify(self, meeting_id: uuid.UUID | str) -> None:
        self.wake(meeting_id)


class RedisBroker(Broker):
    """Fan-out between processes through Redis pub/sub (meeting ids only)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self._publisher = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stop = threading.Event()
        self._subscribed = threading.Event()  # set while the listener is subscribed

    def notify(self, meeting_id: uuid.UUID | str) -> None:
        try:
            self._publisher.publish(CHANNEL, str(meeting_id))
        except redis.RedisError:
            # Other processes learn of it at their next heartbeat or reconnect (they re-read
            # the log then); this process's own waiters need not wait that long.
            log.warning("meeting event not published to Redis; waking local streams only")
            self.wake(meeting_id)

    def counter(self, meeting_id: uuid.UUID | str) -> int:
        self.ensure_listening()
        return super().counter(meeting_id)

    def ensure_listening(self, timeout: float = 0.0) -> bool:
        """Start this process's listener thread if needed (after a fork, the parent's
        thread does not exist here); optionally wait until it is subscribed."""
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid, self._stop = os.getpid(), threading.Event()
                self._subscribed = threading.Event()
                self._thread = threading.Thread(target=self._listen, name="netwerk-meeting-events", daemon=True)
                self._thread.start()
        return self._subscribed.wait(timeout) if timeout else self._subscribed.is_set()

    def _listen(self) -> None:
        backoff = BACKOFF_FIRST
        while not self._stop.is_set():
            try:
                self._listen_once()
                backoff = BACKOFF_FIRST
            except (redis.RedisError, OSError):
                log.warning("meeting event listener lost Redis; retrying in %.1f s", backoff)
            self._subscribed.clear()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    def _listen_once(self) -> None:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=5, health_check_interval=30)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(CHANNEL)
            self._subscribed.set()
            # Notifications may have been lost while we were not subscribed: every stream
            # re-reads its log once (cheap, and the log is the truth).
            self.wake_all()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    self.wake(message["data"].decode("ascii", "replace"))
        finally:
            pubsub.close()
            client.close()

    def close(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(5)
        self._publisher.close()


def make_broker(app: Flask) -> Broker:
    url = app.config.get("REDIS_URL")
    return RedisBroker(url) if url else LocalBroker()


def broker(app: Flask | None = None) -> Broker:
    """This app's broker, made on first use (in the serving process, after any fork)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(EXTENSION)
    if found is None:
        with _MAKE_LOCK:
            found = app.extensions.get(EXTENSION)
            if found is None:
                found = app.extensions[EXTENSION] = make_broker(app)
    return found



def notify(meeting_id: uuid.UUID | str) -> None:
    """The meeting's log grew: call after commit only (see ``meetings.operations.publish``)."""
    broker().notify(meeting_id)


def wait(meeting_id: uuid.UUID | str, after: int, timeout: float) -> bool:
    """Block until a notification for the meeting passes counter ``after``, or time out."""
    return broker().wait(meeting_id, after, timeout)


# --- ids in commit order ---------------------------------------------------------------------
# A stream reads "events with id > the last one sent". On PostgreSQL two transactions can
# take ids 10 and 11 and commit 11 first; a stream reading then would move past 10 and never
# send it. Taking the audit chain's transaction lock before inserting an event makes
# event-writing transactions take their ids in commit order. It is that lock (and no new
# one) because every operation that publishes also writes an audit entry under it: a second
# lock taken in the other order would deadlock. SQLite serialises writers already.

@event.listens_for(MeetingEvent, "before_insert")
def _ids_in_commit_order(mapper: Any, connection: Any, target: MeetingEvent) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
