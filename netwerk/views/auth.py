"""Logging in (password, then the second factor when enrolled) and out."""

from __future__ import annotations

import time
import uuid

from flask import Blueprint, current_app, flash, g, redirect, render_template, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from netwerk import operations as ops
from netwerk.auth import current_actor
from netwerk.db import db
from netwerk.extensions import limiter
from netwerk.forms import CodeForm, ConfirmForm, LoginForm
from netwerk.models import User

bp = Blueprint("auth", __name__)

PENDING_TTL_SECONDS = 300


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _finish_login(user: User, two_factor_done: bool) -> Response:
    # Session fixation: nothing from before the login survives into the new session.
    session.clear()
    row = ops.start_session(user, current_actor(), two_factor_done)
    db.session.commit()
    session["sid"] = row.id
    login_user(user)
    return redirect(url_for("home.dashboard"))


@bp.route("/inloggen", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("auth/login.html", form=form), status
    try:
        result = ops.authenticate(form.email.data, form.password.data, current_actor())
    except ops.OperationError as exc:
        db.session.commit()  # the failure count and its audit entry are the point
        form.form_errors.append(exc.message)
        return render_template("auth/login.html", form=form), 422
    if result.needs_second_factor:
        db.session.commit()
        session.clear()
        session["pending_user"] = str(result.user.id)
        session["pending_since"] = int(time.time())
        return redirect(url_for("auth.second_factor"))
    return _finish_login(result.user, two_factor_done=False)


@bp.route("/inloggen/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def second_factor() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        # Already logged in: a stray GET (a link, an <img> on another site) must not end
        # the session; only the pending second-factor state is this page's business.
        return redirect(url_for("home.dashboard"))
    pending, since = session.get("pending_user"), session.get("pending_since", 0)
    if not pending or time.time() - since > PENDING_TTL_SECONDS:
        session.pop("pending_user", None)
        session.pop("pending_since", None)
        flash("Log opnieuw in.", "info")
        return redirect(url_for("auth.login"))
    # Locked for the rest of the request: two parallel posts of one code take turns, so the
    # second sees the code as spent and the failure count is never overwritten.
    user = db.session.get(User, uuid.UUID(pending), with_for_update={"of": User})
    if user is None or not user.active or not user.organisation.active or not user.totp_enabled:
        session.clear()
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.validate_on_submit():
        return render_template("auth/second_factor.html", form=form), 422 if form.is_submitted() else 200
    try:
        ops.check_second_factor(user, form.code.data, current_actor())
    except ops.OperationError as exc:
        db.session.commit()
        form.code.errors = [exc.message]
        return render_template("auth/second_factor.html", form=form), 422
    return _finish_login(user, two_factor_done=True)


@bp.route("/uitloggen", methods=["POST"])
def logout() -> Response:
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        row = g.get("login_session")
        if row is not None:
            ops.end_session(row, current_actor())
            db.session.commit()
        logout_user()
    session.clear()
    flash("U bent uitgelogd.", "info")
    return redirect(url_for("auth.login"))
