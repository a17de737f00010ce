"""PATCH /api/v1/actions/{id} throughput on PostgreSQL with concurrent clients over real HTTP.

Issue 4: "PATCH throughput on PostgreSQL with 20 concurrent clients". The app runs under
gunicorn (the README's production shape: ``-w 4 -k gthread --threads 8``) on 127.0.0.1 and
a free port, on a private PostgreSQL cluster from ``tests.services`` (stopped by PID). The
database holds one organisation with ``--users`` users and ``--actions`` open actions on
``--families`` plans (seeded as in ``bench/my_actions.py``); every user may update every
action (owner's organisation). Each user gets a session token from POST /api/v1/auth/token
over HTTP. The login rate limit is raised for the bench (``LOGIN_RATE_LIMIT``; the limiter
stays on): all token requests come from one address.

``--clients`` threads (default 20), one user and one keep-alive connection each, run for
``--duration`` seconds. A cycle: pick a random action; GET its family's plan (the version
of the action is in it; ``--read none`` skips the GET and sends the version of the last
answer about the action, the ETag); PATCH status (open/bezig) and a progress note with
``If-Match``. Counted: 200 (written), 409 (someone else wrote first: expected), 412/428
and everything else (must be 0). Every request has a timeout; the loops are bounded by
the deadline and a cycle cap. Meanwhile a monitor samples ``pg_stat_activity`` 10 times a
second: how many server backends wait on a lock, and on which kind, to see whether the
writes queue on the audit chain's advisory lock.

Afterwards the database must agree: the versions of the actions went up by exactly the
number of 200s, and there is one progress row per 200.

    .venv/bin/python bench/action_patch.py [--clients 20] [--duration 20] [--actions 200]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask
from my_actions import PASSWORD, Shape, seed
from sqlalchemy import func, select

from netwerk.db import db, utcnow
from netwerk.models.plans import ActionUpdate, Plan, PlanAction
from tests.services import GunicornProcess

# The login limit is per address and per gunicorn worker (memory storage); all token
# requests of the bench come from 127.0.0.1, so the default "20 per minute" is raised.
SERVER_OVERRIDES: dict[str, Any] = {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "1000 per minute"}
ENV_URL, ENV_INSTANCE = "NETWERK_BENCH_DATABASE_URL", "NETWERK_BENCH_INSTANCE"
MAX_CYCLES_PER_CLIENT = 1_000_000  # a bound on every client loop besides the deadline


def wsgi() -> Flask:
    """gunicorn's entry point (``action_patch:wsgi()``): the app on the bench's database,
    built in every worker (no --preload: a forked connection pool would be shared)."""
    return bench.build_app(Path(os.environ[ENV_INSTANCE]), os.environ[ENV_URL], **SERVER_OVERRIDES)


# --- the server ------------------------------------------------------------------------------

class Server(GunicornProcess):
    """gunicorn -w N -k gthread --threads M on the bench's database (tests.services)."""

    def __init__(self, url: str, instance: Path, workers: int, threads: int) -> None:
        env = dict(os.environ, **{ENV_URL: url, ENV_INSTANCE: str(instance)})
        super().__init__("action_patch:wsgi()", cwd=bench.ROOT / "bench", env=env, log=instance / "gunicorn.log",
                         workers=workers, threads=threads, extra=("--timeout", "60"),
                         health="/api/v1/openapi.json")

    @property
    def config(self) -> str:
        return f"gunicorn -w {self.workers} -k gthread --threads {self.threads} on 127.0.0.1:{self.port}"


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- HTTP ------------------------------------------------------------------------------------

class Client:
    """One keep-alive connection; reconnects after a transport error."""

    def __init__(self, port: int, timeout: float, token: str | None = None) -> None:
        self.port, self.timeout = port, timeout
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str, body: object | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str | None]:
        all_headers = self.headers | (headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, "/api/v1" + path, body=payload, headers=all_headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            raise
        return response.status, json.loads(data) if data else {}, response.getheader("ETag")

    def close(self) -> None:
        self.conn.close()


def session_tokens(port: int, emails: list[str], timeout: float) -> list[str]:
    """One token per user through the real endpoint (argon2 with the production parameters)."""
    client = Client(port, timeout)
    try:
        tokens = []
        for email in emails:
            status, body, _ = client.call("POST", "/auth/token", {"email": email, "password": PASSWORD})
            if status != 201:
                raise RuntimeError(f"POST /auth/token for {email}: {status} {body}")
            tokens.append(str(body["access_token"]))
        return tokens
    finally:
        client.close()


# --- the load ----------------------------------------------------------------------------------

@dataclass
class Tally:
    """What one client saw; merged after the run."""

    statuses: Counter[str] = field(default_factory=Counter)  # "GET 200", "PATCH 409", "PATCH error" ...
    patch_ok: list[float] = field(default_factory=list)
    patch_conflict: list[float] = field(default_factory=list)
    gets: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cycles: int = 0

    def merge(self, other: Tally) -> None:
        self.statuses.update(other.statuses)
        self.patch_ok += other.patch_ok
        self.patch_conflict += other.patch_conflict
        self.gets += other.gets
        self.errors += other.errors
        self.cycles += other.cycles


@dataclass(frozen=True)
class Target:
    action_id: str
    family_id: str


class Worker(threading.Thread):
    def __init__(self, number: int, port: int, token: str, targets: list[Target], args: argparse.Namespace,
                 start_barrier: threading.Barrier) -> None:
        super().__init__(name=f"client-{number}", daemon=True)
        self.number, self.targets, self.args = number, targets, args
        self.client = Client(port, args.timeout, token)
        self.barrier = start_barrier
        self.rng = random.Random(number)  # reproducible choice of actions per client
        self.known: dict[str, int] = {}  # action id -> version from the last answer (--read none)
        self.tally = Tally()
        self.deadline = 0.0

    def run(self) -> None:
        try:
            self.barrier.wait()
            self.deadline = time.monotonic() + self.args.duration
            for _ in range(MAX_CYCLES_PER_CLIENT):
                if time.monotonic() >= self.deadline:
                    break
                self.cycle()
        except threading.BrokenBarrierError:
            self.tally.errors.append("start barrier broken")
        finally:
            self.client.close()

    def cycle(self) -> None:
        target = self.rng.choice(self.targets)
        version = self.read(target)
        if version is None:
            return
        body = {"status": self.rng.choice(("open", "bezig")),
                "progress": f"Voortgang van client {self.number}, ronde {self.tally.cycles}"}
        start = bench.now()
        try:
            status, answer, etag = self.client.call("PATCH", f"/actions/{target.action_id}", body,
                                                    {"If-Match": f'"{version}"'})
        except (OSError, http.client.HTTPException) as exc:
            self.fail("PATCH", f"{type(exc).__name__}: {exc}")
            return
        elapsed = bench.now() - start
        self.tally.cycles += 1
        self.tally.statuses[f"PATCH {status}"] += 1
        if status == 200:
            self.tally.patch_ok.append(elapsed)
        elif status == 409:
            self.tally.patch_conflict.append(elapsed)
        else:
            self.tally.errors.append(f"PATCH {status}: {json.dumps(answer)[:300]}")
        if etag:
            self.known[target.action_id] = int(etag.strip('"'))

    def read(self, target: Target) -> int | None:
        """The action's version: from its family's plan, or (``--read none``) the last ETag."""
        if self.args.read == "none":
            return self.known.get(target.action_id, 1)
        start = bench.now()
        try:
            status, plan, _ = self.client.call("GET", f"/families/{target.family_id}/plan")
        except (OSError, http.client.HTTPException) as exc:
            self.fail("GET", f"{type(exc).__name__}: {exc}")
            return None
        self.tally.gets.append(bench.now() - start)
        self.tally.statuses[f"GET {status}"] += 1
        found = [a for a in plan.get("actions", []) if a["id"] == target.action_id] if status == 200 else []
        if not found:
            self.tally.errors.append(f"GET plan {status}: action {target.action_id} not in it")
            return None
        return int(found[0]["version"])

    def fail(self, method: str, message: str) -> None:
        self.tally.statuses[f"{method} error"] += 1
        self.tally.errors.append(f"{method}: {message}")
        time.sleep(0.05)  # a refused connection must not turn into a busy loop


# --- lock monitor --------------------------------------------------------------------------------

@dataclass
class LockSamples:
    samples: int = 0
    waiting: Counter[str] = field(default_factory=Counter)  # wait_event -> backends summed over samples
    active: int = 0
    any_advisory: int = 0  # samples with at least one backend waiting on an advisory lock
    holders: Counter[str] = field(default_factory=Counter)  # holder's state -> samples
    holder_queries: Counter[str] = field(default_factory=Counter)  # holder's last statement -> samples


class LockMonitor(threading.Thread):
    """Samples pg_stat_activity of the bench database 10 times a second until stopped."""

    QUERY = ("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
             "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    # Who holds the advisory lock (the audit chain's), and is it working in the database
    # ("active") or is the app working while it holds it ("idle in transaction")?
    HOLDER = ("SELECT a.state, left(a.query, 60) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
              "WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()")

    def __init__(self, port: int, user: str, dbname: str, limit_seconds: float) -> None:
        super().__init__(name="lock-monitor", daemon=True)
        self.port, self.user, self.dbname = port, user, dbname
        self.limit = limit_seconds
        self.stop_event = threading.Event()
        self.result = LockSamples()

    def run(self) -> None:
        import psycopg

        deadline = time.monotonic() + self.limit
        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname=self.dbname,
                             autocommit=True, connect_timeout=10) as conn:
            while not self.stop_event.is_set() and time.monotonic() < deadline:
                self.sample(conn.execute(self.QUERY).fetchall())
                self.holder(conn.execute(self.HOLDER).fetchall())
                self.stop_event.wait(0.1)

    def sample(self, rows: list[tuple[Any, ...]]) -> None:
        r = self.result
        r.samples += 1
        r.active += sum(1 for state, _, _ in rows if state == "active")
        locks = [event for _, kind, event in rows if kind == "Lock"]
        r.waiting.update(locks)
        r.any_advisory += 1 if "advisory" in locks else 0

    def holder(self, rows: list[tuple[Any, ...]]) -> None:
        states = [str(state) for state, _ in rows] or ["(lock free)"]
        self.result.holders.update(states)
        self.result.holder_queries.update(" ".join(str(q).split()) for _, q in rows)


# --- seeding and checking ----------------------------------------------------------------------

@dataclass
class Seeded:
    emails: list[str]
    targets: list[Target]
    versions: int  # sum of the actions' versions before the run


def seed_actions(app: Flask, args: argparse.Namespace) -> Seeded:
    worlds, seconds = seed(app, [Shape("Patch CJG", args.families, args.actions, args.users)], utcnow().date())
    world = worlds["Patch CJG"]
    with app.app_context():
        rows = db.session.execute(select(PlanAction.id, Plan.family_id).join(Plan, Plan.id == PlanAction.plan_id)
                                  .order_by(PlanAction.id)).all()
        versions = db.session.scalar(select(func.sum(PlanAction.version))) or 0
        db.session.remove()
    print(f"# seeded {len(rows)} actions on {len(world.plans)} plans, {len(world.emails)} users in {seconds:.1f} s")
    return Seeded(world.emails, [Target(str(a), str(f)) for a, f in rows], int(versions))


def check_database(app: Flask, seeded: Seeded, written: int) -> str:
    """Every 200 bumped a version once and wrote one progress row; nothing else did."""
    with app.app_context():
        versions = int(db.session.scalar(select(func.sum(PlanAction.version))) or 0)
        updates = db.session.scalar(select(func.count()).select_from(ActionUpdate)) or 0
        db.session.remove()
    bumped = versions - seeded.versions
    ok = bumped == written == updates
    return (f"database check {'ok' if ok else 'FAILED'}: versions bumped {bumped}, progress rows {updates}, "
            f"PATCH 200s {written}")


# --- report ----------------------------------------------------------------------------------------

def summary_row(label: str, seconds: list[float]) -> list[object]:
    if not seconds:
        return [label, 0, "-", "-", "-", "-"]
    s = bench.Summary.of(seconds)
    return [label, s.n, bench.ms(s.median), bench.ms(s.p95), bench.ms(bench.percentile(seconds, 99)),
            bench.ms(s.maximum)]


def report(tally: Tally, locks: LockSamples, server: Server, args: argparse.Namespace, wall: float) -> None:
    ok, conflicts = len(tally.patch_ok), len(tally.patch_conflict)
    patches = sum(v for k, v in tally.statuses.items() if k.startswith("PATCH"))
    print(f"\n# server: {server.config}; {args.clients} client threads in the bench process (one user, one "
          f"keep-alive connection each); read before PATCH: {args.read}; {wall:.1f} s wall")
    bench.print_table(["result", "count", "per second"], [
        ["PATCH 200 (written)", ok, f"{ok / wall:.1f}"],
        ["PATCH 409 (conflict, expected)", conflicts, f"{conflicts / wall:.1f}"],
        ["PATCH 412/428", tally.statuses["PATCH 412"] + tally.statuses["PATCH 428"], "-"],
        ["errors (anything else)", len(tally.errors), "-"],
        ["GET plan", len(tally.gets), f"{len(tally.gets) / wall:.1f}"],
    ], title="Outcomes")
    print(f"conflict rate: {conflicts / patches * 100 if patches else 0:.2f}% of {patches} PATCHes; "
          f"statuses: {dict(sorted(tally.statuses.items()))}")
    everything = tally.patch_ok + tally.patch_conflict
    bench.print_table(["request", "n", "median ms", "p95 ms", "p99 ms", "max ms"], [
        summary_row("PATCH (all)", everything), summary_row("PATCH 200", tally.patch_ok),
        summary_row("PATCH 409", tally.patch_conflict), summary_row("GET plan", tally.gets)],
        title="Latency per request, as the clients saw it")
    if locks.samples:
        n = locks.samples
        waits = ", ".join(f"{k} {v / n:.2f}" for k, v in locks.waiting.most_common()) or "none"
        print(f"\npg_stat_activity, {n} samples: active backends {locks.active / n:.2f} on average; "
              f"backends waiting on a lock (by wait_event, mean per sample): {waits}; samples with a "
              f"backend waiting on an advisory lock: {locks.any_advisory / n * 100:.0f}%")
        held = ", ".join(f"{k} {v / n * 100:.0f}%" for k, v in locks.holders.most_common())
        print(f"advisory lock holder's state (share of samples): {held}")
        for query, count in locks.holder_queries.most_common(5):
            print(f"  holder's last statement in {count / n * 100:.0f}% of samples: {query}")
    for line in tally.errors[:20]:
        print(f"ERROR {line}")


def load(server: Server, tokens: list[str], targets: list[Target], args: argparse.Namespace,
         monitor: LockMonitor) -> tuple[Tally, float]:
    barrier = threading.Barrier(args.clients + 1, timeout=30)
    workers = [Worker(i, server.port, tokens[i % len(tokens)], targets, args, barrier) for i in range(args.clients)]
    for w in workers:
        w.start()
    barrier.wait()
    start = bench.now()
    monitor.start()
    for w in workers:
        w.join(timeout=args.duration + 2 * args.timeout + 10)
    wall = bench.now() - start
    monitor.stop_event.set()
    monitor.join(timeout=10)
    total = Tally()
    for w in workers:
        if w.is_alive():
            total.errors.append(f"{w.name} did not finish")
        total.merge(w.tally)
    return total, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent client threads (default %(default)s)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (default %(default)s)")
    parser.add_argument("--actions", type=int, default=200, help="actions to update (default %(default)s)")
    parser.add_argument("--families", type=int, default=50, help="families (plans) they sit on (default %(default)s)")
    parser.add_argument("--users", type=int, default=20, help="users with a token (default %(default)s)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (default %(default)s)")
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per worker (default %(default)s)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default %(default)s)")
    parser.add_argument("--read", choices=("plan", "none"), default="plan",
                        help="GET the family's plan before each PATCH, or none (last ETag) (default %(default)s)")
    args = parser.parse_args()

    with bench.workspace("patch") as dbs:
        database = dbs.new("postgresql")
        app = bench.migrated_app(database.instance, database.url)
        try:
            seeded = seed_actions(app, args)
        finally:
            bench.dispose(app)
        pg = dbs.postgres()
        server = Server(database.url, database.instance, args.workers, args.threads)
        with running(server):
            tokens = session_tokens(server.port, seeded.emails, args.timeout)
            print(f"# {server.config}; {len(tokens)} session tokens via POST /api/v1/auth/token "
                  f"(LOGIN_RATE_LIMIT raised to {SERVER_OVERRIDES['LOGIN_RATE_LIMIT']})")
            monitor = LockMonitor(pg.port, pg.user, database.url.rsplit("/", 1)[1], args.duration + 60)
            tally, wall = load(server, tokens, seeded.targets, args, monitor)
        app = bench.build_app(database.instance, database.url)
        try:
            print(check_database(app, seeded, len(tally.patch_ok)))
        finally:
            bench.dispose(app)
        bench.print_environment(dbs)
    report(tally, monitor.result, server, args, wall)
    if tally.errors:
        raise SystemExit(f"{len(tally.errors)} errors")


if __name__ == "__main__":
    main()
