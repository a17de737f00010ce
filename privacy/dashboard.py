"""The privacy officer's dashboard: the audit chain's integrity, and the register of
processing (AVG art. 30) generated from the covenant in force. Thin views: the state comes
from :mod:`privacy.integrity` and :mod:`privacy.register`."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from netwerk.db import utcnow
from netwerk.web import permission_required
from privacy import integrity, review
from privacy.csvsafe import csv_response
from privacy.register import CSV_HEADER, build_register, csv_rows, security_measures

bp = Blueprint("privacy_dashboard", __name__, url_prefix="/privacy")


@bp.route("/")
@permission_required("audit.read")
def index() -> str:
    return render_template("privacy/dashboard.html", state=integrity.chain_state(),
                           stale_hours=int(integrity.STALE_AFTER.total_seconds() // 3600),
                           open_flags=review.open_count())


@bp.route("/controleren", methods=["POST"])
@permission_required("audit.read")
def verify_now() -> Response:
    # CSRF is checked by the app-wide CSRFProtect before we get here.
    if integrity.request_run(current_user.id):
        flash("De controle van het auditlog is gestart. Vernieuw deze pagina over enkele ogenblikken "
              "voor het resultaat.", "success")
    else:
        minutes = integrity.MANUAL_COOLDOWN_SECONDS // 60
        flash(f"Er is in de afgelopen {minutes} minuten al een controle gestart. Wacht het resultaat af "
              "en probeer het daarna zo nodig opnieuw.", "info")
    return redirect(url_for("privacy_dashboard.index"))


@bp.route("/register")
@permission_required("audit.read")
def register() -> str:
    return render_template("privacy/register.html", register=build_register(utcnow().date()),
                           measures=security_measures(current_app.config))


@bp.route("/register.csv")
@permission_required("audit.read")
def register_csv() -> Response:
    found = build_register(utcnow().date())
    if found is None:
        flash("Er is geen convenant van kracht, dus er is geen register om te downloaden.", "error")
        return redirect(url_for("privacy_dashboard.register"))
    rows = list(csv_rows(found))  # small, and read before the response starts streaming
    return csv_response(f"verwerkingsregister-{found.covenant.version}.csv", CSV_HEADER, rows)
