"""Wiring for ``create_app``: extensions, security headers, blueprints, CLI, errors, jobs."""

from __future__ import annotations

import secrets

from flask import Flask, Response, g, request
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import escalation.models  # noqa: F401 - registers the escalation tables on the metadata
import netwerk.models  # noqa: F401 - registers the core tables on the metadata
import privacy.models  # noqa: F401 - registers the privacy tables on the metadata
from config import BASE_DIR, Config
from netwerk import auth, jobqueue, views
from netwerk.api import bp as api_bp
from netwerk.cli import register as register_core_cli
from netwerk.errors import register as register_error_handlers
from netwerk.extensions import csrf, db, limiter, migrate
from netwerk.policy import may
from netwerk.queries import unread_notifications
from privacy.cli import privacy_cli
from privacy.dashboard import bp as privacy_dashboard_bp
from privacy.encryption import Keyring
from privacy.explorer import bp as audit_explorer_bp
from privacy.keys import load_master_keys
from privacy.retention_views import bp as privacy_retention_bp
from privacy.retention_views import tasks_bp as rectification_bp
from privacy.review_views import bp as review_bp
from privacy.sar_views import bp as sar_bp
from privacy.views import bp as privacy_bp


def init_extensions(app: Flask, cfg: Config) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), compare_type=True,
                     render_as_batch=True)  # SQLite alters tables by copying them
    csrf.init_app(app)
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)
    limiter.init_app(app)
    auth.init_app(app)
    keys = load_master_keys(cfg.KEY_FILE, create=not cfg.is_production)
    app.extensions["netwerk.master_keys"] = keys
    app.extensions["netwerk.keyring"] = Keyring(keys.kek)


def init_security(app: Flask) -> None:
    app.jinja_env.globals["may"] = may
    app.jinja_env.globals["unread_notifications"] = _unread_notifications
    hops = app.config["PROXY_HOPS"]
    if hops:
        # Behind a reverse proxy the client address (for rate limits and the audit log)
        # comes from X-Forwarded-For; trust exactly as many hops as configured, no more.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.after_request
    def _headers(response: Response) -> Response:
        nonce = g.get("csp_nonce", "")
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
            "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # same-origin, not no-referrer: nothing leaves for other sites, and Flask-WTF's
        # HTTPS check needs a same-origin Referer on every form post.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.teardown_request
    def _end_transaction(exc: BaseException | None) -> None:
        # The request owns the transaction: views commit explicitly; anything left
        # uncommitted (an error, an abort) is rolled back here.
        if db.session.is_active:
            db.session.rollback()


class DatabaseInt(IntegerConverter):
    """``<int:...>`` in every route: at most a 32-bit integer, so an id of 30 digits is a
    404 like any other unknown id instead of an overflow in the database (a 500)."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = DatabaseInt  # before any rule is added
    # Imported here: meetings builds on netwerk, so a module-level import would be circular
    # whenever meetings is imported first (a worker, a test module).
    import netwerk.api.escalations  # noqa: F401, PLC0415 - the escalation endpoints, on the API blueprint
    from escalation.views import bp as escalation_bp  # noqa: PLC0415
    from meetings.views import bp as meetings_bp  # noqa: PLC0415

    views.register(app)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(escalation_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(audit_explorer_bp)
    app.register_blueprint(privacy_dashboard_bp)
    app.register_blueprint(privacy_retention_bp)
    app.register_blueprint(rectification_bp)
    app.register_blueprint(review_bp)
    app.register_blueprint(sar_bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # the API authenticates by bearer token and ignores cookies


def register_cli(app: Flask) -> None:
    register_core_cli(app)
    app.cli.add_command(privacy_cli)
    from escalation.cli import escalation_cli  # noqa: PLC0415 - escalation builds on meetings (see register_blueprints)

    app.cli.add_command(escalation_cli)


def register_errors(app: Flask) -> None:
    register_error_handlers(app)


def init_jobs(app: Flask, cfg: Config) -> None:
    jobqueue.init_app(app)
    if cfg.EMBEDDED_WORKER and app.config.get("EMBEDDED_WORKER_AUTOSTART", True):
        # Only a process that serves requests starts the worker threads; CLI commands
        # drain the queue themselves before they exit (see jobqueue.drain).
        @app.before_request
        def _start_embedded_worker() -> None:
            if "netwerk.embedded_runtime" not in app.extensions:
                jobqueue.start_embedded(app)


def _unread_notifications() -> int:
    return unread_notifications(current_user.id) if current_user.is_authenticated else 0
