"""HTML views of ``meetings``: one blueprint, one module per screen family."""

from flask import Blueprint

bp = Blueprint("meetings", __name__)

from meetings.views import (  # noqa: E402, F401 - register the routes
    agenda,
    besluitenlijst,
    console,
    overleggen,
    stream,
)
