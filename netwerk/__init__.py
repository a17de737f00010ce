"""Netwerk application core: ``create_app()``, accounts and organisations, the JSON API,
background jobs, e-mail and the CLI. Run it with ``flask --app netwerk ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from config import BASE_DIR, ConfigError, load_config
from netwerk import setup
from netwerk.smart import load_word_lists
from privacy.keys import KeyFileError

__all__ = ["ConfigError", "create_app"]


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment (plus ``overrides``, used by tests).

    A configuration problem ends the process with one line saying what is missing,
    not a traceback: that line is what an operator reads in a service log.
    """
    try:
        cfg = load_config(overrides)
    except ConfigError as exc:
        raise SystemExit(f"Netwerk cannot start: {exc}") from None
    app = Flask(
        __name__,
        instance_path=str(Path(cfg.INSTANCE_PATH).resolve()),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_mapping(cfg.as_flask_mapping())
    app.config["NETWERK_CONFIG"] = cfg
    # Private: in the embedded default it holds the SQLite database and the key file.
    Path(app.instance_path).mkdir(parents=True, exist_ok=True, mode=0o700)

    try:
        setup.init_extensions(app, cfg)
        # A region's SMART word lists are read now: a broken file stops the start, not a user.
        app.extensions["netwerk.smart_words"] = load_word_lists(cfg.SMART_WORDS_FILE)
    except (KeyFileError, ValueError, OSError) as exc:
        raise SystemExit(f"Netwerk cannot start: {exc}") from None
    setup.init_security(app)
    setup.register_blueprints(app)
    setup.register_cli(app)
    setup.register_errors(app)
    setup.init_jobs(app, cfg)
    return app
