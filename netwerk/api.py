"""The JSON API, ``/api/v1``: bearer tokens only, JSON errors in Dutch, and an OpenAPI 3.1
document generated from the same route table and pydantic models that serve requests,
so the document cannot drift from the code (a test also compares it with the URL map)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netwerk import operations as ops
from netwerk.auth import current_actor, two_factor_required
from netwerk.db import db
from netwerk.errors import api_error
from netwerk.extensions import limiter
from netwerk.models import ROLES

bp = Blueprint("api", __name__, url_prefix="/api/v1")


# --- schemas ------------------------------------------------------------------------------

class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenRequest(StrictModel):
    # No control characters: PostgreSQL refuses NUL in text, which would surface as a 500.
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(default=None, max_length=8)


class TokenResponse(StrictModel):
    access_token: str
    token_type: str = "Bearer"
    expires_at: datetime


class OrganisationOut(StrictModel):
    id: str
    name: str
    type: str
    domain: str


class MeResponse(StrictModel):
    id: str
    name: str
    email: str
    roles: list[str]
    organisation: OrganisationOut
    two_factor_enabled: bool


class ErrorBody(StrictModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorResponse(StrictModel):
    error: ErrorBody


# --- the route table (also the OpenAPI source) --------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    path: str  # OpenAPI form, relative to /api/v1
    method: str
    summary: str
    request: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    auth: bool
    errors: tuple[int, ...]


ENDPOINTS: list[Endpoint] = []

FIELD_MESSAGES = {
    "missing": "Dit veld ontbreekt.",
    "extra_forbidden": "Onbekend veld.",
    "string_type": "Moet tekst zijn.",
    "string_too_short": "Te kort.",
    "string_too_long": "Te lang.",
    "string_pattern_mismatch": "Bevat ongeldige tekens.",
}


def _dutch_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)",
         "message": FIELD_MESSAGES.get(err["type"], "Ongeldige waarde.")}
        for err in exc.errors()
    ]


def endpoint(path: str, method: str, summary: str, *, request_model: type[BaseModel] | None = None,
             response_model: type[BaseModel] | None = None, status: int = 200, auth: bool = True,
             errors: tuple[int, ...] = ()) -> Callable:
    """Register a JSON endpoint: parse and validate the body, check the token, document."""
    codes = set(errors) | ({400, 413, 415, 422} if request_model else set()) | ({401} if auth else set())
    ENDPOINTS.append(Endpoint(path, method.lower(), summary, request_model, response_model,
                              status, auth, tuple(sorted(codes))))

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if auth and not current_user.is_authenticated:
                return api_error(401)
            if request_model is not None:
                body = _json_body()
                if isinstance(body, Response):
                    return body
                try:
                    kwargs["body"] = request_model.model_validate(body)
                except ValidationError as exc:
                    return api_error(422, details=_dutch_details(exc))
            return view(*args, **kwargs)

        bp.add_url_rule(path.replace("{", "<").replace("}", ">"), view_func=wrapped, methods=[method])
        return wrapped

    return decorator


def _json_body() -> Any:
    if not request.is_json:
        return api_error(415)
    try:
        # json.loads, not get_json(silent=True): that answers a literal ``null`` with "not
        # JSON" and lets the RecursionError of a deeply nested body through as a 500.
        body = json.loads(request.get_data())
    except (ValueError, RecursionError):
        return api_error(400, "De body is geen geldige JSON.")
    if not isinstance(body, dict):
        return api_error(422, "De body moet een JSON-object zijn.")
    return body


def _respond(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


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
    return _respond(TokenResponse(access_token=issued.token, expires_at=issued.expires_at), 201)


@endpoint("/auth/token", "DELETE", "Trek het meegestuurde token in", status=204)
def revoke_token() -> tuple[str, int]:
    ops.revoke_api_token(g.api_token, current_actor())
    db.session.commit()
    return "", 204


@endpoint("/me", "GET", "Wie ben ik: account, organisatie en rollen", response_model=MeResponse)
def me() -> Response:
    user = current_user
    org = user.organisation
    return _respond(MeResponse(
        id=str(user.id), name=user.name, email=user.email,
        roles=[r for r in ROLES if r in user.roles],
        organisation=OrganisationOut(id=str(org.id), name=org.name, type=org.org_type, domain=org.domain),
        two_factor_enabled=user.totp_enabled,
    ))


@bp.route("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error_ref = ref(ErrorResponse)
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        operation_id = f"{ep.method}_{ep.path.strip('/').replace('/', '_')}"
        op: dict[str, Any] = {"summary": ep.summary, "operationId": operation_id}
        if ep.auth:
            op["security"] = [{"bearer": []}]
        else:
            op["security"] = []
        if ep.request:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(ep.request)}}}
        ok: dict[str, Any] = {"description": "Gelukt"}
        if ep.response:
            ok["content"] = {"application/json": {"schema": ref(ep.response)}}
        op["responses"] = {str(ep.status): ok} | {
            str(code): {"description": "Fout", "content": {"application/json": {"schema": error_ref}}}
            for code in ep.errors
        }
        paths.setdefault(ep.path, {})[ep.method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Netwerk API", "version": "1"},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
