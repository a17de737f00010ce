"""The privacy gate is deny-by-default, refuses the beheerder always, and audits every
decision, allowed or not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from netwerk.auth import actor_for
from netwerk.db import db
from privacy import policy
from privacy.audit import Actor, blind
from privacy.models import AuditEntry
from privacy.policy import CovenantRule, decide
from tests.factories import make_user


def _ask(viewer: Actor):
    return decide(viewer, subjects=[blind("family", "f-1")], category="zorgen", purpose="signalering",
                  object_type="family", object_id="f-1")


def test_beheerder_is_refused_and_the_refusal_is_audited(app):
    admin = make_user("beheerder")
    decision = _ask(actor_for(admin, "beheerder"))
    db.session.commit()
    assert not decision.allowed
    assert decision.reason == "role_never_content"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")).one()
    assert entry.outcome == "denied"
    assert entry.actor_role == "beheerder"
    assert entry.data_categories == ["zorgen"] and entry.purpose == "signalering"
    assert entry.subject_ids == [blind("family", "f-1")]


def test_beheerder_is_refused_even_when_the_covenant_allows(app, monkeypatch):
    """No administrator bypass: a rule that allows the organisation does not help."""
    monkeypatch.setattr(policy, "find_rule", lambda *a: CovenantRule("2026-1", "art. 5", "wettelijke_taak"))
    admin = make_user("beheerder", "deelnemer")
    assert not _ask(actor_for(admin, "beheerder")).allowed
    assert _ask(actor_for(admin, "deelnemer")).allowed


def test_everything_is_denied_without_a_covenant_rule(app):
    for role in ("voorzitter", "secretaris", "deelnemer", "privacy", "leidinggevende", "bestuurder"):
        user = make_user(role)
        decision = _ask(actor_for(user, role))
        assert not decision.allowed, role
        assert decision.reason == "no_covenant_rule"
    db.session.commit()
    outcomes = db.session.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "content.read")).all()
    assert outcomes == ["denied"] * 6


@pytest.mark.parametrize("viewer", [Actor.system("job"), Actor(user_id=None, org_id=None, role="deelnemer")])
def test_no_viewer_no_content(app, viewer):
    assert _ask(viewer).reason == "no_viewer"


def test_an_allowed_decision_names_covenant_version_article_and_basis(app, monkeypatch):
    monkeypatch.setattr(policy, "find_rule", lambda *a: CovenantRule("2026-1", "art. 7 lid 2", "toestemming"))
    user = make_user("deelnemer")
    decision = _ask(actor_for(user, "deelnemer"))
    db.session.commit()
    assert decision.allowed
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")).one()
    assert (entry.outcome, entry.covenant_version, entry.covenant_article, entry.legal_basis) == (
        "allowed", "2026-1", "art. 7 lid 2", "toestemming")
