"""Audit append throughput: ``privacy.audit.record()`` + commit, one transaction per entry.

(a) One writer appends M entries on each backend (SQLite and PostgreSQL by default):
    entries/s and per-append median/p95 (record + commit).
(b) On PostgreSQL, T threads (each with its own app context, so its own session and
    connection) append M entries in total concurrently. Appends serialise on the chain's
    advisory lock, so the script also reports how long the appenders waited in
    ``pg_advisory_xact_lock`` (timed with an SQLAlchemy cursor event; nothing in the app
    changes).

Afterwards ``verify_chain()`` runs on every database written and must be ok.
Entries look like real ones: a user actor with organisation, role and IP, two blinded
subjects, data categories and a small ``meta``. AUDIT_CHECKPOINT_EVERY keeps its default
(1000), so every 1000th commit also enqueues a checkpoint job (in-memory queue, no worker).

    .venv/bin/python bench/audit_append.py [-m 5000] [--threads 4] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask
from sqlalchemy import event

from netwerk.db import db
from privacy.audit import Actor, blind, count_entries, record, verify_chain

LOCK_SQL = "pg_advisory_xact_lock"


@dataclass
class Run:
    label: str
    entries: int = 0
    wall: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lock_waits: list[float] = field(default_factory=list)
    lock_holds: list[float] = field(default_factory=list)
    statements: int = 0


class StatementTimer:
    """Counts the statements on the app's engine and times every ``pg_advisory_xact_lock``."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.waits: list[float] = []
        self.holds: list[float] = []
        self.statements = 0
        self._local = threading.local()
        self._guard = threading.Lock()
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if LOCK_SQL in statement:
            conn.info["bench_lock_start"] = bench.now()

    def _after(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        elapsed = None
        if LOCK_SQL in statement:
            self._local.locked_at = bench.now()
            elapsed = self._local.locked_at - conn.info.pop("bench_lock_start")
        with self._guard:
            self.statements += 1
            if elapsed is not None:
                self.waits.append(elapsed)

    def committed(self) -> None:
        """Called by the appender right after its commit returned: the lock is released."""
        locked_at = getattr(self._local, "locked_at", None)
        if locked_at is not None:
            self._local.locked_at = None
            held = bench.now() - locked_at
            with self._guard:
                self.holds.append(held)

    def take(self) -> tuple[list[float], list[float], int]:
        with self._guard:
            taken = self.waits, self.holds, self.statements
            self.waits, self.holds, self.statements = [], [], 0
        return taken

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def realistic_inputs(app: Flask) -> tuple[Actor, list[str]]:
    with app.app_context():
        subjects = [blind("user", uuid.uuid4()), blind("client", uuid.uuid4())]
    actor = Actor(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role="regisseur",
                  access_point="web", ip="192.0.2.10", roles=frozenset({"regisseur"}))
    return actor, subjects


def append(count: int, actor: Actor, subjects: list[str], out: list[float], timer: StatementTimer) -> None:
    """``count`` appends in the current app context, one transaction each."""
    for i in range(count):
        start = bench.now()
        record("case.view", actor=actor, summary="case viewed", subjects=subjects,
               object_type="case", object_id=uuid.uuid4(), categories=["contact", "zorg"],
               purpose="coordination", legal_basis="convenant", meta={"n": i, "via": "bench"})
        db.session.commit()
        out.append(bench.now() - start)
        timer.committed()


def single_writer(app: Flask, m: int, label: str, timer: StatementTimer) -> Run:
    actor, subjects = realistic_inputs(app)
    run = Run(label)
    with app.app_context():
        start = bench.now()
        append(m, actor, subjects, run.latencies, timer)
        run.wall = bench.now() - start
        db.session.remove()
    run.entries = m
    return run


def concurrent_writers(app: Flask, total: int, threads: int, label: str, timer: StatementTimer) -> Run:
    actor, subjects = realistic_inputs(app)
    shares = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    results: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def work(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                append(shares[index], actor, subjects, results[index], timer)
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    with app.app_context():  # open the threads' connections before the clock starts
        warm = [db.engine.connect() for _ in range(threads)]
        for conn in warm:
            conn.close()
    workers = [threading.Thread(target=work, args=(i,), name=f"appender-{i}") for i in range(threads)]
    for w in workers:
        w.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()  # broken when a worker failed before the start; raised below
    start = bench.now()
    for w in workers:
        w.join()
    run = Run(label, entries=total, wall=bench.now() - start)
    if errors:
        raise errors[0]
    run.latencies = [x for r in results for x in r]
    return run


def select_one(app: Flask, count: int = 1000) -> list[float]:
    """Round-trip time of ``SELECT 1``, to put the per-append figures in context."""
    with app.app_context():
        conn = db.session.connection()
        conn.exec_driver_sql("SELECT 1")
        times = [bench.time_call(lambda: conn.exec_driver_sql("SELECT 1").scalar())[0] for _ in range(count)]
        db.session.remove()
    return times


def check_chain(app: Flask, label: str, expected: int) -> None:
    with app.app_context():
        result = verify_chain()
        entries = count_entries()
        db.session.remove()
    print(f"verify_chain() on {label}: {result}")
    assert result.ok, f"chain broken on {label}: {result.problem}"
    assert result.entries == entries == expected, f"{label}: {result.entries} verified, {entries} stored"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-m", type=int, default=5000, help="entries per run (default %(default)s)")
    parser.add_argument("--threads", type=int, default=4, help="concurrent appenders (default %(default)s)")
    parser.add_argument("--concurrent-backends", default="postgresql",
                        help="backends for the concurrent run (default %(default)s)")
    bench.backends_arg(parser)
    args = parser.parse_args()
    backends = bench.parse_backends(args.backends)
    concurrent = [b for b in bench.parse_backends(args.concurrent_backends) if b in backends]

    runs: list[Run] = []
    round_trip: list[float] = []
    with bench.workspace("append") as dbs:
        plan = [(b, 1) for b in backends] + [(b, args.threads) for b in concurrent]
        for backend, threads in plan:
            database = dbs.new(backend)
            app = bench.migrated_app(database.instance, database.url)
            if backend == "postgresql" and not round_trip:
                round_trip = select_one(app)
            timer = StatementTimer(app)
            try:
                if threads == 1:
                    run = single_writer(app, args.m, f"{backend}, 1 writer", timer)
                else:
                    run = concurrent_writers(app, args.m, threads, f"{backend}, {threads} threads", timer)
                run.lock_waits, run.lock_holds, run.statements = timer.take()
                runs.append(run)
            finally:
                timer.close()
            try:
                check_chain(app, run.label, args.m)
            finally:
                bench.dispose(app)
        bench.print_environment(dbs)

    rows = []
    for run in runs:
        s = bench.Summary.of(run.latencies)
        lock = bench.Summary.of(run.lock_waits) if run.lock_waits else None
        rows.append([
            run.label, run.entries, f"{run.wall:.2f}", bench.rate(run.entries, run.wall),
            f"{run.statements / run.entries:.1f}", bench.ms(s.median), bench.ms(s.p95), bench.ms(s.maximum),
            bench.ms(lock.median) if lock else "-", bench.ms(lock.p95) if lock else "-",
            f"{sum(run.lock_waits) / (s.mean * s.n) * 100:.0f}%" if lock else "-",
        ])
    bench.print_table(
        ["run", "entries", "seconds", "entries/s", "stmts/append", "median ms", "p95 ms", "max ms",
         "lock median ms", "lock p95 ms", "time in lock wait"],
        rows, title="Audit append: record() + commit per entry (per-append latency includes the commit)",
    )
    if round_trip:
        rt = bench.Summary.of(round_trip)
        print(f"PostgreSQL round trip (SELECT 1 on a held connection): median {bench.ms(rt.median)} ms, "
              f"p95 {bench.ms(rt.p95)} ms; stmts/append excludes the pool's pre-ping at each checkout")
    for run in runs:
        if run.lock_holds:
            held = bench.Summary.of(run.lock_holds)
            print(f"{run.label}: chain lock held {bench.ms(held.mean)} ms per append on average "
                  f"(median {bench.ms(held.median)}; lock taken -> commit returned); summed holds = "
                  f"{sum(run.lock_holds) / run.wall * 100:.0f}% of the run (>=100%: never free); "
                  f"serialised ceiling ~{1 / held.mean:,.0f} entries/s")
    by_label = {r.label: r for r in runs}
    one, many = by_label.get("postgresql, 1 writer"), by_label.get(f"postgresql, {args.threads} threads")
    if one and many:
        ratio = (many.entries / many.wall) / (one.entries / one.wall)
        print(f"PostgreSQL: {args.threads} threads reach {ratio:.2f}x the single-writer throughput")


if __name__ == "__main__":
    main()
