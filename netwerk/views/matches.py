"""Matches (two organisations involved with the same person or household) and the in-app
notifications that announce them. A match is visible to its two organisations only."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from netwerk import access, queries
from netwerk import operations as ops
from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.forms import AcknowledgeForm, ConfirmForm
from netwerk.models import Match
from netwerk.web import Page, load_or_404, permission_required, refused

bp = Blueprint("matches", __name__)


def _mine(match_id: str) -> Match:
    match = load_or_404(Match, match_id)
    if not ops.match_party(match, current_user.organisation_id):
        abort(404)
    return match


def _form(match: Match) -> AcknowledgeForm:
    form = AcknowledgeForm()
    form.regievoerder_org_id.choices = [SelectChoice("", "Nog niet bepaald")] + [
        SelectChoice(str(i.organisation_id), i.organisation.name) for i in (match.first, match.second)]
    if not form.is_submitted():
        form.contact_made_on.data, form.afgestemd_on.data = match.contact_made_on, match.afgestemd_on
        form.regievoerder_org_id.data = str(match.regievoerder_org_id or "")
    return form


@bp.route("/matches")
@permission_required("persons.work")
def index() -> str:
    return render_template("matches/index.html", matches=queries.matches_of_org(current_user.organisation_id),
                           today=utcnow().date())


@bp.route("/matches/<match_id>", methods=["GET", "POST"])
@permission_required("persons.work")
def show(match_id: str) -> Page:
    match = _mine(match_id)
    form = _form(match)
    if form.validate_on_submit():
        lead = form.regievoerder_org_id.data
        ack = ops.Acknowledgement(form.contact_made_on.data, next(
            (i.organisation_id for i in (match.first, match.second) if str(i.organisation_id) == lead), None),
            form.afgestemd_on.data)
        try:
            ops.acknowledge_match(match, ack, current_actor(access.work_role(current_user)), utcnow().date())
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Afstemming vastgelegd.", "success")
            return redirect(url_for("matches.show", match_id=match.id))
    elif not form.is_submitted() and ops.mark_notifications_read(current_user, utcnow(), f"/matches/{match.id}"):
        db.session.commit()
    return render_template("matches/show.html", match=match, form=form, today=utcnow().date()), \
        422 if form.is_submitted() else 200


@bp.route("/meldingen")
@login_required
def notifications() -> str:
    return render_template("matches/notifications.html", notices=queries.notifications_of(current_user.id),
                           confirm=ConfirmForm())


@bp.route("/meldingen/gelezen", methods=["POST"])
@login_required
def notifications_read() -> Response:
    ConfirmForm().validate_on_submit() or abort(400)
    ops.mark_notifications_read(current_user, utcnow())
    db.session.commit()
    return redirect(url_for("matches.notifications"))
