"""The live-meeting broker: "notify, then fetch".

Decision (issue 5, item 8): events carry ids only (event id, kind, item id, section id).
The source of truth is the meeting's event log in the database (:class:`MeetingEvent`,
whose autoincrement id is the SSE id); a screen that hears of an event re-fetches its view
through the privacy gate. So nothing here ever holds content: the broker only says "the
log of meeting M grew", and a stream then reads the log itself, filtered by what its
subscriber is admitted to. A lost notification therefore costs latency, never an event:
the next wake-up, heartbeat or reconnect reads the log again.

Two brokers with one interface:

* :class:`LocalBroker` (no ``REDIS_URL``): a ``threading.Condition`` per meeting in this
  process. Waiters sleep on the condition (no polling).
* :class:`RedisBroker` (``REDIS_URL``): :func:`notify` publishes the meeting id on one
  Redis channel; one daemon subscriber thread per process (started lazily, restarted after
  a fork, reconnecting with bounded back-off) wakes the local waiters. Several gunicorn
  processes fan out through Redis. Only meeting ids travel through Redis.

Waiting uses a per-meeting notification counter rather than an event id, because a
notification names only the meeting: a stream reads :meth:`Broker.counter` *before* it
reads the log and then waits for the counter to pass that value, so a notification that
arrives between reading the log and going to sleep is never missed.
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
    subclasses decide how a notification reaches them (in process, or through Redis)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conditions: dict[str, threading.Condition] = {}
        self._counters: dict[str, int] = {}

    def _condition(self, key: str) -> threading.Condition:
        with self._lock:
            cond = self._conditions.get(key)
            if cond is None:
                cond = self._conditions[key] = threading.Condition()
                self._counters.setdefault(key, 0)
            return cond

    def counter(self, meeting_id: uuid.UUID | str) -> int:
        """The meeting's notification count so far: read it *before* reading the log."""
        key = str(meeting_id)
        with self._condition(key):
            return self._counters[key]

    def wait(self, meeting_id: uuid.UUID | str, after: int, timeout: float) -> bool:
        """Block until the meeting is notified past ``after`` (True) or ``timeout`` passes."""
        key = str(meeting_id)
        cond = self._condition(key)
        with cond:
            return cond.wait_for(lambda: self._counters[key] > after, timeout)

    def wake(self, meeting_id: uuid.UUID | str) -> None:
        """Tell this process's waiters on the meeting that its log grew."""
        key = str(meeting_id)
        cond = self._condition(key)
        with cond:
            self._counters[key] += 1
            cond.notify_all()

    def wake_all(self) -> None:
        """Wake every waiter (after a gap in Redis delivery: anything may have changed)."""
        with self._lock:
            keys = list(self._conditions)
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
