"""The API's machinery: the blueprint, strict pydantic models, the route table that both
serves requests and generates the OpenAPI 3.1 document, and Dutch validation messages."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_login import current_user
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from netwerk.auth import current_actor
from netwerk.db import db
from netwerk.errors import api_error
from netwerk.models import TOKEN_SCOPES
from netwerk.operations.auth import note_token_use
from netwerk.policy import may

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

# Every path parameter, by name: its schema is the same wherever it appears. A malformed
# id is answered like an unknown one (404), so the URL rule takes any string.
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "person_id": {"type": "string", "format": "uuid"},
    "family_id": {"type": "string", "format": "uuid"},
    "match_id": {"type": "string", "format": "uuid"},
    "action_id": {"type": "string", "format": "uuid"},
    "consent_id": {"type": "integer", "minimum": 1},
}


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
    query: type[BaseModel] | None = None  # the query string, one parameter per field
    error_models: tuple[tuple[int, type[BaseModel]], ...] = ()  # error bodies other than ErrorResponse
    scope: str | None = None  # what a personal token needs; None: session tokens only

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


ENDPOINTS: list[Endpoint] = []

# An endpoint about the token or account itself (who am I, revoke this token): any token.
ANY_TOKEN = "*"

FIELD_MESSAGES = {
    "missing": "Dit veld ontbreekt.",
    "extra_forbidden": "Onbekend veld.",
    "string_type": "Moet tekst zijn.",
    "string_too_short": "Te kort.",
    "string_too_long": "Te lang.",
    "string_pattern_mismatch": "Bevat ongeldige tekens.",
    "bool_type": "Moet true of false zijn.",
    "uuid_type": "Geen geldige id.",
    "uuid_parsing": "Geen geldige id.",
    "date_type": "Vul een datum in als JJJJ-MM-DD.",
    "date_parsing": "Geen bestaande datum (JJJJ-MM-DD).",
    "date_from_datetime_parsing": "Geen bestaande datum (JJJJ-MM-DD).",
    "date_from_datetime_inexact": "Vul een datum in als JJJJ-MM-DD.",
    "model_type": "Moet een JSON-object zijn.",
    "model_attributes_type": "Moet een JSON-object zijn.",
    "dict_type": "Moet een JSON-object zijn.",
}
# Messages that name the limit or the choices (pydantic puts them in the error's context).
FIELD_MESSAGES_WITH_CONTEXT = {
    "string_too_short": "Te kort: minstens {min_length} tekens.",
    "string_too_long": "Te lang: hoogstens {max_length} tekens.",
    "literal_error": "Kies een van: {expected}.",
}
# Our own error types (PydanticCustomError): their message is already Dutch.
OWN_ERROR_TYPES = {"datum", "bsn", "email"}


def _message(err: dict[str, Any]) -> str:
    if err["type"] in OWN_ERROR_TYPES:
        return str(err["msg"])
    ctx = err.get("ctx") or {}
    template = FIELD_MESSAGES_WITH_CONTEXT.get(err["type"])
    if template and ctx:
        return template.format(**{k: str(v).replace(" or ", " of ") for k, v in ctx.items()})
    return FIELD_MESSAGES.get(err["type"], "Ongeldige waarde.")


def _dutch_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": _message(err)}
        for err in exc.errors()
    ]


def endpoint(path: str, method: str, summary: str, *, request_model: type[BaseModel] | None = None,
             response_model: type[BaseModel] | None = None, status: int = 200, auth: bool = True,
             errors: tuple[int, ...] = (), permission: str | None = None,
             query_model: type[BaseModel] | None = None,
             error_models: tuple[tuple[int, type[BaseModel]], ...] = (), scope: str | None = None) -> Callable:
    """Register a JSON endpoint: check the token, its scope and the permission, parse and
    validate the query string and the body, document.

    A personal token reaches only endpoints whose ``scope`` it carries; an endpoint without
    a scope is for session tokens (password and second factor) alone — deny by default."""
    unknown = set(re.findall(r"{(\w+)}", path)) - set(PATH_PARAMETERS)
    if unknown:
        raise ValueError(f"undocumented path parameters {sorted(unknown)} in {path}")
    if scope not in (None, ANY_TOKEN, *TOKEN_SCOPES):
        raise ValueError(f"unknown scope {scope!r} for {path}")
    codes = (set(errors) | ({400, 413, 415, 422} if request_model else set()) | ({401} if auth else set())
             | ({403} if permission else set()) | ({422} if query_model else set())
             | ({404} if "{" in path else set()) | {code for code, _ in error_models}
             | ({403} if auth and scope != ANY_TOKEN else set()))
    ENDPOINTS.append(Endpoint(path, method.lower(), summary, request_model, response_model,
                              status, auth, tuple(sorted(codes)), query_model, error_models, scope))

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if auth and not current_user.is_authenticated:
                return api_error(401)
            if auth and not _token_admits(scope, f"{method.upper()} /api/v1{path}"):
                return api_error(403, _scope_message(scope), "scope_ontbreekt")
            if permission and not may(current_user, permission):
                return api_error(403)
            if query_model is not None:
                try:
                    kwargs["query"] = query_model.model_validate(request.args.to_dict())
                except ValidationError as exc:
                    return api_error(422, details=_dutch_details(exc))
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


def _token_admits(scope: str | None, route: str) -> bool:
    """Audit this use of the request's token, stamp its last use, and say whether its scope
    admits the endpoint. Committed at once: the use stays on record whatever the view does."""
    token = g.api_token
    allowed = scope == ANY_TOKEN or (token.allows(scope) if scope else token.kind == "sessie")
    method, _, rule = route.partition(" ")
    note_token_use(token, current_actor(), method=method, route=rule, scope=scope, allowed=allowed)
    db.session.commit()
    return allowed


def _scope_message(scope: str | None) -> str:
    if scope and scope != ANY_TOKEN:
        return f"Dit token geeft geen toegang tot deze handeling (nodig: {scope})."
    return "Dit kan alleen met een sessietoken (inloggen met wachtwoord), niet met een persoonlijk token."


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


def respond(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response



@bp.route("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document())


def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def add(name: str, schema: dict[str, Any]) -> None:
        # Components are named by class name only: two modules' "StaleBody" would silently
        # describe one endpoint with the other's schema (and the contract tests with it).
        if schemas.setdefault(name, schema) != schema:
            raise RuntimeError(f"two different API models are both called {name!r}; rename one")

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            add(name, sub)
        add(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    error_ref = ref(ErrorResponse)
    paths: dict[str, Any] = {}
    for ep in ENDPOINTS:
        operation_id = f"{ep.method}_{ep.path.strip('/').replace('/', '_')}"
        op: dict[str, Any] = {"summary": ep.summary, "operationId": operation_id}
        if ep.auth:
            # OpenAPI 3.1 lets a bearer requirement list the scopes it needs.
            op["security"] = [{"bearer": [ep.scope] if ep.scope and ep.scope != ANY_TOKEN else []}]
        else:
            op["security"] = []
        parameters = _parameters(ep)
        if parameters:
            op["parameters"] = parameters
        if ep.request:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(ep.request)}}}
        ok: dict[str, Any] = {"description": "Gelukt"}
        if ep.response:
            ok["content"] = {"application/json": {"schema": ref(ep.response)}}
        special = dict(ep.error_models)
        op["responses"] = {str(ep.status): ok} | {
            str(code): {"description": "Fout", "content": {"application/json": {
                "schema": ref(special[code]) if code in special else error_ref}}}
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


def _parameters(ep: Endpoint) -> list[dict[str, Any]]:
    """Path parameters from the path, query parameters from the endpoint's query model."""
    found = [{"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
             for name in ep.path_parameters]
    if ep.query is not None:
        schema = ep.query.model_json_schema()
        for name, prop in schema["properties"].items():
            param = {"name": name, "in": "query", "required": name in schema.get("required", []),
                     "schema": {k: v for k, v in prop.items() if k not in {"title", "description"}}}
            if prop.get("description"):
                param["description"] = prop["description"]
            found.append(param)
    return found
