"""The user's own account: password change, two-factor enrolment and personal API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from netwerk import operations as ops
from netwerk.auth import current_actor, two_factor_required
from netwerk.db import db, utcnow
from netwerk.extensions import limiter
from netwerk.forms import CodeForm, ConfirmForm, DisableTwoFactorForm, PasswordChangeForm, PersonalTokenForm
from netwerk.models import TOKEN_SCOPES, ApiToken, LoginSession
from netwerk.operations.auth import (
    active_personal_tokens,
    create_personal_token,
    personal_token_days,
    revoke_api_token,
)
from netwerk.security import new_totp_secret, open_sealed, provisioning_uri, qr_svg, seal

bp = Blueprint("account", __name__, url_prefix="/account")


def _password_check_limit() -> str:
    # These forms check the current password: without a limit, a borrowed session could
    # guess it at hashing speed.
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/")
@login_required
def overview() -> str:
    return render_template("account/overview.html", required=two_factor_required(current_user),
                           disable_form=DisableTwoFactorForm())


@bp.route("/wachtwoord", methods=["GET", "POST"])
@limiter.limit(_password_check_limit, methods=["POST"])
@login_required
def password() -> Response | str | tuple[str, int]:
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return render_template("account/password.html", form=form), 422 if form.is_submitted() else 200
    try:
        ops.change_password(current_user, form.current_password.data, form.new_password.data,
                            current_actor(), keep_session=g.get("login_session"))
    except ops.OperationError as exc:
        db.session.commit()
        getattr(form, exc.field or "new_password").errors = [exc.message]
        return render_template("account/password.html", form=form), 422
    db.session.commit()
    flash("Uw wachtwoord is gewijzigd. Andere sessies en API-tokens zijn beëindigd.", "success")
    return redirect(url_for("home.dashboard"))


@bp.route("/tweestapsverificatie", methods=["GET", "POST"])
@login_required
def two_factor() -> Response | str | tuple[str, int]:
    login_session = g.get("login_session")
    if current_user.totp_enabled and (login_session is None or login_session.two_factor_done):
        return redirect(url_for("account.overview"))
    if current_user.totp_enabled:
        # Enrolled, but this session logged in before that: confirm with a code now.
        return _confirm_existing(login_session)
    # The secret lives in the session until confirmed, so an abandoned enrolment leaves
    # nothing in the database. The session cookie is signed, not encrypted: the secret is
    # sealed, bound to this user and login session, so a copy of the cookie does not give
    # away the second factor.
    binding = f"totp_pending|{current_user.id}|{session.get('sid', '')}"
    secret = open_sealed(session.get("totp_pending"), binding)
    if secret is None:
        secret = new_totp_secret()
        session["totp_pending"] = seal(secret, binding)
    form = CodeForm()
    uri = provisioning_uri(secret, current_user.email)
    if form.validate_on_submit():
        try:
            ops.enable_two_factor(current_user, secret, form.code.data, current_actor(), login_session)
        except ops.OperationError as exc:
            form.code.errors = [exc.message]
        else:
            db.session.commit()
            session.pop("totp_pending", None)
            flash("Tweestapsverificatie staat aan.", "success")
            return redirect(url_for("home.dashboard"))
    status = 422 if form.is_submitted() else 200
    return render_template("account/two_factor.html", form=form, qr=qr_svg(uri), secret=secret,
                           required=two_factor_required(current_user)), status


def _confirm_existing(login_session: LoginSession) -> Response | tuple[str, int] | str:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            ops.confirm_session_second_factor(current_user, form.code.data, login_session, current_actor())
        except ops.OperationError as exc:
            db.session.commit()
            form.code.errors = [exc.message]
        else:
            db.session.commit()
            return redirect(url_for("home.dashboard"))
    return render_template("auth/second_factor.html", form=form), 422 if form.is_submitted() else 200


@bp.route("/tweestapsverificatie/uit", methods=["POST"])
@limiter.limit(_password_check_limit)
@login_required
def disable_two_factor() -> Response | tuple[str, int] | str:
    form = DisableTwoFactorForm()
    required = two_factor_required(current_user)
    if form.validate_on_submit():
        try:
            ops.disable_two_factor(current_user, form.password.data, current_actor(), required)
        except ops.OperationError as exc:
            form.password.errors = [exc.message]
        else:
            db.session.commit()
            flash("Tweestapsverificatie staat uit.", "success")
            return redirect(url_for("account.overview"))
    return render_template("account/overview.html", required=required, disable_form=form), 422


# --- personal API tokens ------------------------------------------------------------------

def _token_page(form: PersonalTokenForm | None = None, new_token: str | None = None,
                status: int = 200) -> tuple[str, int]:
    # Revoked and expired tokens stay listed for a while, so "why did my app stop?" has an answer.
    recent = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id, ApiToken.kind == "persoonlijk")
        .order_by(ApiToken.issued_at.desc()).limit(30)).all()
    return render_template(
        "account/tokens.html", form=form or PersonalTokenForm(days=personal_token_days()), tokens=recent,
        active={t.jti for t in active_personal_tokens(current_user)}, scopes=TOKEN_SCOPES,
        new_token=new_token, now=utcnow(), revoke=ConfirmForm(),
    ), status


@bp.route("/tokens")
@login_required
def tokens() -> tuple[str, int]:
    return _token_page()


@bp.route("/tokens", methods=["POST"])
@limiter.limit(_password_check_limit)
@login_required
def create_token() -> tuple[str, int]:
    form = PersonalTokenForm(days=personal_token_days())
    if not form.validate_on_submit():
        return _token_page(form, status=422)
    try:
        issued = create_personal_token(current_user, name=form.name.data, scopes=form.scopes.data,
                                       days=int(form.days.data), password=form.password.data,
                                       actor=current_actor())
    except ops.OperationError as exc:
        db.session.commit()  # a wrong password is on record
        getattr(form, exc.field or "name").errors = [exc.message]
        return _token_page(form, status=422)
    db.session.commit()
    # Shown once, in this answer only (never in a flash message or the session cookie);
    # every page is sent with Cache-Control: no-store.
    return _token_page(new_token=issued.token)


@bp.route("/tokens/<jti>/intrekken", methods=["POST"])
@login_required
def revoke_token(jti: str) -> Response:
    token = db.session.get(ApiToken, jti[:64])
    if token is None or token.user_id != current_user.id or token.kind != "persoonlijk":
        abort(404)  # someone else's token answers like one that does not exist
    if not ConfirmForm().validate_on_submit():
        abort(400)
    revoke_api_token(token, current_actor())
    db.session.commit()
    flash(f"Token \u201c{token.name}\u201d is ingetrokken.", "success")
    return redirect(url_for("account.tokens"))
