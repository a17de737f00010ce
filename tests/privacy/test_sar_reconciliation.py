"""Issue 7, "must hold": for the household of the leak test, every allowed disclosure of
its content in the audit log appears in the subject access report, and nothing else does.

The leak scenario (``tests/leak/scenario.py``, used read-only) is built, and the leak
harness walks its channels (every page and API answer) as a handful of accounts that read
the household's content in different ways: Veilig Thuis (a match and a noodtoegang; its
names are withheld) and GGZ (a match, the plan with the household's consent, the brother
through the household). The police read Dirk, of another household, through the gate as
their person page does. The expected set is computed from the
chain's own ``subject_ids`` — not from the ``audit_subject`` index the report uses — so a
missing index row would fail here too.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from netwerk.auth import actor_for
from netwerk.content import content_for
from netwerk.db import db
from netwerk.models import FamilyMember, Person
from privacy.audit import blind
from privacy.models import AuditEntry
from tests.conftest import Backend
from tests.helpers import pdf_text
from tests.leak.harness import Scenario, run
from tests.leak.scenario import build, by_local

# Two walks of every channel (a walk takes tens of seconds: CI budget); see scenario.py.
WALKERS = ("veiligthuis.1", "ggz.2")
# The crawler reads a meeting's event stream to its end: keep that end near (as tests/leak does).
STREAM_LIMITS = {"MEETING_STREAM_MAX_SECONDS": 0.5, "MEETING_STREAM_HEARTBEAT_SECONDS": 0.2}
SEQ = re.compile(r'data-seq="(\d+)"')


@pytest.fixture(scope="module")
def walked(backend: Backend) -> Iterator[tuple[Flask, Scenario]]:
    backend.reset()
    app = backend.app
    saved = {key: app.config.get(key) for key in STREAM_LIMITS}
    app.config.update(STREAM_LIMITS)
    try:
        with app.app_context():
            scenario = build()
            _ids_for_new_routes(app, scenario)
            run(app, scenario, [by_local(name) for name in WALKERS], ["html", "api"]).assert_clean()
            dirk = db.session.get(Person, scenario.extra["persons"]["dirk"])
            assert content_for(actor_for(by_local("politie.1"), "deelnemer"), [dirk], "signalering")[dirk.id].notes
            db.session.commit()
            yield app, scenario
            db.session.remove()
    finally:
        app.config.update(saved)


def _ids_for_new_routes(app: Flask, scenario: Scenario) -> None:
    """A made-up id (it opens nothing) for URL parameters the leak harness does not know
    yet: routes other work adds must not stop this walk, which only fills the audit log
    (the leak tests hold those routes to the harness)."""
    for rule in app.url_map.iter_rules():
        for name in rule.arguments:
            if name != "id" and scenario.values(name) is None:
                scenario.ids[name] = [str(uuid.uuid4())]


@pytest.mark.timeout(400)  # building the region and two walks, on a busy CI box
def test_the_report_holds_exactly_the_allowed_disclosures_of_the_household(walked):
    app, scenario = walked
    family_id = scenario.extra["family_id"]
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == family_id)).all()
    ours = {blind("family", family_id), *(blind("person", m) for m in members)}
    reads = db.session.execute(select(AuditEntry.seq, AuditEntry.outcome, AuditEntry.subject_ids,
                                      AuditEntry.actor_user_id).where(AuditEntry.action == "content.read")).all()
    allowed = {seq for seq, outcome, subjects, _ in reads if outcome == "allowed" and ours & set(subjects)}
    # The walk made the cases that matter: disclosures by several walkers, refusals about the
    # household, and disclosures about somebody else.
    walker_ids = {by_local(name).id: name for name in WALKERS}
    readers = {walker_ids.get(user) for seq, _o, _s, user in reads if seq in allowed}
    assert set(WALKERS) <= readers
    denied = {seq for seq, outcome, subjects, _ in reads if outcome == "denied" and ours & set(subjects)}
    elsewhere = {seq for seq, outcome, subjects, _ in reads if outcome == "allowed" and not ours & set(subjects)}
    assert denied and elsewhere

    client = scenario.login(app, by_local("privacy"))
    page = client.get(f"/privacy/inzage/gezin/{family_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    shown = [int(seq) for seq in SEQ.findall(text)]
    assert len(shown) == len(set(shown)) and set(shown) == allowed, (
        f"missing {sorted(allowed - set(shown))[:10]}, not a disclosure of the household "
        f"{sorted(set(shown) - allowed)[:10]}")

    # Veilig Thuis and the police are named as organisations, their professionals are not,
    # and the report says which rows that concerns.
    assert by_local("veiligthuis.1").name not in text and "Veilig Thuis" in text
    assert "noemen we de naam van de medewerker niet" in text and "artikel 23" in text
    assert by_local("ggz.2").name in text
    pdf = " ".join(pdf_text(client.get(f"/privacy/inzage/gezin/{family_id}/pdf").data).split())
    assert f"zijn {len(allowed)} keer bekeken" in pdf and by_local("veiligthuis.1").name not in pdf
