"""Error responses: a Dutch page for people, ``{"error": {...}}`` for the API, never a trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES: dict[int, tuple[str, str]] = {
    400: ("ongeldig_verzoek", "Het verzoek is ongeldig."),
    401: ("niet_ingelogd", "U moet ingelogd zijn (of een geldig token meesturen)."),
    403: ("geen_toegang", "U heeft geen toegang tot deze pagina of gegevens."),
    404: ("niet_gevonden", "Deze pagina of dit gegeven bestaat niet."),
    405: ("methode_niet_toegestaan", "Deze handeling is hier niet toegestaan."),
    413: ("te_groot", "Het verzoek is te groot (maximaal 1 MB)."),
    415: ("verkeerd_formaat", "Stuur de gegevens als JSON (Content-Type: application/json)."),
    422: ("ongeldige_invoer", "De invoer is niet geldig."),
    429: ("te_veel_verzoeken", "Te veel pogingen in korte tijd. Wacht even en probeer het opnieuw."),
    500: ("serverfout", "Er ging iets mis aan onze kant. Probeer het later opnieuw."),
}
TITLES = {
    400: "Ongeldig verzoek", 401: "Niet ingelogd", 403: "Geen toegang", 404: "Niet gevonden",
    405: "Niet toegestaan", 413: "Te groot", 415: "Verkeerd formaat", 422: "Ongeldige invoer",
    429: "Te veel verzoeken", 500: "Er ging iets mis",
}


def api_error(status: int, message: str | None = None, code: str | None = None,
              details: list[dict] | None = None) -> Response:
    default_code, default_message = MESSAGES.get(status, MESSAGES[400])
    body: dict = {"code": code or default_code, "message": message or default_message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="netwerk"'
    return response


def error_response(status: int, message: str | None = None) -> Response | tuple[str, int]:
    if request.path.startswith("/api/"):
        return api_error(status, message)
    _, default_message = MESSAGES.get(status, MESSAGES[500])
    title, text = TITLES.get(status, "Fout"), message or default_message
    try:
        page = render_template("errors/error.html", status=status, title=title, message=text)
    except Exception:  # the layout needs the database (current user); it may be what failed
        log.exception("error page could not be rendered")
        page = FALLBACK_PAGE.format(title=escape(title), message=escape(text), status=status)
    return page, status


FALLBACK_PAGE = (
    '<!doctype html><html lang="nl"><head><meta charset="utf-8"><title>{title} · Netwerk</title></head>'
    "<body><main><h1>{title}</h1><p>{message}</p><p>Foutcode {status}</p></main></body></html>"
)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response | tuple[str, int]:
        return error_response(
            400, "Het formulier is verlopen of ongeldig. Laad de pagina opnieuw en probeer het nog eens."
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response | tuple[str, int]:
        status = exc.code or 500
        if status == 429:
            return error_response(429)
        return error_response(status)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response | tuple[str, int]:
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(InternalServerError.code)
