"""Tokens and the caller's own account."""

from __future__ import annotations

from flask import Response, current_app, g
from flask_login import current_user

from netwerk import operations as ops
from netwerk.api.core import ANY_TOKEN, MeResponse, OrganisationOut, TokenRequest, TokenResponse, endpoint, respond
from netwerk.auth import current_actor, two_factor_required
from netwerk.db import db
from netwerk.errors import api_error
from netwerk.extensions import limiter
from netwerk.models import ROLES

# --- endpoints ----------------------------------------------------------------------------

def _token_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@endpoint("/auth/token", "POST", "Vraag een toegangstoken aan met e-mail, wachtwoord en (zo nodig) code",
          request_model=TokenRequest, response_model=TokenResponse, status=201, auth=False,
          errors=(401, 403, 429))
@limiter.limit(_token_limit)
def issue_token(body: TokenRequest) -> Response:
    actor = current_actor()
    try:
        result = ops.authenticate(body.email, body.password, actor)
        user = result.user
        if result.needs_second_factor:
            if not body.otp:
                db.session.commit()
                return api_error(401, "Vul ook de code uit uw authenticator-app in (veld otp).", "code_nodig")
            ops.check_second_factor(user, body.otp, actor)
        elif two_factor_required(user):
            db.session.commit()
            return api_error(403, "Stel eerst tweestapsverificatie in via de website.", "tweestaps_nodig")
        if user.must_change_password:
            db.session.commit()
            return api_error(403, "Kies eerst een nieuw wachtwoord via de website.", "wachtwoord_wijzigen")
    except ops.OperationError as exc:
        db.session.commit()  # failure counts and their audit entries
        return api_error(401, exc.message, exc.code)
    issued = ops.issue_api_token(user, actor)
    db.session.commit()
    return respond(TokenResponse(access_token=issued.token, expires_at=issued.expires_at), 201)


@endpoint("/auth/token", "DELETE", "Trek het meegestuurde token in", status=204, scope=ANY_TOKEN)
def revoke_token() -> tuple[str, int]:
    ops.revoke_api_token(g.api_token, current_actor())
    db.session.commit()
    return "", 204


@endpoint("/me", "GET", "Wie ben ik: account, organisatie en rollen", response_model=MeResponse, scope=ANY_TOKEN)
def me() -> Response:
    user = current_user
    org = user.organisation
    return respond(MeResponse(
        id=str(user.id), name=user.name, email=user.email,
        roles=[r for r in ROLES if r in user.roles],
        organisation=OrganisationOut(id=str(org.id), name=org.name, type=org.org_type, domain=org.domain),
        two_factor_enabled=user.totp_enabled,
    ))

