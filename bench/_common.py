"""Shared helpers for the bench scripts: timing, percentiles, tables, app-on-database setup.

Every script builds its own throwaway databases (a SQLite file in a temp dir, and a private
PostgreSQL cluster from ``tests.services`` when asked) and removes them again, so nothing
here touches ``instance/`` or a real server.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade

# `python bench/x.py` puts bench/, not the project, on sys.path; the scripts import this
# module first, so `netwerk`, `privacy` and `tests` are importable after it.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BACKENDS = ("sqlite", "postgresql")

# Settings that differ from a production start, and why. Everything else (argon2
# parameters, AUDIT_CHECKPOINT_EVERY, lock-out policy, ...) keeps the config defaults
# unless a script says otherwise.
BENCH_OVERRIDES: dict[str, Any] = {
    # No worker threads: they would compete for the 2 CPUs with what is measured.
    # Checkpoint jobs are still enqueued (in-memory fakeredis) on every 1000th append.
    "EMBEDDED_WORKER_AUTOSTART": False,
    # One client address sends hundreds of logins a minute; the limiter would refuse them.
    "RATELIMIT_ENABLED": False,
    "SMTP_HOST": None,
}


# --- environment --------------------------------------------------------------------------

def isolate_environment(tmp: Path) -> None:
    """Keep ``load_config`` away from the developer's environment and ``instance/``.

    ``load_config`` writes a generated secret key under ``NETWERK_INSTANCE_PATH`` before
    overrides apply, and would pick up ``DATABASE_URL``/``REDIS_URL``; point it at ``tmp``.
    """
    os.environ["NETWERK_INSTANCE_PATH"] = str(tmp)
    for name in ("DATABASE_URL", "REDIS_URL", "NETWERK_ENV", "NETWERK_KEY_FILE"):
        os.environ.pop(name, None)


# --- app on a database ----------------------------------------------------------------------

def build_app(instance: Path, url: str, **overrides: Any) -> Flask:
    """``create_app`` on ``url`` with production-like settings plus ``overrides``."""
    from netwerk import create_app

    instance.mkdir(parents=True, exist_ok=True)
    settings = dict(BENCH_OVERRIDES)
    settings.update(INSTANCE_PATH=instance, KEY_FILE=instance / "keys.json", SQLALCHEMY_DATABASE_URI=url)
    settings.update(overrides)
    return create_app(settings)


def migrated_app(instance: Path, url: str, **overrides: Any) -> Flask:
    """An app whose database has been built by the real Alembic migrations."""
    from netwerk.db import db

    app = build_app(instance, url, **overrides)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    return app


def dispose(app: Flask) -> None:
    """Close every pooled connection of ``app`` (before its server or file goes away)."""
    from netwerk.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@dataclass
class Database:
    backend: str  # "sqlite" or "postgresql"
    url: str
    instance: Path  # the app's instance dir (keys, checkpoint file) for this database


class Databases:
    """Hands out fresh databases on the requested backends; ``close()`` removes them all.

    PostgreSQL is one private cluster (started on first use) with one database per call.
    Its durability is off (``fsync=off``, ``synchronous_commit=off``; see
    ``tests.services``), so its commit costs are a lower bound of a production server's.
    """

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._pg: Any = None
        self._count = 0

    def new(self, backend: str) -> Database:
        self._count += 1
        name = f"bench{self._count}"
        instance = self.tmp / f"{backend}-{name}"
        instance.mkdir(parents=True)
        if backend == "sqlite":
            return Database(backend, f"sqlite:///{instance / 'netwerk.sqlite3'}", instance)
        if backend == "postgresql":
            return Database(backend, self.postgres().create_database(name), instance)
        raise ValueError(f"unknown backend {backend!r}")

    def postgres(self) -> Any:
        if self._pg is None:
            from tests.services import PostgresServer, unavailable_reason

            reason = unavailable_reason("postgres")
            if reason:
                raise SystemExit(f"PostgreSQL is not available: {reason}\n(run with --backends sqlite)")
            self._pg = PostgresServer().start()
        return self._pg

    def server_version(self) -> str | None:
        if self._pg is None:
            return None
        import psycopg

        pg = self._pg
        with psycopg.connect(host="127.0.0.1", port=pg.port, user=pg.user, dbname="postgres") as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        if self._pg is not None:
            self._pg.stop()
            self._pg = None


@contextlib.contextmanager
def workspace(prefix: str) -> Iterator[Databases]:
    """A temp dir plus a :class:`Databases` on it; everything is removed on exit."""
    print(load_note("at the start"))
    tmp = Path(tempfile.mkdtemp(prefix=f"netwerk-bench-{prefix}-"))
    isolate_environment(tmp / "default-instance")
    dbs = Databases(tmp)
    try:
        yield dbs
    finally:
        try:
            dbs.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# --- timing and statistics ----------------------------------------------------------------

def now() -> float:
    return time.perf_counter()


def time_call(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn()`` took, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default), ``pct`` in 0..100."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Summary:
    n: int
    median: float
    p95: float
    mean: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Summary:
        return cls(n=len(seconds), median=statistics.median(seconds), p95=percentile(seconds, 95),
                   mean=statistics.fmean(seconds), minimum=min(seconds), maximum=max(seconds))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def rate(count: float, seconds: float) -> str:
    return f"{count / seconds:,.0f}" if seconds > 0 else "-"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> None:
    """A plain, aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        out = []
        for i, cell in enumerate(row):
            numeric = cell.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
            out.append(cell.rjust(widths[i]) if numeric else cell.ljust(widths[i]))
        return "  ".join(out).rstrip()

    if title:
        print(f"\n{title}")
    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def print_environment(dbs: Databases | None = None) -> None:
    import sqlite3

    parts = [f"Python {platform.python_version()}", f"{os.cpu_count()} CPUs",
             f"SQLite {sqlite3.sqlite_version}"]
    if dbs is not None and (version := dbs.server_version()):
        parts.append(f"PostgreSQL {version} (fsync=off, synchronous_commit=off)")
    print("# " + ", ".join(parts))
    print(load_note("at the end"))


def load_note(when: str) -> str:
    """The machine's load average: other work on the box skews every figure here."""
    one, five, _ = os.getloadavg()
    cpus = os.cpu_count() or 1
    note = f"# load average {when}: {one:.2f} (1 min), {five:.2f} (5 min) on {cpus} CPUs"
    if five > 0.5 * cpus:
        note += " -- WARNING: the machine is busy with other work; figures are pessimistic"
    return note


# --- command line -------------------------------------------------------------------------

def backends_arg(parser: argparse.ArgumentParser, default: Sequence[str] = BACKENDS) -> None:
    parser.add_argument(
        "--backends", default=",".join(default),
        help=f"comma-separated subset of {','.join(BACKENDS)} (default: %(default)s)",
    )


def parse_backends(value: str) -> list[str]:
    chosen = [b.strip() for b in value.split(",") if b.strip()]
    unknown = [b for b in chosen if b not in BACKENDS]
    if unknown or not chosen:
        raise SystemExit(f"--backends must name some of {', '.join(BACKENDS)}; got {value!r}")
    return chosen


# --- SQL statement counting -----------------------------------------------------------------

_TABLE_OF = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?([a-z_]+)|\bFROM\s+\"?([a-z_]+)",
                       re.IGNORECASE)


def statement_label(statement: str) -> str:
    """A short name for a statement: ``insert audit_entry``, ``update plan_action``, the
    first table a SELECT reads, or the first word (``SELECT pg_advisory_xact_lock`` has no
    FROM: ``select``)."""
    verb = statement.split(None, 1)[0].lower() if statement.strip() else "?"
    match = _TABLE_OF.search(statement)
    if match is None:
        return verb
    if match.group(1):
        return f"{verb} {match.group(1)}"
    return match.group(2)


@contextlib.contextmanager
def count_statements(engine: Any) -> Iterator[list[str]]:
    """Labels (``statement_label``) of every statement ``engine`` sends while the block runs,
    from a ``before_cursor_execute`` listener that is removed again on exit. Attach it only
    in counting passes: the listener itself costs a little per statement."""
    from sqlalchemy import event

    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement_label(statement))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


class StatementCount:
    """Statement labels summed over several counting passes, printed as means per pass."""

    def __init__(self) -> None:
        self.passes = 0
        self.labels: dict[str, int] = {}

    def add(self, labels: Sequence[str]) -> None:
        self.passes += 1
        for label in labels:
            self.labels[label] = self.labels.get(label, 0) + 1

    def by_label(self) -> str:
        n = max(self.passes, 1)
        ordered = sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0]))
        return ", ".join(f"{label} {count / n:.4g}" for label, count in ordered) or "-"
