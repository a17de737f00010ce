"""Configuration comes from the environment only; embedded defaults generate their keys
with mode 0600; production refuses to start without explicit secrets."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]
VARS = ("NETWERK_ENV", "SECRET_KEY", "NETWERK_KEY_FILE", "DATABASE_URL", "REDIS_URL", "NETWERK_INSTANCE_PATH")


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETWERK_INSTANCE_PATH", str(tmp_path))
    return monkeypatch


def test_embedded_defaults(env, tmp_path):
    cfg = load_config()
    assert cfg.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path / 'netwerk.sqlite3'}"
    assert cfg.REDIS_URL is None and cfg.EMBEDDED_WORKER
    secret = tmp_path / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert cfg.SECRET_KEY == secret.read_text().strip()
    assert load_config().SECRET_KEY == cfg.SECRET_KEY  # stable across restarts


def test_key_file_is_generated_0600_by_the_app(env, tmp_path):
    from netwerk import create_app

    create_app({"EMBEDDED_WORKER_AUTOSTART": False})
    key_file = tmp_path / "netwerk-keys.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_a_world_readable_key_file_is_refused(env, tmp_path):
    from netwerk import create_app

    create_app({"EMBEDDED_WORKER_AUTOSTART": False})
    os.chmod(tmp_path / "netwerk-keys.json", 0o644)
    with pytest.raises(SystemExit, match="chmod 600"):
        create_app({"EMBEDDED_WORKER_AUTOSTART": False})


def test_real_services_from_environment(env):
    env.setenv("DATABASE_URL", "postgres://u:p@db.internal/netwerk")
    env.setenv("REDIS_URL", "redis://cache.internal:6379/0")
    cfg = load_config()
    assert cfg.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u:p@db.internal/netwerk"
    assert cfg.REDIS_URL == "redis://cache.internal:6379/0"
    assert not cfg.EMBEDDED_WORKER
    assert cfg.RATELIMIT_STORAGE_URI == cfg.REDIS_URL


@pytest.mark.parametrize(("given", "missing"), [
    ({}, "SECRET_KEY and NETWERK_KEY_FILE"),
    ({"SECRET_KEY": "s" * 40}, "NETWERK_KEY_FILE"),
    ({"NETWERK_KEY_FILE": "/nonexistent"}, "SECRET_KEY"),
])
def test_production_refuses_without_explicit_secrets(env, given, missing):
    env.setenv("NETWERK_ENV", "production")
    for key, value in given.items():
        env.setenv(key, value)
    with pytest.raises(ConfigError, match=missing):
        load_config()


def test_production_settings(env, tmp_path):
    key_file = tmp_path / "prod-keys.json"
    subprocess.run([sys.executable, "-m", "privacy.keys", str(key_file)], cwd=REPO, check=True,
                   capture_output=True)
    env.setenv("NETWERK_ENV", "production")
    env.setenv("SECRET_KEY", "p" * 48)
    env.setenv("NETWERK_KEY_FILE", str(key_file))
    cfg = load_config()
    assert cfg.SESSION_COOKIE_SECURE and cfg.SESSION_COOKIE_HTTPONLY
    assert not cfg.DEMO_MODE
    assert not (tmp_path / "secret_key").exists()


def test_production_start_prints_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    env.update(NETWERK_ENV="production", NETWERK_INSTANCE_PATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "netwerk", "routes"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "NETWERK_ENV=production needs SECRET_KEY and NETWERK_KEY_FILE" in done.stderr
    assert "Traceback" not in done.stderr


def test_proxy_hops_decide_which_client_address_is_trusted(env):
    from netwerk import create_app

    for hops, expected in ((0, "127.0.0.1"), (1, "203.0.113.9")):
        env.setenv("NETWERK_PROXY_HOPS", str(hops))
        app = create_app({"EMBEDDED_WORKER_AUTOSTART": False})

        @app.route("/whoami")
        def whoami() -> str:
            from flask import request

            return request.remote_addr or ""

        seen = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"},
                                     environ_base={"REMOTE_ADDR": "127.0.0.1"})
        assert seen.get_data(as_text=True) == expected


def test_a_region_smart_word_list_is_read_at_start_and_a_broken_one_stops_it(env, tmp_path):
    from netwerk import create_app

    region = tmp_path / "regio.toml"
    region.write_text('vague_verbs = ["monitoren", "bijsturen"]\n', encoding="utf-8")
    env.setenv("NETWERK_SMART_WORDS_FILE", str(region))
    app = create_app({"EMBEDDED_WORKER_AUTOSTART": False})
    assert "bijsturen" in app.extensions["netwerk.smart_words"].vague_verbs
    region.write_text('vague_verbz = ["x"]\n', encoding="utf-8")  # a misspelt key
    with pytest.raises(SystemExit, match="unknown keys"):
        create_app({"EMBEDDED_WORKER_AUTOSTART": False})
    env.setenv("NETWERK_SMART_WORDS_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(SystemExit, match="Netwerk cannot start"):
        create_app({"EMBEDDED_WORKER_AUTOSTART": False})
