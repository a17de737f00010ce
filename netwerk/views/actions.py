"""Mijn acties: the between-meetings screen. Every open action the user owns, their
organisation owns, or that sits on a plan they coordinate, by due date, with "te laat",
"binnenkort" and "niet geaccepteerd" marks; status and progress are updated inline
(choose, type, save) and an owner accepts with one click.

The plan page posts the same forms here, with ``next`` pointing back to the plan: there is
one update path, whichever screen the user is on.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from netwerk import operations as ops
from netwerk import queries
from netwerk.db import db, utcnow
from netwerk.forms import ActionAcceptForm, ActionProgressForm
from netwerk.models.plans import ACTION_STATES, FAILURE_REASONS, PlanAction
from netwerk.operations.common import OperationError
from netwerk.operations.plans import StaleVersion, accept_action, may_accept, update_action
from netwerk.web import Page, load_or_404, permission_required, work_actor

bp = Blueprint("actions", __name__)

STALE_MESSAGE = ("Iemand anders heeft deze actie intussen bijgewerkt; hieronder staat de nieuwe stand. "
                 "Uw wijziging is niet opgeslagen.")


def safe_next(value: str | None) -> str | None:
    """A same-site path to return to, or None. Anything with a scheme, a host, a
    protocol-relative ``//`` or a backslash (which browsers read as ``/``) is refused, so
    the form cannot be turned into a redirect to another site."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if any(ord(ch) < 33 for ch in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def _page_number() -> int:
    # ?pagina=abc or a negative number shows the first page; past the end, the last one.
    value = request.args.get("pagina", "")
    return int(value) if value.isdecimal() and len(value) < 7 else 1


def _page(status: int = 200) -> Page:
    today = utcnow().date()
    page = queries.my_actions_page(current_user, today, _page_number(),
                                   current_app.config["MY_ACTIONS_PER_PAGE"])
    # Rendered before the commit of the gate's audit entries: a commit expires the loaded
    # rows, and reloading them one by one would make the page cost a statement per action.
    body = render_template("actions/index.html", page=page, rows=page.rows, states=ACTION_STATES,
                           reasons=FAILURE_REASONS, today=today, accept_days=queries.accept_days())
    db.session.commit()
    return body, status


def _touchable(action_id: str) -> PlanAction:
    """The action, if the user may work on it; otherwise the same 404 as a missing one."""
    action = load_or_404(PlanAction, action_id)
    if not queries.may_touch_action(current_user, action):
        abort(404)
    return action


def _refused(back: str | None, status: int) -> Page | Response:
    # From the plan page the refusal goes back there: it shows the current state and the
    # flashed message. Nothing was written (the caller rolled back).
    return redirect(back) if back else _page(status)


@bp.route("/mijn-acties")
@permission_required("persons.work")
def index() -> Page:
    ops.mark_notifications_read(current_user, utcnow(), "/mijn-acties")  # the reminders point here
    return _page()


@bp.route("/acties/<action_id>", methods=["POST"])
@permission_required("persons.work")
def update(action_id: str) -> Page | Response:
    action = _touchable(action_id)
    form = ActionProgressForm()
    back = safe_next(form.next.data)
    if not form.validate_on_submit():
        for errors in [form.form_errors, *(f.errors for f in form)]:
            for message in errors:
                flash(message, "error")
        return _refused(back, 422)
    try:
        version = int(form.version.data)
    except (TypeError, ValueError):
        abort(400)
    try:
        update_action(action, status=form.status.data, progress=form.progress.data,
                      failure_reason=form.failure_reason.data or None, due=None, expected_version=version,
                      actor=work_actor(), today=utcnow().date())
    except StaleVersion:
        db.session.rollback()
        flash(STALE_MESSAGE, "error")
        return _refused(back, 409)
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _refused(back, 422)
    db.session.commit()
    flash("Actie bijgewerkt.", "success")
    # Judged from the note just written: said, not refused, and only to the owner's own
    # organisation, whose criterion it is. Anyone else updating the action (a coordinator
    # the gate does not show its text) could otherwise test words against a hidden criterion.
    if action.criterion_met is False and may_accept(action, current_user):
        flash("Uw notitie noemt niet wat er volgens “klaar als” bereikt moest zijn. De actie staat op "
              "gereed, maar telt voor de opschaling nog als open. Beschrijf in een nieuwe notitie wat er "
              "is bereikt.", "warning")
    return redirect(back or url_for("actions.index"))


@bp.route("/acties/<action_id>/accepteren", methods=["POST"])
@permission_required("persons.work")
def accept(action_id: str) -> Response:
    action = _touchable(action_id)
    form = ActionAcceptForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        accept_action(action, current_user, work_actor(), utcnow())
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Actie geaccepteerd.", "success")
    return redirect(safe_next(form.next.data) or url_for("actions.index"))
