"""The dashboard per role and a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import text
from werkzeug.wrappers import Response

from netwerk.db import db
from netwerk.models import ROLES

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def dashboard() -> str:
    roles = [ROLES[r] for r in ROLES if r in current_user.roles]
    return render_template("home/dashboard.html", role_labels=roles)


@bp.route("/healthz")
def health() -> Response:
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
