"""Throwaway real PostgreSQL and Redis servers on loopback, for tests and bench scripts.

Why this exists: the suite must exercise the real database and cache (SQLite and
fakeredis hide exactly the bugs we care about: locking, JSON operators, sequences,
key expiry), but it must not depend on a long-lived system service that may or may
not be running, configured, or holding somebody else's data.  So each test session
starts its own private server in a temp directory on a free port, and stops it by
PID afterwards.

Stdlib only on purpose: this module is imported by pytest fixtures *and* by bench
scripts, and it must be importable (to report a precise skip/fail reason) even when
the optional Python drivers are not.  ``psycopg`` is used when importable, otherwise
the ``createdb``/``dropdb`` client binaries are used.

Typical use::

    with PostgresServer() as pg, RedisServer() as rd:
        url = pg.create_database("netwerk_test")
        ...  # postgresql+psycopg://netwerk@127.0.0.1:PORT/netwerk_test, rd.url

Every wait in here is bounded; a server that does not come up raises
:class:`ServiceError` with the tail of its log, never hangs the test run.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "PostgresServer",
    "RedisServer",
    "ServiceError",
    "available",
    "free_port",
    "postgres_bindir",
    "unavailable_reason",
]

#: Upper bound for any single "wait until it is up / down" loop, in seconds.
DEFAULT_TIMEOUT = 30.0

#: How often to retry a start when the port chosen by :func:`free_port` was taken by
#: someone else between choosing and binding (a real race under ``pytest -n``).
_PORT_ATTEMPTS = 3

#: Database names we accept: plain identifiers, so they need no quoting in SQL or URLs.
_DBNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: Users that may own the PostgreSQL cluster when we run as root, in preference order.
_UNPRIVILEGED_USERS = ("postgres", "nobody")


class ServiceError(RuntimeError):
    """A throwaway service could not be started, used or stopped."""


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The kernel picks it (bind to port 0), so parallel test workers do not collide on
    a fixed port.  There is an unavoidable window between closing this socket and the
    server binding it; the servers below retry with a new port if they lose that race.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _log_tail(path: Path, lines: int = 30) -> str:
    """Last ``lines`` lines of a log file, for error messages (never raises)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<no log at {path}: {exc}>"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "<log is empty>"


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` is a running (non-zombie) process.

    The postmaster is re-parented away from us (``pg_ctl`` daemonises it), and the
    init process of a container does not always reap orphans, so a killed server can
    linger as a zombie; ``kill(pid, 0)`` alone would call that alive.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True  # no /proc: trust kill(0)
    return fields[0] not in ("Z", "X")


def _wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _clean_env() -> dict[str, str]:
    """Our environment minus ``PG*`` variables, which would silently redirect clients."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key for ``/usr/lib/postgresql/<version>/bin`` (numeric, not lexical: 9 < 15)."""
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)


def postgres_bindir() -> Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres`` of one installation.

    Order: ``$NETWERK_PG_BINDIR`` if set, then ``initdb`` on ``PATH`` (resolved through
    symlinks, so its sibling binaries are the same version), then
    ``/usr/lib/postgresql/*/bin`` highest version first -- Debian keeps the server
    binaries there and puts only a version-dispatching wrapper for clients on ``PATH``.
    """
    needed = ("initdb", "pg_ctl", "postgres")
    candidates: list[Path] = []
    if override := os.environ.get("NETWERK_PG_BINDIR"):
        candidates.append(Path(override))
    if on_path := shutil.which("initdb"):
        candidates.append(Path(on_path).resolve().parent)
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True))
    for d in candidates:
        if all(os.access(d / name, os.X_OK) for name in needed):
            return d
    return None


def _unprivileged_user() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as when we are root (it refuses to run as root)."""
    for name in _UNPRIVILEGED_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


def _as_user_prefix(user: str | None) -> list[str]:
    """Command prefix that runs the rest of a command as ``user`` (empty if ``None``)."""
    if user is None:
        return []
    if runuser := shutil.which("runuser"):
        return [runuser, "-u", user, "--"]
    raise ServiceError("running as root needs `runuser` (util-linux) to drop privileges for PostgreSQL")


def _traversable_by_others(path: Path) -> bool:
    """True if every directory from ``/`` down to ``path`` is searchable by any user."""
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & stat.S_IXOTH:
                return False
        except OSError:
            return False
    return True


def unavailable_reason(name: str) -> str | None:
    """Why service or binary ``name`` cannot be used here, or ``None`` if it can.

    ``name`` is ``"postgres"``/``"postgresql"``, ``"redis"``, or any executable name
    (e.g. ``"chromium"``, ``"pdftotext"``).  The text is meant for ``pytest.skip`` /
    ``pytest.fail`` so that a missing system package is obvious, not a mystery timeout.
    """
    hint = "run scripts/install-system-deps.sh"
    if name in ("postgres", "postgresql"):
        if postgres_bindir() is None:
            return (
                "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH or in "
                f"/usr/lib/postgresql/*/bin; {hint} (Debian package: postgresql)"
            )
        if os.geteuid() == 0:
            if _unprivileged_user() is None:
                return f"running as root but none of the users {_UNPRIVILEGED_USERS} exists to run PostgreSQL"
            if shutil.which("runuser") is None:
                return "running as root but `runuser` is missing to drop privileges for PostgreSQL"
        return None
    if name == "redis":
        if shutil.which("redis-server") is None:
            return f"redis-server not found on PATH; {hint} (Debian package: redis-server)"
        return None
    if shutil.which(name) is None:
        return f"{name} not found on PATH; {hint}"
    return None


def available(name: str) -> bool:
    """True if :func:`unavailable_reason` has nothing to complain about for ``name``."""
    return unavailable_reason(name) is None


# --------------------------------------------------------------------------- PostgreSQL


class PostgresServer:
    """A private PostgreSQL cluster in a temp dir, listening on 127.0.0.1:``port``.

    Durability is switched off (``fsync``, ``synchronous_commit``,
    ``full_page_writes``) because the data is thrown away; authentication is
    ``trust`` because only loopback and a private socket dir are reachable.

    Attributes (valid after :meth:`start`): ``port``, ``url`` (SQLAlchemy URL of
    ``database``), ``pid`` (postmaster), ``base_dir``, ``data_dir``, ``socket_dir``,
    ``log_path``, ``user`` (the PostgreSQL role, not the OS user).
    """

    def __init__(
        self,
        *,
        user: str = "netwerk",
        database: str = "postgres",
        port: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Configure, do not start.  ``database`` other than ``postgres`` is created on start."""
        _check_dbname(database)
        self.user = user
        self.database = database
        self.port: int = port or 0
        self.timeout = timeout
        self.pid: int | None = None
        self.base_dir: Path | None = None
        self._fixed_port = port is not None
        self._os_user: pwd.struct_passwd | None = None
        self._bindir: Path | None = None

    # -- paths -------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """The cluster's ``PGDATA``."""
        return self._base() / "data"

    @property
    def socket_dir(self) -> Path:
        """Where the Unix socket lives (our temp dir, not ``/var/run/postgresql``)."""
        return self._base()

    @property
    def log_path(self) -> Path:
        """Server log, quoted in errors when start-up fails."""
        return self._base() / "postgres.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of :attr:`database` on this server."""
        return self.url_for(self.database)

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy (psycopg 3) URL of database ``dbname`` on this server."""
        if not self.port:
            raise ServiceError("PostgresServer is not started")
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def _base(self) -> Path:
        if self.base_dir is None:
            raise ServiceError("PostgresServer is not started")
        return self.base_dir

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> Self:
        """initdb a fresh cluster and start it; returns ``self``.  Raises :class:`ServiceError`."""
        if self.pid is not None:
            return self
        reason = unavailable_reason("postgres")
        if reason:
            raise ServiceError(reason)
        self._bindir = postgres_bindir()
        self._os_user = _unprivileged_user() if os.geteuid() == 0 else None
        try:
            self._make_base_dir()
            self._initdb()
            last_error: ServiceError | None = None
            for _ in range(1 if self._fixed_port else _PORT_ATTEMPTS):
                if not self._fixed_port:
                    self.port = free_port()
                try:
                    self._pg_ctl_start()
                    break
                except ServiceError as exc:
                    last_error = exc
                    if "already in use" not in _log_tail(self.log_path, 200):
                        raise
            else:
                assert last_error is not None
                raise last_error
            atexit.register(self.stop)
            if self.database != "postgres":
                self.create_database(self.database)
        except BaseException:
            self.stop()
            raise
        return self

    def _make_base_dir(self) -> None:
        """Temp dir for data, socket and log, owned by whoever runs the server.

        When we are root the server runs as an unprivileged user, who must be able to
        reach the directory; a ``$TMPDIR`` under ``/root`` would not do, so fall back
        to ``/tmp`` then.
        """
        parent = Path(tempfile.gettempdir())
        if self._os_user is not None and not _traversable_by_others(parent):
            parent = Path("/tmp")  # world-traversable; mkdtemp makes our dir 0700
        self.base_dir = Path(tempfile.mkdtemp(prefix="netwerk-pg-", dir=parent))
        if self._os_user is not None:
            os.chown(self.base_dir, self._os_user.pw_uid, self._os_user.pw_gid)

    def _run(self, args: Sequence[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """Run a PostgreSQL tool (as the unprivileged user if we are root), bounded in time."""
        cmd = [*_as_user_prefix(self._os_user.pw_name if self._os_user else None), *args]
        try:
            return subprocess.run(
                cmd,
                cwd=self._base(),  # the tool's user may not be able to read our cwd
                env=_clean_env(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout or self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ServiceError(f"timed out after {exc.timeout:.0f}s: {shlex.join(cmd)}") from exc

    def _tool(self, name: str) -> str:
        assert self._bindir is not None
        return str(self._bindir / name)

    def _initdb(self) -> None:
        proc = self._run(
            [
                self._tool("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=max(self.timeout, 60.0),  # first initdb on a cold disk can be slow
        )
        if proc.returncode != 0:
            raise ServiceError(f"initdb failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")

    def _pg_ctl_start(self) -> None:
        # pg_ctl hands -o to a shell, so quote the one path in it.
        options = (
            f"-p {self.port} -k {shlex.quote(str(self.socket_dir))} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        proc = self._run(
            [
                self._tool("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-o",
                options,
                "-l",
                str(self.log_path),
                "-w",
                "-t",
                str(int(self.timeout)),
                "start",
            ],
            timeout=self.timeout + 10,
        )
        pid = self._read_postmaster_pid()
        if proc.returncode != 0 or pid is None:
            if pid is not None:  # pg_ctl gave up waiting but the postmaster exists
                self.pid = pid
                self._kill_postmaster()
            raise ServiceError(
                f"PostgreSQL did not start on port {self.port} (pg_ctl exit {proc.returncode}).\n"
                f"{proc.stdout}{proc.stderr}\n--- {self.log_path} (tail) ---\n{_log_tail(self.log_path)}"
            )
        self.pid = pid

    def _read_postmaster_pid(self) -> int | None:
        """The postmaster's PID from the first line of ``postmaster.pid``, if any."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0].strip()
            return int(first)
        except (OSError, ValueError):
            return None

    def _kill_postmaster(self) -> None:
        """SIGKILL the postmaster and its backends (pg_ctl makes it a process-group leader)."""
        pid = self.pid
        if pid is None or not _pid_alive(pid):
            return
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        _wait_until(lambda: not _pid_alive(pid), 10.0)

    def stop(self) -> None:
        """Stop the server (immediate mode, then SIGKILL) and delete its temp dir.  Idempotent."""
        atexit.unregister(self.stop)
        if self.base_dir is None:
            return
        pid = self.pid or self._read_postmaster_pid()
        self.pid = pid
        if pid is not None and _pid_alive(pid):
            with contextlib.suppress(ServiceError):
                self._run(
                    [
                        self._tool("pg_ctl"),
                        "-D",
                        str(self.data_dir),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "10",
                        "stop",
                    ],
                    timeout=20,
                )
            if not _wait_until(lambda: not _pid_alive(pid), 5.0):
                self._kill_postmaster()
        if pid is not None and _pid_alive(pid):
            raise ServiceError(f"PostgreSQL postmaster {pid} survived SIGKILL; left {self.base_dir} in place")
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None
        self.pid = None
        if not self._fixed_port:
            self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- databases -------------------------------------------------------------------
    def create_database(self, name: str) -> str:
        """Create an empty database ``name`` (owned by :attr:`user`) and return its URL."""
        _check_dbname(name)
        self._admin_sql(f'CREATE DATABASE "{name}"', ["createdb", name])
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting any sessions still in it."""
        _check_dbname(name)
        self._admin_sql(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', ["dropdb", "--if-exists", "--force", name]
        )

    def _admin_sql(self, sql: str, fallback: list[str]) -> None:
        """Run a statement on the ``postgres`` DB via psycopg, else via a client binary.

        ``sql`` only ever interpolates names that passed :func:`_check_dbname`.
        """
        if self.pid is None:
            raise ServiceError("PostgresServer is not started")
        try:
            import psycopg  # optional: keep this module importable without it
        except ImportError:
            psycopg = None  # type: ignore[assignment]
        if psycopg is not None:
            try:
                with psycopg.connect(
                    host="127.0.0.1",
                    port=self.port,
                    user=self.user,
                    dbname="postgres",
                    autocommit=True,  # CREATE/DROP DATABASE cannot run in a transaction
                    connect_timeout=int(self.timeout),
                ) as conn:
                    conn.execute(sql.encode())
            except psycopg.Error as exc:
                raise ServiceError(f"{sql!r} failed: {exc}") from exc
            return
        tool, *args = fallback
        # Clients connect over the private socket; they may run as us (root can reach it).
        cmd = [self._tool(tool), "-h", str(self.socket_dir), "-p", str(self.port), "-U", self.user, *args]
        try:
            proc = subprocess.run(
                cmd, env=_clean_env(), capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise ServiceError(f"timed out: {shlex.join(cmd)}") from exc
        if proc.returncode != 0:
            raise ServiceError(f"{shlex.join(cmd)} failed: {proc.stderr.strip()}")


def _check_dbname(name: str) -> None:
    if not _DBNAME_RE.match(name):
        raise ValueError(f"database name {name!r} must match {_DBNAME_RE.pattern}")


# --------------------------------------------------------------------------- Redis


class RedisServer:
    """A private ``redis-server`` on 127.0.0.1:``port`` with persistence off.

    Attributes (valid after :meth:`start`): ``port``, ``url``, ``pid``,
    ``base_dir``, ``log_path``.
    """

    def __init__(self, *, port: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Configure, do not start."""
        self.port: int = port or 0
        self.timeout = timeout
        self.base_dir: Path | None = None
        self._fixed_port = port is not None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """PID of the running ``redis-server``, or ``None``."""
        return self._proc.pid if self._proc is not None else None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        if not self.port:
            raise ServiceError("RedisServer is not started")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        """stdout/stderr of the server, quoted in errors when start-up fails."""
        if self.base_dir is None:
            raise ServiceError("RedisServer is not started")
        return self.base_dir / "redis.log"

    def start(self) -> Self:
        """Start the server and wait (bounded) for ``+PONG``; returns ``self``."""
        if self._proc is not None:
            return self
        reason = unavailable_reason("redis")
        if reason:
            raise ServiceError(reason)
        binary = shutil.which("redis-server")
        assert binary is not None
        try:
            self.base_dir = Path(tempfile.mkdtemp(prefix="netwerk-redis-"))
            last_error: ServiceError | None = None
            for _ in range(1 if self._fixed_port else _PORT_ATTEMPTS):
                if not self._fixed_port:
                    self.port = free_port()
                try:
                    self._spawn(binary)
                    break
                except ServiceError as exc:
                    last_error = exc
                    self._terminate()
                    if "in use" not in _log_tail(self.log_path, 50):
                        raise
            else:
                assert last_error is not None
                raise last_error
            atexit.register(self.stop)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, binary: str) -> None:
        assert self.base_dir is not None
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.base_dir),
                    "--daemonize",
                    "no",  # we own the PID; a daemonised server would escape stop()
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.base_dir,
            )
        proc = self._proc
        if not _wait_until(lambda: proc.poll() is not None or self._ping(), self.timeout):
            raise ServiceError(
                f"redis-server did not answer PING on port {self.port} within {self.timeout:.0f}s.\n"
                f"--- {self.log_path} (tail) ---\n{_log_tail(self.log_path)}"
            )
        if proc.poll() is not None:
            raise ServiceError(
                f"redis-server exited with {proc.returncode} on port {self.port}.\n"
                f"--- {self.log_path} (tail) ---\n{_log_tail(self.log_path)}"
            )

    def _ping(self) -> bool:
        """True if the server answers ``+PONG`` (``-LOADING`` etc. count as not ready)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def _terminate(self) -> None:
        """SIGTERM, then SIGKILL after a bounded wait; always reaps the child."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server by PID and delete its temp dir.  Idempotent."""
        atexit.unregister(self.stop)
        self._terminate()
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
        if not self._fixed_port:
            self.port = 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class GunicornProcess:
    """The app under gunicorn (gthread) on 127.0.0.1 and a free port, in its own session:
    master and workers form one process group, stopped (or killed) by the master's PID.
    Used by the real-server tests and the benches."""

    def __init__(self, app_spec: str, *, cwd: Path, env: dict[str, str], log: Path, workers: int = 1,
                 threads: int = 16, extra: Sequence[str] = (), health: str = "/healthz") -> None:
        self.app_spec, self.cwd, self.env, self.log = app_spec, cwd, env, log
        self.workers, self.threads, self.extra, self.health = workers, threads, tuple(extra), health
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait (bounded) until the health path answers 200; RuntimeError otherwise."""
        command = [str(Path(sys.executable).with_name("gunicorn")), "-b", f"127.0.0.1:{self.port}",
                   "-w", str(self.workers), "-k", "gthread", "--threads", str(self.threads),
                   "--graceful-timeout", "5", "--error-logfile", str(self.log), *self.extra, self.app_spec]
        self.proc = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.tail()}")
            if self.answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{self.tail()}")

    def answers(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", self.health)
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "<no log>"

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful anything."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM to the process group, SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
