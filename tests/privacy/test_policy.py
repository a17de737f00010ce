"""The privacy gate is deny-by-default, refuses the beheerder always, and audits every
decision, allowed or not."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from netwerk.auth import actor_for
from netwerk.db import db
from privacy.audit import Actor, blind
from privacy.models import AuditEntry
from privacy.operations import RuleSpec
from privacy.policy import Ask, decide, decide_many
from tests.factories import allow, make_covenant, make_user


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


def test_beheerder_is_refused_even_when_the_covenant_allows(app):
    """No administrator bypass: a rule that allows the organisation does not help."""
    admin = make_user("beheerder", "deelnemer")
    make_covenant(admin.organisation, rules=[allow(admin.organisation)])
    assert not _ask(actor_for(admin, "beheerder")).allowed
    assert _ask(actor_for(admin, "deelnemer")).allowed


def test_everything_is_denied_without_a_covenant(app):
    for role in ("voorzitter", "secretaris", "deelnemer", "privacy", "leidinggevende", "bestuurder"):
        user = make_user(role)
        decision = _ask(actor_for(user, role))
        assert not decision.allowed, role
        assert decision.reason == "no_covenant"
    db.session.commit()
    outcomes = db.session.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "content.read")).all()
    assert outcomes == ["denied"] * 6


@pytest.mark.parametrize("viewer", [Actor.system("job"), Actor(user_id=None, org_id=None, role="deelnemer")])
def test_no_viewer_no_content(app, viewer):
    assert _ask(viewer).reason == "no_viewer"


def test_an_allowed_decision_names_covenant_version_article_and_basis(app):
    user = make_user("deelnemer")
    make_covenant(user.organisation, version="2026-1", rules=[
        RuleSpec("signalering", "zorgen", f"org:{user.organisation_id}", True, "art. 7 lid 2", "toestemming")])
    decision = _ask(actor_for(user, "deelnemer"))
    db.session.commit()
    assert decision.allowed
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")).one()
    assert (entry.outcome, entry.covenant_version, entry.covenant_article, entry.legal_basis) == (
        "allowed", "2026-1", "art. 7 lid 2", "toestemming")


def test_a_list_view_decides_each_ask_as_decide_does_and_audits_once_per_outcome(app):
    """decide_many: the same verdicts as one decide() per ask, but one audit entry per group
    of equal outcome, naming every subject (so each household's trail still finds it) and
    listing the objects."""
    user = make_user("deelnemer")
    other = make_user("deelnemer")
    make_covenant(user.organisation, other.organisation, rules=[allow(user.organisation)])
    viewer = actor_for(user, "deelnemer")
    asks = [Ask((blind("family", f"f-{i}"), blind("person", f"p-{i}")), "zorgen", "signalering",
                other.organisation_id, f"plan-{i}") for i in range(3)]
    asks.append(Ask((blind("family", "f-9"),), "gezondheid", "signalering", other.organisation_id, "plan-9"))
    decisions = decide_many(viewer, asks, object_type="plan", meta={"context": "test"})
    singles = [decide(viewer, subjects=list(a.subjects), category=a.category, purpose=a.purpose,
                      owner_org_id=a.owner_org_id).allowed for a in asks]
    assert [d.allowed for d in decisions] == singles == [True, True, True, False]
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.object_type == "plan")
                                 .order_by(AuditEntry.seq)).all()
    assert [(e.outcome, e.data_categories, e.object_id) for e in entries] == [
        ("allowed", ["zorgen"], None), ("denied", ["gezondheid"], "plan-9")]
    assert entries[0].meta["objects"] == ["plan-0", "plan-1", "plan-2"]
    assert entries[0].meta["owner_org"] == str(other.organisation_id) and entries[0].meta["context"] == "test"
    assert set(entries[0].subject_ids) == {s for a in asks[:3] for s in a.subjects}
