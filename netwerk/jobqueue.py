"""The job queue: real Redis with ``rq worker`` processes, or an embedded runtime.

Jobs are named by dotted path and take ids only (Redis is not encrypted at rest); each
runs inside an app context and commits at its own end. They must be idempotent: delivery
is at-least-once, and callers pass a deterministic ``job_id`` so a job queued twice for the
same thing runs once.

Embedded mode (no ``REDIS_URL``): one in-process fakeredis server shared by the app, an rq
worker thread and a scheduler thread. rq's own fork-based scheduler and signal handling
cannot work in a thread (a fork of in-memory fakeredis shares nothing; signals only reach
the main thread), so both are adapted here. ``Queue(is_async=False)`` is not used: it
never runs scheduled jobs or retries.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from datetime import timedelta
from typing import Any

import fakeredis
import redis
from flask import Flask, current_app, has_app_context
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.scheduler import RQScheduler
from rq.timeouts import TimerDeathPenalty

from netwerk.db import db

QUEUE_NAME = "netwerk"
_START_LOCK = threading.Lock()
log = logging.getLogger(__name__)


# Jobs that run on a calendar, with their period. A tick (every scheduler second in
# embedded mode, every minute beside a real worker) claims the current period with SET NX
# in Redis, so however many processes tick, each period's job is queued once.
PERIODIC: list[tuple[str, timedelta]] = [
    ("netwerk.jobs.expire_involvements", timedelta(days=1)),
    ("netwerk.jobs.remind_actions", timedelta(days=1)),
    ("privacy.jobs.verify_audit_chain", timedelta(days=1)),
    ("privacy.jobs.retention_dry_run", timedelta(days=1)),
    ("escalation.jobs.run_daily_scan", timedelta(days=1)),
    ("privacy.jobs.compute_review_flags", timedelta(hours=1)),
    ("escalation.jobs.level_up_overdue", timedelta(days=1)),
]


def connection() -> redis.Redis:
    return current_app.extensions["netwerk.redis"]


def get_queue() -> Queue:
    return Queue(QUEUE_NAME, connection=connection())


def enqueue(path: str, *args: object, job_id: str | None = None,
            delay: timedelta | None = None) -> Job:
    """Queue ``path(*args)``. A job id already queued or running is not queued again."""
    queue = get_queue()
    kwargs: dict[str, Any] = {"job_id": job_id, "result_ttl": 3600, "failure_ttl": 7 * 86400}
    existing = queue.fetch_job(job_id) if job_id else None
    if existing is not None and existing.get_status(refresh=True) in {"queued", "started", "scheduled", "deferred"}:
        return existing
    if delay:
        return queue.enqueue_in(delay, run_job, path, *args, **kwargs)
    return queue.enqueue(run_job, path, *args, **kwargs)


def enqueue_periodic(now: float | None = None) -> list[str]:
    """Queue each periodic job whose current period has not been claimed yet."""
    now = time.time() if now is None else now
    queued = []
    for path, period in PERIODIC:
        seconds = int(period.total_seconds())
        index = int(now // seconds)
        if connection().set(f"netwerk:periodic:{path}:{index}", 1, nx=True, ex=2 * seconds):
            enqueue(path, job_id=f"periodic-{path.replace('.', '_')}-{index}")
            queued.append(path)
    return queued


_PROCESS_APP: Flask | None = None


def _app_for_process() -> Flask:
    """The app an ``rq worker`` process runs jobs in, built once per process."""
    global _PROCESS_APP
    if _PROCESS_APP is None:
        # Imported here, not at the top: netwerk/__init__ (create_app) imports this module
        # through its wiring, and only a bare `rq worker` process ever gets here.
        from netwerk import create_app  # noqa: PLC0415

        _PROCESS_APP = create_app()
    return _PROCESS_APP


def run_job(path: str, *args: object) -> object:
    """Entry point of every job: resolve ``path``, run it in an app context, commit."""
    module_name, _, func_name = path.rpartition(".")
    if module_name.split(".")[0] not in {"netwerk", "privacy", "meetings", "escalation"}:
        raise ValueError(f"refusing to run {path!r}")
    func = getattr(importlib.import_module(module_name), func_name)
    if has_app_context():
        return _run_in_transaction(func, args)
    with _app_for_process().app_context():
        return _run_in_transaction(func, args)


def _run_in_transaction(func: Any, args: tuple) -> object:
    try:
        result = func(*args)
        db.session.commit()
        return result
    except BaseException:
        db.session.rollback()
        raise
    finally:
        db.session.remove()


# --- embedded runtime ---------------------------------------------------------------------

class EmbeddedWorker(SimpleWorker):
    """An rq worker that runs in a thread of the app process."""

    death_penalty_class = TimerDeathPenalty

    def __init__(self, *args: Any, app: Flask, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app

    def _install_signal_handlers(self) -> None:
        """Signals only reach the main thread; the runtime stops us with ``stop()``."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        with self.app.app_context():
            super().execute_job(job, queue)


class EmbeddedRuntime:
    """The worker and scheduler threads of embedded mode."""

    def __init__(self, app: Flask, server: fakeredis.FakeServer) -> None:
        self.app = app
        self.server = server
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.worker: EmbeddedWorker | None = None

    def start(self) -> None:
        conn = fakeredis.FakeRedis(server=self.server)
        self.worker = EmbeddedWorker([QUEUE_NAME], connection=conn, app=self.app)
        self._threads = [
            threading.Thread(target=self._work, name="netwerk-worker", daemon=True),
            threading.Thread(target=self._schedule, args=(conn,), name="netwerk-scheduler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        # rq's work() loop only notices a stop request between jobs and otherwise waits
        # for a job indefinitely; this loop wakes every second so stop() takes effect.
        worker = self.worker
        assert worker is not None
        worker.bootstrap(logging_level="WARNING")
        try:
            while not self._stop.is_set():
                result = worker.dequeue_job_and_maintain_ttl(timeout=1, max_idle_time=1)
                if result is not None:
                    worker.execute_job(*result)
                    worker.heartbeat()
        finally:
            worker.teardown()

    def _schedule(self, conn: redis.Redis) -> None:
        scheduler = RQScheduler([QUEUE_NAME], connection=conn, interval=1)
        while not self._stop.is_set():
            try:
                scheduler.acquire_locks()
                scheduler.enqueue_scheduled_jobs()
                with self.app.app_context():
                    enqueue_periodic()
            except redis.RedisError:  # pragma: no cover - in-memory server; keep the thread alive
                log.exception("embedded scheduler tick failed")
            self._stop.wait(1.0)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)


def init_app(app: Flask) -> None:
    """Give the app its Redis connection and, in embedded mode, its fake server."""
    url = app.config.get("REDIS_URL")
    if url:
        app.extensions["netwerk.redis"] = redis.Redis.from_url(url)
        return
    server = fakeredis.FakeServer()
    app.extensions["netwerk.fake_redis_server"] = server
    app.extensions["netwerk.redis"] = fakeredis.FakeRedis(server=server)


def start_embedded(app: Flask) -> EmbeddedRuntime | None:
    """Start the embedded worker once for ``app`` (no-op with real Redis)."""
    if app.config.get("REDIS_URL"):
        return None
    with _START_LOCK:  # two first requests at once must not start two workers
        runtime = app.extensions.get("netwerk.embedded_runtime")
        if runtime is None:
            runtime = EmbeddedRuntime(app, app.extensions["netwerk.fake_redis_server"])
            runtime.start()
            app.extensions["netwerk.embedded_runtime"] = runtime
    return runtime


def run_worker(app: Flask, burst: bool = False) -> None:
    """``flask --app netwerk jobs worker``: an rq worker with the scheduler.

    A SimpleWorker runs jobs in this process, so the app and its connection pool are
    built once instead of in a forked child per job (a pool must not cross a fork).
    """
    global _PROCESS_APP
    _PROCESS_APP = app
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            with app.app_context():
                enqueue_periodic()
            stop.wait(60)

    if not burst:
        threading.Thread(target=tick, name="netwerk-periodic", daemon=True).start()
    try:
        with app.app_context():
            SimpleWorker([QUEUE_NAME], connection=connection()).work(with_scheduler=True, burst=burst)
    finally:
        stop.set()


def drain(app: Flask) -> int:
    """Run every queued job now, in this thread (embedded mode's CLI commands: their
    in-memory queue ends with the process)."""
    if app.config.get("REDIS_URL"):
        return 0
    worker = EmbeddedWorker([QUEUE_NAME], connection=app.extensions["netwerk.redis"], app=app)
    count = len(worker.queues[0])
    worker.work(burst=True, logging_level="WARNING")
    return count
