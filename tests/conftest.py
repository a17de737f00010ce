"""Test harness: every app-level test runs on SQLite and on a real PostgreSQL server.

The suite starts its own PostgreSQL cluster and Redis server on 127.0.0.1 (free ports,
temp dirs, stopped by PID). Schemas are built by the real Alembic migrations. Each test
starts from an empty, migrated database: SQLite gets a fresh copy of a migrated template
file, PostgreSQL has every table truncated. Mail never leaves the machine: SMTP is unset,
so mails land in the outbox table, and a test that reaches for smtplib fails.
"""

from __future__ import annotations

import re
import shutil
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from netwerk import create_app
from netwerk.db import db
from netwerk.extensions import limiter
from privacy.encryption import Keyring
from tests.services import PostgresServer, RedisServer, unavailable_reason

BACKENDS = ("sqlite", "postgresql")
TEST_OVERRIDES = {
    "TESTING": True,
    "EMBEDDED_WORKER_AUTOSTART": False,
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 8,
    "ARGON2_PARALLELISM": 1,
    "RATELIMIT_ENABLED": False,
    "AUDIT_CHECKPOINT_EVERY": 0,
    "BASE_URL": "http://netwerk.test",
    "SMTP_HOST": None,
}


def _require(service: str) -> None:
    reason = unavailable_reason(service)
    if reason:
        pytest.fail(f"{reason} (the README test command installs it)")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    _require("postgres")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    _require("redis")
    server = RedisServer().start()
    yield server
    server.stop()


class FreshGClient(FlaskClient):
    """Gives every request an empty ``flask.g``, as its own app context would in production.

    The ``app`` fixture keeps one app context open for the whole test (factories need it)
    and Flask reuses an active app context for each request, so flask-login's cached user,
    Flask-WTF's cached CSRF token and ``g.login_session`` would otherwise leak from one
    request, and one client, to the next.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            vars(g._get_current_object()).clear()
        return super().open(*args, **kwargs)


def make_app(tmp: Path, database_url: str, **overrides: object) -> Flask:
    settings = dict(TEST_OVERRIDES)
    settings.update(INSTANCE_PATH=tmp, KEY_FILE=tmp / "keys.json", SQLALCHEMY_DATABASE_URI=database_url)
    settings.update(overrides)
    app = create_app(settings)
    app.test_client_class = FreshGClient
    return app


class Backend:
    """One migrated database and the app bound to it, reset between tests."""

    def __init__(self, name: str, app: Flask, template: Path | None) -> None:
        self.name, self.app, self.template = name, app, template

    def reset(self) -> None:
        with self.app.app_context():
            db.session.remove()
            if self.name == "sqlite":
                db.engine.dispose()
                target = Path(self.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
                for suffix in ("-wal", "-shm"):
                    Path(str(target) + suffix).unlink(missing_ok=True)
                shutil.copyfile(self.template, target)  # type: ignore[arg-type]
            else:
                _empty_postgresql()
        keys = self.app.extensions["netwerk.master_keys"]
        self.app.extensions["netwerk.keyring"] = Keyring(keys.kek)
        checkpoints = Path(self.app.instance_path) / "audit-checkpoints.jsonl"
        checkpoints.unlink(missing_ok=True)
        self.app.extensions["netwerk.redis"].flushall()


def _empty_postgresql() -> None:
    """Empty every table a test wrote and restart every sequence it used.

    TRUNCATE of all ~50 tables costs ~90 ms, most of it on tables that are already empty;
    asking which ones hold rows first costs ~2 ms, and a test writes few tables. The probe
    reads the tables themselves (not statistics, which lag), so rows written by a server
    subprocess are found too; sequences advanced by rows deleted again are restarted.
    """
    names = [t.name for t in db.metadata.sorted_tables]
    probe = " UNION ALL ".join(f"SELECT '{n}' WHERE EXISTS (SELECT 1 FROM {n})" for n in names)
    with db.engine.begin() as conn:
        written = [row[0] for row in conn.execute(text(probe))]
        if written:
            conn.execute(text(f"TRUNCATE {', '.join(written)} RESTART IDENTITY CASCADE"))
        used = conn.execute(text(
            "SELECT schemaname, sequencename FROM pg_sequences WHERE last_value IS NOT NULL")).all()
        for schema, sequence in used:
            conn.execute(text(f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART'))


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    tmp = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'netwerk.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_server").create_database("netwerk_test")
    app = make_app(tmp, url)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    template = None
    if request.param == "sqlite":
        template = tmp / "template.sqlite3"
        shutil.copyfile(tmp / "netwerk.sqlite3", template)
    yield Backend(request.param, app, template)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(backend: Backend) -> Iterator[Flask]:
    backend.reset()
    # The app lives for the whole session: a setting a test changes must not reach the next.
    settings = dict(backend.app.config)
    with backend.app.app_context():
        yield backend.app
        db.session.remove()
    backend.app.config.clear()
    backend.app.config.update(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def limited_app(tmp_path: Path) -> Iterator[Flask]:
    """An app of its own with the rate limiter on (the shared test apps run with it off)."""
    saved = dict(vars(limiter))  # the limiter is a process-wide object; put it back after
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'limited.sqlite3'}",
                   RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    try:
        with app.app_context():
            upgrade()
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        vars(limiter).clear()
        vars(limiter).update(saved)


@pytest.fixture
def admin(app: Flask):
    """A logged-in beheerder (with a second factor) and their client."""
    from tests.factories import make_user
    from tests.helpers import logged_in

    user = make_user("beheerder", totp=True)
    client = app.test_client()
    logged_in(client, user)
    return client, user


@pytest.fixture(autouse=True)
def _no_real_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a test tried to send real e-mail")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", refuse)


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} (status {page.status_code})"
    return match.group(1) or match.group(2)


def post_form(client: FlaskClient, url: str, data: dict, token_from: str | None = None,
              follow_redirects: bool = False):
    """POST like the browser would: with the CSRF token of the page the form is on."""
    payload = {"csrf_token": csrf_token(client, token_from or url), **data}
    return client.post(url, data=payload, follow_redirects=follow_redirects)


def login(client: FlaskClient, email: str, password: str, follow_redirects: bool = False):
    return post_form(client, "/inloggen", {"email": email, "password": password},
                     follow_redirects=follow_redirects)
