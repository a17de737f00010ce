"""Mijn acties: the between-meetings screen. Every open action the user owns, their
organisation owns, or that sits on a plan they coordinate, by due date, with "te laat" and
"binnenkort" marks; status and progress are updated inline (choose, type, save)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import HiddenField, SelectChoice, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Optional

from netwerk import access, queries
from netwerk import operations as ops
from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.forms import StrictForm
from netwerk.models.plans import ACTION_STATES, FAILURE_REASONS, PlanAction
from netwerk.operations.common import OperationError
from netwerk.operations.plans import StaleVersion, update_action
from netwerk.web import Page, load_or_404, permission_required

bp = Blueprint("actions", __name__)

STALE_MESSAGE = ("Iemand anders heeft deze actie intussen bijgewerkt; hieronder staat de nieuwe stand. "
                 "Uw wijziging is niet opgeslagen.")


class ActionProgressForm(StrictForm):
    version = HiddenField(validators=[InputRequired()])
    status = SelectField("Status", choices=[SelectChoice(k, v) for k, v in ACTION_STATES.items()],
                         validators=[InputRequired()])
    failure_reason = SelectField("Reden als niet gelukt", validators=[Optional()], choices=[
        SelectChoice("", "—"), *(SelectChoice(k, v) for k, v in FAILURE_REASONS.items())])
    progress = TextAreaField("Voortgang", validators=[Optional()])
    submit = SubmitField("Opslaan")


def _page(status: int = 200) -> Page:
    today = utcnow().date()
    rows = queries.my_actions(current_user, today)
    # Rendered before the commit of the gate's audit entries: a commit expires the loaded
    # rows, and reloading them one by one would make the page cost a statement per action.
    body = render_template("actions/index.html", rows=rows, states=ACTION_STATES, reasons=FAILURE_REASONS,
                           today=today)
    db.session.commit()
    return body, status


@bp.route("/mijn-acties")
@permission_required("persons.work")
def index() -> Page:
    ops.mark_notifications_read(current_user, utcnow(), "/mijn-acties")  # the reminders point here
    return _page()


@bp.route("/acties/<action_id>", methods=["POST"])
@permission_required("persons.work")
def update(action_id: str) -> Page | Response:
    action = load_or_404(PlanAction, action_id)
    if not queries.may_touch_action(current_user, action):
        abort(404)
    form = ActionProgressForm()
    if not form.validate_on_submit():
        for errors in [form.form_errors, *(f.errors for f in form)]:
            for message in errors:
                flash(message, "error")
        return _page(422)
    try:
        version = int(form.version.data)
    except (TypeError, ValueError):
        abort(400)
    try:
        update_action(action, status=form.status.data, progress=form.progress.data,
                      failure_reason=form.failure_reason.data or None, due=None, expected_version=version,
                      actor=current_actor(access.work_role(current_user)), today=utcnow().date())
    except StaleVersion:
        db.session.rollback()
        flash(STALE_MESSAGE, "error")
        return _page(409)
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _page(422)
    db.session.commit()
    flash("Actie bijgewerkt.", "success")
    return redirect(url_for("actions.index"))
