"""Live latency of the meeting event stream (issue 5, item 8): from the chair's request to
the event arriving at every subscriber, with 1, 50 and 200 concurrent stream subscribers.

Two configurations, each under gunicorn (gthread) on 127.0.0.1 and a free port:

* ``embedded``: one process, in-process broker, SQLite file;
* ``redis``: two gunicorn processes, Redis pub/sub between them (a private ``redis-server``
  from ``tests.services``), PostgreSQL (a private cluster from ``tests.services``).

The database holds a live meeting with two sections (seeded as in the kill test,
``tests/meetings/test_stream_server.py``). Subscribers are the school's teacher (admitted to
"Preventief"), one login session shared by all streams; each stream is a raw socket, and
one selector thread reads them all, stamping each ``id:`` line on arrival (so 200 readers
do not need 200 bench threads competing for the GIL). The secretary moves a "Preventief"
item (``POST .../verplaatsen``, the real form with its CSRF token) ``--rounds`` times; a
sample is (arrival at one subscriber) - (just before the POST was sent), for every
subscriber and round. The next round starts when every subscriber has the event (bounded
by ``--round-timeout``) plus a short pause.

    .venv/bin/python bench/live_latency.py [--subscribers 1,50,200] [--rounds 30]
        [--configs embedded,redis]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import selectors
import socket
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask

from netwerk.db import db
from tests.factories import PASSWORD
from tests.services import GunicornProcess

ENV_URL, ENV_INSTANCE, ENV_REDIS = "NETWERK_BENCH_DATABASE_URL", "NETWERK_BENCH_INSTANCE", "NETWERK_BENCH_REDIS_URL"
EVENT_ID = re.compile(rb"\nid: (\d+)\n")
VERSION = re.compile(r'name="version" type="hidden" value="([0-9]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def wsgi() -> Flask:
    """gunicorn's entry point (``live_latency:wsgi()``), built in every worker (no
    --preload: a forked connection pool would be shared between processes)."""
    overrides: dict[str, Any] = {}
    if os.environ.get(ENV_REDIS):
        overrides["REDIS_URL"] = os.environ[ENV_REDIS]
    return bench.build_app(Path(os.environ[ENV_INSTANCE]), os.environ[ENV_URL], **overrides)


# --- the server ----------------------------------------------------------------------------

class Server(GunicornProcess):
    """gunicorn (gthread) on the bench's database, with Redis between processes when given."""

    def __init__(self, url: str, instance: Path, workers: int, threads: int, redis_url: str | None = None) -> None:
        env = dict(os.environ, **{ENV_URL: url, ENV_INSTANCE: str(instance)})
        if redis_url:
            env[ENV_REDIS] = redis_url
        super().__init__("live_latency:wsgi()", cwd=bench.ROOT / "bench", env=env, log=instance / "gunicorn.log",
                         workers=workers, threads=threads, extra=("--backlog", "512"))


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- HTTP: a tiny cookie client ---------------------------------------------------------------

class Client:
    """One keep-alive connection with the session cookie."""

    def __init__(self, port: int) -> None:
        self.port, self.cookie = port, ""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            response = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException):
            # gunicorn closes idle keep-alive connections after 2 s: reconnect once. (A move
            # sent twice only adds an event; the round takes the first new one.)
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            response = self._send(method, path, body, headers)
        text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookie = header.split(";", 1)[0]
        return response.status, response.getheader("Location") or "", text

    def _send(self, method: str, path: str, body: str | None, headers: dict[str, str]) -> http.client.HTTPResponse:
        self.conn.request(method, path, body=body, headers=headers)
        return self.conn.getresponse()

    def token(self, path: str) -> str:
        match = CSRF.search(self.request("GET", path)[2])
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def login(self, email: str) -> None:
        status, location, _ = self.request("POST", "/inloggen", {"csrf_token": self.token("/inloggen"),
                                                                  "email": email, "password": PASSWORD})
        assert status == 302 and urllib.parse.urlsplit(location).path == "/", (status, location)

    def close(self) -> None:
        self.conn.close()


# --- subscribers ------------------------------------------------------------------------------

@dataclass
class Stream:
    sock: socket.socket
    tail: bytes = b"\n"
    arrivals: dict[int, float] = field(default_factory=dict)
    last: int = 0  # the highest id arrived: what the round loop polls (cheap, no dict walk)
    open: bool = True


class Subscribers:
    """N raw-socket SSE streams read by one selector thread."""

    def __init__(self, port: int, path: str, cookie: str, count: int) -> None:
        self.selector = selectors.DefaultSelector()
        self.streams: list[Stream] = []
        self._stop = threading.Event()
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
                   "Accept: text/event-stream\r\n\r\n").encode()
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(request)
            sock.setblocking(False)
            stream = Stream(sock)
            self.streams.append(stream)
            self.selector.register(sock, selectors.EVENT_READ, stream)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                stream: Stream = key.data
                try:
                    data = stream.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                stamp = time.perf_counter()
                if not data:
                    stream.open = False
                    self.selector.unregister(stream.sock)
                    continue
                text = stream.tail + data
                for match in EVENT_ID.finditer(text):
                    event_id = int(match.group(1))
                    stream.arrivals.setdefault(event_id, stamp)
                    stream.last = max(stream.last, event_id)
                stream.tail = text[-64:]

    def ready(self) -> int:
        """Streams that have their first bytes (the retry line) and are still open."""
        return sum(1 for s in self.streams if s.open and s.tail != b"\n")

    def all_after(self, previous: int) -> bool:
        return all(stream.last > previous for stream in self.streams)

    def first_after(self, previous: int) -> list[tuple[int, float] | None]:
        out: list[tuple[int, float] | None] = []
        for stream in self.streams:
            newer = [(i, t) for i, t in stream.arrivals.copy().items() if i > previous]  # copy: the reader thread adds
            out.append(min(newer) if newer else None)
        return out

    def close(self) -> None:
        self._stop.set()
        self.thread.join(5)
        for stream in self.streams:
            with contextlib.suppress(OSError):
                stream.sock.close()
        self.selector.close()


# --- the measurement --------------------------------------------------------------------------

def seed_database(url: str, instance: Path) -> dict[str, Any]:
    from tests.meetings import test_stream_server as world

    app = bench.migrated_app(instance, url)
    with app.app_context():
        facts = world.seed()
        db.session.remove()
    bench.dispose(app)
    return facts


def measure(port: int, facts: dict[str, Any], count: int, rounds: int,
            round_timeout: float) -> tuple[list[float], list[float]]:
    teacher, secretary = Client(port), Client(port)
    teacher.login(facts["teacher"])
    secretary.login(facts["secretary"])
    page = f"/vergaderingen/{facts['meeting']}"
    token = secretary.token(page)
    item = facts["items"]["Preventief"][0]
    subscribers = Subscribers(port, f"{page}/stroom", teacher.cookie, count)
    samples: list[float] = []
    posts: list[float] = []  # the chair's request alone (answer received), for context
    try:
        deadline = time.monotonic() + 30
        while subscribers.ready() < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {subscribers.ready()} of {count} streams connected")
            time.sleep(0.05)
        previous = 0
        for n in range(rounds):
            # The move buttons carry the meeting's version (a double click moves once); read
            # it before the clock starts.
            version = VERSION.search(secretary.request("GET", page)[2])
            assert version, "no version on the meeting page"
            sent = time.perf_counter()
            status, _, _ = secretary.request("POST", f"{page}/agenda/{item}/verplaatsen",
                                             {"csrf_token": token, "direction": "neer" if n % 2 else "op",
                                              "version": version.group(1)})
            assert status == 302, status
            posts.append(time.perf_counter() - sent)
            deadline = time.monotonic() + round_timeout
            # Poll cheaply (one int per stream): walking every stream's arrivals each time
            # kept this thread on the interpreter lock that the reader needs to stamp.
            while not subscribers.all_after(previous) and time.monotonic() < deadline:
                time.sleep(0.002)
            firsts = subscribers.first_after(previous)
            got = [f for f in firsts if f]
            if len(got) < count:
                print(f"  round {n}: {count - len(got)} of {count} subscribers did not get the event "
                      f"within {round_timeout:.0f} s", file=sys.stderr)
            samples += [t - sent for _, t in got]
            previous = max((i for i, _ in got), default=previous)
            time.sleep(0.1)
    finally:
        subscribers.close()
        teacher.close()
        secretary.close()
    return samples, posts


def run_config(name: str, dbs: bench.Databases, counts: list[int], rounds: int, round_timeout: float,
               redis_url: str | None) -> list[list[object]]:
    backend = "sqlite" if name == "embedded" else "postgresql"
    database = dbs.new(backend)
    facts = seed_database(database.url, database.instance)
    workers = 1 if name == "embedded" else 2
    threads = max(counts) + 32  # every stream holds a thread; any worker may get them all
    rows: list[list[object]] = []
    server = Server(database.url, database.instance, workers, threads, redis_url if name == "redis" else None)
    with running(server):
        for count in counts:
            samples, posts = measure(server.port, facts, count, rounds, round_timeout)
            summary = bench.Summary.of(samples) if samples else None
            expected = count * rounds
            rows.append([name, f"{workers} x gthread/{threads}", backend, count, f"{len(samples)}/{expected}",
                         bench.ms(summary.median) if summary else "-", bench.ms(summary.p95) if summary else "-",
                         bench.ms(summary.maximum) if summary else "-", bench.ms(bench.Summary.of(posts).median)])
            print(f"  {name}: {count} subscribers done", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", default="1,50,200", help="comma-separated counts (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=30, help="events per count (default %(default)s)")
    parser.add_argument("--configs", default="embedded,redis", help="embedded and/or redis (default %(default)s)")
    parser.add_argument("--round-timeout", type=float, default=10.0, help="seconds per event (default %(default)s)")
    args = parser.parse_args()
    counts = [int(c) for c in args.subscribers.split(",")]
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    rows: list[list[object]] = []
    with bench.workspace("live") as dbs:
        redis_server = None
        try:
            if "redis" in configs:
                from tests.services import RedisServer

                redis_server = RedisServer().start()
            for name in configs:
                rows += run_config(name, dbs, counts, args.rounds, args.round_timeout,
                                   redis_server.url if redis_server else None)
        finally:
            if redis_server is not None:
                redis_server.stop()
        headers = ["config", "gunicorn", "database", "subscribers", "samples", "median ms", "p95 ms", "max ms",
                   "POST ms"]
        bench.print_table(headers, rows, "Chair's POST -> event at each subscriber (target p95 < 100 ms at 200)")
        bench.print_environment(dbs)


if __name__ == "__main__":
    main()
