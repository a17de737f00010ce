"""Helpers for tests that drive the web UI: responses, fresh TOTP codes, full logins."""

from __future__ import annotations

import subprocess
import tempfile
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pyotp
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from netwerk.db import db
from netwerk.models import User
from tests.conftest import login, post_form
from tests.factories import PASSWORD


def path_of(response: TestResponse) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def html(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def fresh_code(user: User) -> str:
    """A code the server accepts now: newer than the last one the user spent."""
    user = reload(user)
    totp = pyotp.TOTP(user.totp_secret)
    now = totp.timecode(datetime.now(UTC))
    for timecode in (now, now + 1):
        if user.totp_last_timecode is None or timecode > user.totp_last_timecode:
            return totp.generate_otp(timecode)
    raise AssertionError("no unused code left in this time window")


def wrong_code(secret: str) -> str:
    """Six digits that are not a valid code anywhere near now."""
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    valid = {totp.generate_otp(now + step) for step in range(-2, 3)}
    return next(c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c not in valid)


def full_login(client: FlaskClient, user: User, password: str = PASSWORD) -> TestResponse:
    """Log in, answering the second-factor question when the account has one."""
    response = login(client, user.email, password)
    if response.status_code == 302 and path_of(response) == "/inloggen/code":
        response = post_form(client, "/inloggen/code", {"code": fresh_code(user)})
    return response


def logged_in(client: FlaskClient, user: User, password: str = PASSWORD) -> None:
    """Log in and insist on landing on the dashboard."""
    response = full_login(client, user, password)
    assert response.status_code == 302 and path_of(response) == "/", html(response)


def pdf_text(data: bytes) -> str:
    """The text of a PDF as poppler's pdftotext reads it (layout order)."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(data)
        fh.flush()
        return subprocess.run(["pdftotext", fh.name, "-"], capture_output=True, text=True, check=True,
                              timeout=30).stdout
