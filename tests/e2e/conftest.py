"""Browser tests against the real server: ``flask run`` on 127.0.0.1 with the demo region.

The server runs as a subprocess on a fresh instance directory (SQLite, embedded worker),
exactly as ``./run demo`` starts it; chromium is Debian's, driven by playwright's sync API.
Nothing here talks to any host but 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.services import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT = 30.0  # seconds for the server to answer /healthz
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
PORT_ATTEMPTS = 3  # free_port() can lose the race to another process; retry with a new one
# Variables that would point the subprocesses elsewhere than the temp instance.
_DROPPED_PREFIXES = ("NETWERK_", "FLASK_", "SMTP_", "PG")
_DROPPED = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MAIL_FROM"}


def _flask_bin() -> Path:
    """The venv's ``flask``: next to the running interpreter, else the repo's ``.venv``."""
    for candidate in (Path(sys.executable).parent / "flask", REPO / ".venv" / "bin" / "flask"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail(f"no flask executable next to {sys.executable} or in {REPO / '.venv/bin'}")


def _clean_env(instance: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(_DROPPED_PREFIXES) and k not in _DROPPED
    }
    env["NETWERK_INSTANCE_PATH"] = str(instance)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<no log: {exc}>"


def _healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID, SIGKILL after a bounded wait; always reaps the child."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


@dataclass
class NetwerkServer:
    base_url: str
    instance: Path
    log_path: Path

    def url(self, path: str = "/") -> str:
        return self.base_url + path


@pytest.fixture(scope="session")
def netwerk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetwerkServer]:
    instance = tmp_path_factory.mktemp("e2e-instance")
    flask = _flask_bin()
    env = _clean_env(instance)
    for args in (["db", "upgrade"], ["demo"]):
        cmd = [str(flask), "--app", "netwerk", *args]
        done = subprocess.run(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120, check=False)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    log_path = instance / "server.log"
    proc: subprocess.Popen[bytes] | None = None
    base_url = ""
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        run_env = dict(env, NETWERK_BASE_URL=base_url)
        with log_path.open("ab") as log:
            proc = subprocess.Popen(
                [str(flask), "--app", "netwerk", "run", "--host", "127.0.0.1", "--port", str(port),
                 "--no-reload", "--with-threads"],
                cwd=REPO, env=run_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline and not _healthy(base_url + "/healthz"):
            time.sleep(0.1)
        if proc.poll() is None and _healthy(base_url + "/healthz"):
            break
        _stop(proc)
        if "Address already in use" not in _tail(log_path):
            pytest.fail(f"Netwerk did not answer {base_url}/healthz within {START_TIMEOUT:.0f}s "
                        f"(exit {proc.returncode}):\n{_tail(log_path)}")
    else:
        pytest.fail(f"no free port after {PORT_ATTEMPTS} attempts:\n{_tail(log_path)}")
    assert proc is not None
    try:
        yield NetwerkServer(base_url, instance, log_path)
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Tab:
    """One page in a fresh browser context, with what it asked for and complained about."""

    page: object
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests to anything but http(s)://127.0.0.1 (data: URLs are in-page, allowed)."""
        return [u for u in self.requests
                if not u.startswith("data:") and urlsplit(u).hostname != "127.0.0.1"]

    def real_console_errors(self) -> list[str]:
        return list(self.console_errors)

    def assert_clean(self) -> None:
        assert self.requests, "the page made no requests at all?"
        assert self.foreign_requests() == [], "requests left 127.0.0.1"
        assert self.real_console_errors() == [], "console errors (CSP violations show up here)"


@pytest.fixture
def tab(browser: object, netwerk_server: NetwerkServer) -> Iterator[Tab]:
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 1280, "height": 800}, locale="nl-NL", base_url=netwerk_server.base_url,
        service_workers="block",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    recorded = Tab(page)
    context.on("request", lambda request: recorded.requests.append(request.url))
    page.on("console", lambda msg: recorded.console_errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: recorded.console_errors.append(f"uncaught: {exc}"))
    try:
        yield recorded
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("NETWERK_ARTIFACTS") or REPO / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path
