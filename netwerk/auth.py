"""Who is making this request: browser sessions (cookie + server-side record) and API
bearer tokens, and the audit :class:`~privacy.audit.Actor` built from them.

The API ignores cookies entirely and the browser side ignores bearer tokens, so a
cross-site request can never ride on a session to reach the API.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from flask import Flask, current_app, g, request, session
from flask_login import current_user

from netwerk import tokens
from netwerk.db import db, utcnow
from netwerk.extensions import login_manager
from netwerk.models import ApiToken, LoginSession, User
from netwerk.policy import needs_two_factor
from privacy.audit import Actor

LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Log in om verder te gaan."
    login_manager.login_message_category = "info"
    # Our own server-side session record does the real work; "strong" additionally drops a
    # session whose cookie turns up from another browser fingerprint.
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_session_user)
    login_manager.request_loader(_load_token_user)


def _load_session_user(user_id: str) -> User | None:
    if is_api_request():
        return None
    sid = session.get("sid")
    if not sid:
        return None
    row = db.session.get(LoginSession, sid)
    if row is None or row.ended_at is not None or str(row.user_id) != user_id:
        return None
    cfg = current_app.config
    now = utcnow()
    if (now - row.last_seen_at > timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
            or now - row.created_at > timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])):
        row.ended_at = now
        db.session.commit()
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > LAST_SEEN_RESOLUTION:
        # Loaded before the view does anything, so this commit carries nothing else.
        row.last_seen_at = now
        db.session.commit()
    g.login_session = row
    g.access_point = "session:" + _short_hash(sid)
    return user


def _load_token_user(req: object) -> User | None:
    if not is_api_request():
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = tokens.decode(token.strip())
    except tokens.TokenError:
        return None
    row = db.session.get(ApiToken, claims["jti"])
    if row is None or row.revoked_at is not None or str(row.user_id) != claims["sub"]:
        return None
    try:
        user = db.session.get(User, uuid.UUID(claims["sub"]))
    except ValueError:
        return None
    if user is None or not user.active:
        return None
    g.api_token = row
    g.access_point = "token:" + _short_hash(row.jti)
    return user


def _short_hash(value: str) -> str:
    # The audit log names the access point without holding a usable session id or token.
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def request_ip() -> str | None:
    return request.remote_addr if request else None


def actor_for(user: User | None, role: str | None = None) -> Actor:
    """The audit actor for ``user`` in this request (``role`` defaults to their first)."""
    access_point = g.get("access_point") if request else None
    ip = request_ip() if request else None
    if user is None:
        return Actor(user_id=None, org_id=None, role=None, access_point=access_point, ip=ip)
    return Actor(
        user_id=user.id, org_id=user.organisation_id, role=role or user.primary_role,
        access_point=access_point, ip=ip, roles=user.roles,
    )


def current_actor(role: str | None = None) -> Actor:
    user = current_user if current_user.is_authenticated else None
    return actor_for(user, role)  # type: ignore[arg-type]


def two_factor_required(user: User) -> bool:
    cfg = current_app.config
    if user.is_demo and cfg["DEMO_MODE"] and not cfg["DEMO_2FA"]:
        return False
    return needs_two_factor(user.roles, cfg["TWO_FACTOR_ROLES"])
