"""The dashboard per role and a health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user, login_required
from sqlalchemy import text
from werkzeug.wrappers import Response

from netwerk import queries
from netwerk.db import db, utcnow
from netwerk.models import ROLES
from netwerk.policy import may

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def dashboard() -> str:
    roles = [ROLES[r] for r in ROLES if r in current_user.roles]
    open_matches = []
    if may(current_user, "persons.work"):
        open_matches = [m for m in queries.matches_of_org(current_user.organisation_id) if m.afgestemd_on is None]
    return render_template("home/dashboard.html", role_labels=roles, open_matches=open_matches,
                           today=utcnow().date())


@bp.route("/healthz")
def health() -> Response:
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
