"""Beheer: organisations and user accounts (never case content), and the demo outbox."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from netwerk import operations as ops
from netwerk import queries
from netwerk.auth import current_actor
from netwerk.db import db
from netwerk.forms import ConfirmForm, OrganisationForm, UserForm
from netwerk.models import Organisation, User
from netwerk.web import Page, load_or_404, permission_required, refused

bp = Blueprint("admin", __name__, url_prefix="/beheer")

def _org_data(form: OrganisationForm) -> ops.OrganisationData:
    return ops.OrganisationData(
        name=form.name.data, org_type=form.org_type.data, domain=form.domain.data,
        email=form.email.data or None, phone=form.phone.data or None, address=form.address.data or None,
    )


def _stored(obj: object) -> object:
    """Prefill a form from the database on GET only: on POST, WTForms would fill a field the
    request left out with the stored value, so a partial POST would pass as complete."""
    return obj if request.method == "GET" else None


@bp.route("/organisaties")
@permission_required("organisations.manage")
def organisations() -> str:
    return render_template("admin/organisations.html", organisations=queries.organisations(),
                           confirm=ConfirmForm())


@bp.route("/organisaties/nieuw", methods=["GET", "POST"])
@permission_required("organisations.manage")
def organisation_new() -> Page:
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            ops.create_organisation(_org_data(form), current_actor("beheerder"))
        except ops.OperationError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            flash("Organisatie toegevoegd.", "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, org=None), 422 if form.is_submitted() else 200


@bp.route("/organisaties/<org_id>", methods=["GET", "POST"])
@permission_required("organisations.manage")
def organisation_edit(org_id: str) -> Page:
    org = load_or_404(Organisation, org_id)
    form = OrganisationForm(obj=_stored(org))
    if form.validate_on_submit():
        try:
            ops.update_organisation(org, _org_data(form), current_actor("beheerder"))
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Organisatie opgeslagen.", "success")
            return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation_form.html", form=form, org=org), 422 if form.is_submitted() else 200


@bp.route("/organisaties/<org_id>/<any(activeren, deactiveren):change>", methods=["POST"])
@permission_required("organisations.manage")
def organisation_toggle(org_id: str, change: str) -> Response:
    org = load_or_404(Organisation, org_id)
    ConfirmForm().validate_on_submit() or abort(400)
    try:
        ops.set_organisation_active(org, change == "activeren", current_actor("beheerder"))
    except ops.OperationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.organisations"))
    db.session.commit()
    flash("Organisatie " + ("geactiveerd." if change == "activeren" else "gedeactiveerd."), "success")
    return redirect(url_for("admin.organisations"))


# --- users --------------------------------------------------------------------------------

def _user_form(user: User | None) -> UserForm:
    form = UserForm(obj=_stored(user))
    form.organisation_id.choices = queries.organisation_choices(include=user.organisation_id if user else None)
    if user is not None and not form.is_submitted():
        form.organisation_id.data = str(user.organisation_id)
        form.roles.data = sorted(user.roles)
    return form


def _user_data(form: UserForm) -> ops.UserData:
    return ops.UserData(email=form.email.data, name=form.name.data, phone=form.phone.data or None,
                        organisation_id=uuid.UUID(form.organisation_id.data), roles=set(form.roles.data))


@bp.route("/gebruikers")
@permission_required("users.manage")
def users() -> str:
    return render_template("admin/users.html", users=queries.users_with_organisation(), confirm=ConfirmForm())


@bp.route("/gebruikers/nieuw", methods=["GET", "POST"])
@permission_required("users.manage")
def user_new() -> Page:
    form = _user_form(None)
    if form.validate_on_submit():
        try:
            user, initial = ops.create_user(_user_data(form), current_actor("beheerder"))
        except ops.OperationError as exc:
            refused(form, exc)
        else:
            db.session.commit()
            # Shown once, in this response only: never in a flash (cookie) or a mail.
            return render_template("admin/one_time_password.html", user=user, password=initial, created=True)
    return render_template("admin/user_form.html", form=form, user=None), 422 if form.is_submitted() else 200


@bp.route("/gebruikers/<user_id>", methods=["GET", "POST"])
@permission_required("users.manage")
def user_edit(user_id: str) -> Page:
    user = load_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit():
        try:
            ops.update_user(user, _user_data(form), current_actor("beheerder"))
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Gebruiker opgeslagen.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, confirm=ConfirmForm()), \
        422 if form.is_submitted() else 200


@bp.route("/gebruikers/<user_id>/wachtwoord-herstellen", methods=["POST"])
@permission_required("users.manage")
def user_reset(user_id: str) -> Page:
    user = load_or_404(User, user_id)
    ConfirmForm().validate_on_submit() or abort(400)
    initial = ops.reset_password(user, current_actor("beheerder"))
    db.session.commit()
    return render_template("admin/one_time_password.html", user=user, password=initial, created=False)


@bp.route("/gebruikers/<user_id>/<any(activeren, deactiveren):change>", methods=["POST"])
@permission_required("users.manage")
def user_toggle(user_id: str, change: str) -> Page:
    user = load_or_404(User, user_id)
    ConfirmForm().validate_on_submit() or abort(400)
    try:
        ops.set_user_active(user, change == "activeren", current_actor("beheerder"))
    except ops.OperationError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.users"))
    db.session.commit()
    done = "geactiveerd." if change == "activeren" else "gedeactiveerd; alle sessies en tokens zijn beëindigd."
    flash("Gebruiker " + done, "success")
    return redirect(url_for("admin.users"))


@bp.route("/uitgaande-mail")
@permission_required("outbox.read")
def outbox() -> str:
    if not current_app.config["DEMO_MODE"]:
        abort(404)
    return render_template("admin/outbox.html", mails=queries.outbox())
