"""The harness can fail: each test breaks the application on purpose, in the test only, and
asserts that the harness reports the leak on the right channel and location. A leak test
that cannot fail proves nothing.

SQLite only (see conftest.py): these tests check the harness, not the database.
"""

from __future__ import annotations

import logging
import uuid

import pytest
from flask import jsonify
from sqlalchemy import select

from netwerk import access, web
from netwerk.db import db
from netwerk.mail import queue_mail
from netwerk.models import Note, PlanConcern
from netwerk.views import persons as person_views
from privacy.audit import Actor, record
from tests.leak.harness import PREFIX_LEN, Finding, audit_window, check, find_markers, new_marker, run
from tests.leak.scenario import by_local, markers_of

VIEWER = "politie.1"  # sees Dirk's betrokkenheid, contactgegevens and veiligheid, nothing else


def all_note_texts() -> list[str]:
    return [note.text for note in db.session.scalars(select(Note))]


def test_markers_are_found_whole_shortened_and_in_any_case():
    marker = new_marker("zorgen")
    registry = {marker: None}
    assert find_markers(f"<p>{marker}</p>", registry) == {marker}
    assert find_markers(marker.upper(), registry) == {marker}
    assert find_markers(marker[: len("LEAK-zorgen-") + PREFIX_LEN] + "…", registry) == {marker}
    assert find_markers(marker[: len("LEAK-zorgen-") + PREFIX_LEN - 1], registry) == set()
    assert find_markers(new_marker("zorgen"), registry) == set()


def test_a_page_that_echoes_content_is_reported_even_where_the_covenant_would_allow_it(region, monkeypatch):
    app, scenario = region
    dashboard = app.view_functions["home.dashboard"]

    def leaky() -> str:
        return dashboard().replace("</main>", "".join(f"<p>{t}</p>" for t in all_note_texts()) + "</main>")

    monkeypatch.setitem(app.view_functions, "home.dashboard", leaky)
    report = run(app, scenario, [by_local(VIEWER)], ["html"])
    at_home = {leak.finding.marker for leak in report.leaks if leak.finding.location == "/"}
    # Every note marker, the three this user may see included: "/" wrote no audit entry for them.
    assert at_home == {m for m, p in scenario.markers.items() if p.note_id is not None}
    assert all("no allowed content.read audit entry" in str(leak) for leak in report.leaks)
    assert {leak.finding.location for leak in report.leaks} == {"/"}  # the person pages stay clean
    with pytest.raises(AssertionError, match=r"leak\(s\)"):
        report.assert_clean()


def test_an_api_answer_that_carries_content_is_reported(region, monkeypatch):
    app, scenario = region
    me = app.view_functions["api.me"]

    def leaky():
        body = me().get_json()
        return jsonify(body | {"debug": all_note_texts()})

    monkeypatch.setitem(app.view_functions, "api.me", leaky)
    report = run(app, scenario, [by_local(VIEWER)], ["api"])
    assert {leak.finding.marker for leak in report.leaks if leak.finding.location == "/api/v1/me"} == {
        m for m, p in scenario.markers.items() if p.note_id is not None}


def test_a_disclosure_for_a_purpose_the_user_does_not_have_is_reported_though_audited(region, monkeypatch):
    """A view that honours any ``?doel=`` without a context: the gate allows what the
    covenant allows for that purpose and audits it, but no match, plan or claim gives this
    user the purpose — the harness replays the purpose against the user's contexts."""
    app, scenario = region
    strict = access.choose_purpose

    def lenient(contexts, requested):
        return strict(contexts, requested) or (access.PurposeContext(requested, "match", "—") if requested else None)

    monkeypatch.setattr(access, "choose_purpose", lenient)
    report = run(app, scenario, [by_local(VIEWER)], ["html", "api"])
    # Whatever Dirk's page shows under another purpose than signalering (the match's) is
    # reported: strafrechtelijk (politie, strafrechtelijke aanpak or nazorg: art. 9) only
    # ever shows that way; the rest also shows rightly, under signalering, and is not reported there.
    assert {leak.finding.marker for leak in report.leaks} == markers_of(
        scenario, "dirk", "strafrechtelijk", "veiligheid", "betrokkenheid", "contactgegevens")
    assert {leak.finding.channel for leak in report.leaks} == {"html", "api"}
    assert all("which no context gives this user" in str(leak) for leak in report.leaks)
    assert not any("signalering" in leak.finding.location for leak in report.leaks)


def test_content_in_a_log_line_is_reported(region, monkeypatch):
    app, scenario = region
    content_for = person_views.content_for

    def chatty(viewer, persons, purpose, context=None):
        views = content_for(viewer, persons, purpose, context)
        for view in views.values():
            for note in view.notes:
                logging.getLogger("netwerk.content").debug("showing note %s", note.text)
        return views

    monkeypatch.setattr(person_views, "content_for", chatty)
    report = run(app, scenario, [by_local(VIEWER)], ["html", "log"])
    logged = {leak.finding.marker for leak in report.leaks if leak.finding.channel == "log"}
    assert logged == markers_of(scenario, "dirk", "betrokkenheid", "contactgegevens", "veiligheid")
    assert {leak.finding.channel for leak in report.leaks} == {"log"}  # the pages themselves were allowed


def test_content_in_a_mail_or_the_audit_log_is_reported(region):
    app, scenario = region
    marker = next(iter(markers_of(scenario, "amira", "gezondheid")))
    with db.session.begin_nested() as savepoint:  # undone below: the region is shared
        queue_mail("involvement_match", "iemand@example.test", f"Beste {marker}", "/matches")
        record("content.read", actor=Actor.system("tests"), summary="content disclosed",
               meta={"excerpt": marker, "notes": [str(uuid.uuid4())]})
        report = run(app, scenario, [], ["mail", "audit"])
        savepoint.rollback()
    db.session.rollback()
    assert sorted((leak.finding.channel, leak.finding.marker) for leak in report.leaks) == [
        ("audit", marker), ("mail", marker)]
    assert all("must never carry content" in str(leak) for leak in report.leaks)


def test_a_plan_page_that_shows_a_concern_the_gate_withheld_is_reported(region, monkeypatch):
    """A plan is read in several (category, owner) groups in one request: an allowed
    entry for one group (school, plan) does not vouch for another (zorgen) on the page."""
    app, scenario = region
    real = web.plan_content

    def careless(viewer, plan, purpose, context=None, categories=None):
        view = real(viewer, plan, purpose, context, categories)
        view.concerns = list(db.session.scalars(select(PlanConcern).where(PlanConcern.plan_id == plan.id)))
        return view

    monkeypatch.setattr(web, "plan_content", careless)
    user, url = by_local("leerplicht.1"), f"/gezinnen/{scenario.extra['family_id']}/plan"
    client = scenario.login(app, user)
    with audit_window() as window:
        page = client.get(url).get_data(as_text=True)
    findings = [Finding("html", user.id, user.email, url, marker, window.range)
                for marker in find_markers(page, scenario.markers)]
    leaks = check(scenario, findings)
    concerns = {m for m, p in scenario.markers.items() if p.piece == "concern"}
    # Leerplicht may read the plan's text and the school concern (procesregie), nothing else.
    assert {leak.finding.marker for leak in leaks} == concerns - {
        m for m in concerns if scenario.markers[m].category == "school"}
    assert all("name another category or subject" in leak.reason for leak in leaks)
