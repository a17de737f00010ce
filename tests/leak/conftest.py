"""Fixtures for the leak tests: one seeded region per module and backend, and which of the
parametrised tests run on PostgreSQL.

Walking every channel as every demo account takes a few seconds per account. The full set
runs on SQLite; on PostgreSQL a representative subset runs (:data:`POSTGRES_ACCOUNTS`:
every role once, and every situation of the scenario — own organisation, match with and
without consent, noodtoegang that helps and one that does not, household match, ended
involvement, no involvement at all, on the household's plan and involved but not on it).
The app code is the same on both; what PostgreSQL adds (types, JSON, locking) shows on
any account that reads content. The harness's own self-tests (test_harness.py) and the
hand-written tables of what the covenant gives whom check the harness and the scenario,
not the database, and run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from netwerk.db import db
from tests.conftest import Backend
from tests.leak.harness import Scenario
from tests.leak.scenario import build

POSTGRES_ACCOUNTS = {
    "cjg-alphen.2",  # own organisation: every marker
    "jongerenwerk.2",  # matches; a withdrawn consent; a noodtoegang the covenant gives nothing for
    "ggz.1",  # owns a plan action: procesregie, Mijn acties, a reminder; two-factor login
    "veiligthuis.1",  # involved, not on the plan; a noodtoegang for one member does not open the household's plan
    "leerplicht.1",  # reached through the household (family match); never the safety-flagged sister
    "politie.1",  # a match, and the covenant by party type (veiligheid, not zorgen)
    "raad.1",  # involvement ended
    "zat.1",  # never involved
    "beheerder", "privacy", "voorzitter", "secretaris", "bestuurder", "leidinggevende",  # every other role
}
STREAM_LIMITS = {"MEETING_STREAM_MAX_SECONDS": 0.5, "MEETING_STREAM_HEARTBEAT_SECONDS": 0.2}
SQLITE_ONLY = ("test_harness.py", "test_the_scenario_gives_each_user_what_the_covenant_says",
               "test_the_plan_gives_each_user_what_the_covenant_says",
               # the whole-app walk of an escalation's addressee; the escalation screens
               # themselves are walked on both backends
               "test_an_addressee_walking_the_whole_app_finds_only_their_package")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    dropped = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "/tests/leak/" not in str(item.path) or params.get("backend") != "postgresql":
            continue
        account = params.get("account")
        if {item.path.name, getattr(item, "originalname", "")} & set(SQLITE_ONLY) or (
                account is not None and account not in POSTGRES_ACCOUNTS):
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = {id(item) for item in dropped}
        items[:] = [item for item in items if id(item) not in gone]


@pytest.fixture(scope="module")
def region(backend: Backend) -> Iterator[tuple[Flask, Scenario]]:
    """The demo region with the marker household, built once per module and backend.

    Tests that use it only read (and log in): each crawl's disclosures are told apart by
    the audit window of their own requests, so they do not disturb one another. Do not mix
    it with the function-scoped ``app`` fixture in one module: that one empties the database.
    """
    backend.reset()
    app = backend.app
    # A crawler reads the meeting's event stream to its end: keep that end near (ids only).
    saved = {key: app.config.get(key) for key in STREAM_LIMITS}
    app.config.update(STREAM_LIMITS)
    with app.app_context():
        scenario = build()
        yield app, scenario
        db.session.remove()
    app.config.update(saved)
