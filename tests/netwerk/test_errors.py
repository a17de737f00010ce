"""Unexpected errors give a Dutch page (or JSON on the API) and never a traceback, even
when the failure is the database the layout itself needs."""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy.exc import OperationalError

from netwerk.db import db
from tests.conftest import login, make_app
from tests.factories import PASSWORD, make_user


@pytest.fixture
def broken(tmp_path):
    """An app of its own (routes cannot be added to the shared one after it has served)."""
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'errors.sqlite3'}")

    def explode() -> str:
        raise RuntimeError("geheime interne details")

    app.add_url_rule("/test-kapot", "test_kapot", explode)
    app.add_url_rule("/api/v1/test-kapot", "api_test_kapot", explode)
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(broken):
    return broken.test_client()


def test_unexpected_error_is_a_dutch_page_without_trace(client):
    response = client.get("/test-kapot")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging iets mis" in body
    assert "Traceback" not in body and "geheime interne details" not in body


def test_unexpected_error_on_the_api_is_json(client):
    response = client.get("/api/v1/test-kapot")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "serverfout"
    assert "geheime" not in response.get_data(as_text=True)


def test_error_page_survives_a_database_failure(client, monkeypatch):
    user = make_user("deelnemer")
    login(client, user.email, PASSWORD)

    def no_database(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("database is weg"))

    monkeypatch.setattr(db.session, "get", no_database)  # the layout's user lookup fails
    response = client.get("/")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging iets mis" in body and "Foutcode 500" in body
    assert "netwerk.css" not in body  # the plain fallback, since the layout itself failed
    assert "Traceback" not in body and "database is weg" not in body


@pytest.mark.parametrize(("path", "status", "text"), [
    ("/bestaat-niet", 404, "Niet gevonden"),
    ("/uitloggen", 405, "Niet toegestaan"),
])
def test_http_errors_are_dutch(client, path, status, text):
    response = client.get(path)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
