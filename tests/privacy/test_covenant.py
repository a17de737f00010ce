"""The covenant decides: the version in force by its dates, parties by membership dates,
an organisation's own rule before its type's rule, consent steps, and a property test of
the gate against a small reference implementation of the covenant."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from netwerk.auth import actor_for
from netwerk.db import db
from privacy.audit import blind
from privacy.models import AuditEntry, CovenantRule, CovenantVersion
from privacy.operations import CovenantError, CovenantSpec, PartySpec, RuleSpec, create_covenant_version
from privacy.policy import decide
from tests.factories import CATEGORIES, PURPOSES, SYSTEM, allow, make_covenant, make_org, make_user

TODAY = date.today()


def ask(user, category="zorgen", purpose="signalering", on=None):
    return decide(actor_for(user, "deelnemer"), subjects=[blind("family", "f-1")], category=category,
                  purpose=purpose, on=on)


def test_the_version_in_force_is_chosen_by_its_dates(app):
    user = make_user("deelnemer")
    org = user.organisation
    make_covenant(org, version="2025-1", rules=[allow(org)], valid_from=TODAY - timedelta(days=400),
                  valid_until=TODAY - timedelta(days=1), joined_on=TODAY - timedelta(days=400))
    assert ask(user).reason == "no_covenant"  # expired
    make_covenant(org, version="2026-1", rules=[], valid_from=TODAY - timedelta(days=10))
    make_covenant(org, version="2026-2", rules=[allow(org)], valid_from=TODAY + timedelta(days=10))
    decision = ask(user)
    assert (decision.allowed, decision.covenant_version, decision.reason) == (False, "2026-1", "no_covenant_rule")
    later = ask(user, on=TODAY + timedelta(days=11))
    assert later.allowed and later.covenant_version == "2026-2"
    assert ask(user, on=TODAY - timedelta(days=100)).covenant_version == "2025-1"


def test_party_membership_dates_count(app):
    joined, left, outsider = make_user("deelnemer"), make_user("deelnemer"), make_user("deelnemer")
    spec = CovenantSpec(
        version="2026-1", title="Convenant", valid_from=TODAY - timedelta(days=60), valid_until=None,
        purposes=PURPOSES, categories=CATEGORIES,
        parties=[PartySpec(joined.organisation_id, "cjg", TODAY - timedelta(days=60)),
                 PartySpec(left.organisation_id, "cjg", TODAY - timedelta(days=60), TODAY - timedelta(days=1))],
        rules=[RuleSpec("signalering", "zorgen", "type:cjg", True, "art. 5", "wettelijke_taak")],
    )
    create_covenant_version(spec, SYSTEM)
    db.session.commit()
    assert ask(joined).allowed
    assert ask(left).reason == "not_a_party"
    assert ask(left, on=TODAY - timedelta(days=2)).allowed
    assert ask(left, on=TODAY - timedelta(days=1)).reason == "not_a_party"  # gone from its leaving day
    assert ask(outsider).reason == "not_a_party"


def test_an_organisations_own_rule_overrides_its_types_rule(app):
    a, b = make_user("deelnemer"), make_user("deelnemer")
    forbid_a = RuleSpec("signalering", "zorgen", f"org:{a.organisation_id}", False, "art. 6")
    make_covenant(a.organisation, b.organisation, rules=[allow(a.organisation, by_type=True), forbid_a])
    assert ask(a).reason == "covenant_forbids"
    assert ask(b).allowed  # same type, no rule of its own


def test_a_rule_that_needs_consent_refuses_until_consent_is_recorded(app):
    user = make_user("deelnemer")
    make_covenant(user.organisation, rules=[allow(user.organisation, consent_step="gezamenlijk_gesprek")])
    decision = ask(user)
    assert not decision.allowed
    assert (decision.reason, decision.consent_step, decision.article) == (
        "consent_missing", "gezamenlijk_gesprek", "art. 5")
    db.session.commit()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")).one()
    assert entry.meta == {"reason": "consent_missing", "consent_step": "gezamenlijk_gesprek"}


@pytest.mark.parametrize(("category", "purpose", "reason"), [
    ("onbekend", "signalering", "unknown_category"),
    ("zorgen", "onbekend", "unknown_purpose"),
])
def test_unknown_category_or_purpose_is_refused(app, category, purpose, reason):
    user = make_user("deelnemer")
    make_covenant(user.organisation, rules=[allow(user.organisation)])
    assert ask(user, category=category, purpose=purpose).reason == reason


def test_every_allowed_and_denied_decision_names_the_version_in_force(app):
    user = make_user("deelnemer")
    make_covenant(user.organisation, version="2026-7", rules=[allow(user.organisation)])
    ask(user)
    ask(user, category="gezondheid")
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")
                                 .order_by(AuditEntry.seq)).all()
    assert [(e.outcome, e.covenant_version) for e in entries] == [("allowed", "2026-7"), ("denied", "2026-7")]
    assert entries[0].covenant_article == "art. 5" and entries[0].legal_basis == "wettelijke_taak"


@pytest.mark.parametrize(("change", "message"), [
    ({"version": "dup"}, "bestaat al"),
    ({"valid_until": TODAY - timedelta(days=400)}, "vóór de begindatum"),
    ({"rules": [RuleSpec("onbekend", "zorgen", "type:cjg", True, "a", "toestemming")]}, "Onbekend doel"),
    ({"rules": [RuleSpec("signalering", "onbekend", "type:cjg", True, "a", "toestemming")]}, "Onbekende categorie"),
    ({"rules": [RuleSpec("signalering", "zorgen", "type:politie", True, "a", "toestemming")]}, "geen partij"),
    ({"rules": [RuleSpec("signalering", "zorgen", "type:cjg", True, "a", None)]}, "grondslag"),
    ({"rules": [RuleSpec("signalering", "zorgen", "type:cjg", True, "a", "toestemming", "later")]}, "instemmingsstap"),
])
def test_invalid_covenant_versions_are_refused_and_write_nothing(app, change, message):
    org = make_org(org_type="cjg")
    make_covenant(org, version="dup")
    before = (db.session.scalar(select(func.count()).select_from(CovenantVersion)),
              db.session.scalar(select(func.count()).select_from(AuditEntry)))
    fields = {"version": "nieuw", "title": "Convenant", "valid_from": TODAY, "valid_until": None,
              "purposes": PURPOSES, "categories": CATEGORIES,
              "parties": [PartySpec(org.id, "cjg", TODAY)], "rules": []} | change
    with pytest.raises(CovenantError, match=message):
        create_covenant_version(CovenantSpec(**fields), SYSTEM)
    db.session.rollback()
    after = (db.session.scalar(select(func.count()).select_from(CovenantVersion)),
             db.session.scalar(select(func.count()).select_from(AuditEntry)))
    assert after == before


# --- property: the gate never discloses beyond the covenant ---------------------------------

TYPES = ("cjg", "politie", "ggz")
rule_strategy = st.fixed_dictionaries({
    "purpose": st.sampled_from(sorted(PURPOSES)),
    "category": st.sampled_from(sorted(CATEGORIES)),
    "target": st.sampled_from([("org", 0), ("org", 1), ("org", 2), ("type", 0), ("type", 1), ("type", 2)]),
    "allowed": st.booleans(),
    "consent": st.sampled_from([None, None, "contact"]),
})


def reference(rules: list[dict], org_index: int, org_type: str, is_party: bool, category: str, purpose: str) -> bool:
    """The covenant, written as plainly as possible: what the gate must agree with."""
    if not is_party or category not in CATEGORIES or purpose not in PURPOSES:
        return False
    matching = [r for r in rules if r["purpose"] == purpose and r["category"] == category]
    own = [r for r in matching if r["target"] == ("org", org_index)]
    typed = [r for r in matching if r["target"] == ("type", TYPES.index(org_type))]
    rule = (own or typed or [None])[0]
    return bool(rule and rule["allowed"] and rule["consent"] is None)  # no consent is on record yet


@st.composite
def question(draw: st.DrawFn, rules: list[dict], viewer: int, viewer_type: str) -> tuple[str, str]:
    """Mostly a (category, purpose) a rule for the viewer speaks about, so that decisions are
    not nearly all 'no' (which would let a gate that always refuses pass)."""
    relevant = [r for r in rules if r["target"] in (("org", viewer), ("type", TYPES.index(viewer_type)))]
    if relevant and draw(st.integers(0, 3)):
        rule = draw(st.sampled_from(relevant))
        return rule["category"], rule["purpose"]
    return (draw(st.sampled_from([*sorted(CATEGORIES), "financien"])),
            draw(st.sampled_from([*sorted(PURPOSES), "onderzoek"])))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rules=st.lists(rule_strategy, max_size=12, unique_by=lambda r: (r["purpose"], r["category"], r["target"])),
    types=st.tuples(*[st.sampled_from(TYPES)] * 3),
    parties=st.tuples(*[st.sampled_from([True, True, True, False])] * 3),
    viewer=st.integers(0, 2),
    data=st.data(),
)
def test_gate_agrees_with_the_covenant_and_always_audits(app, rules, types, parties, viewer, data):
    category, purpose = data.draw(question(rules, viewer, types[viewer]))
    orgs = [make_org(org_type=t) for t in types]
    users = [make_user("deelnemer", org=o) for o in orgs]
    members = [o for o, is_party in zip(orgs, parties, strict=True) if is_party]
    targets = {("org", i): f"org:{o.id}" for i, o in enumerate(orgs)}
    targets |= {("type", i): f"type:{t}" for i, t in enumerate(TYPES)}
    present = {f"org:{o.id}" for o in members} | {f"type:{o.org_type}" for o in members}
    specs = [RuleSpec(r["purpose"], r["category"], targets[r["target"]], r["allowed"], "art. 1",
                      "toestemming" if r["allowed"] else None, r["consent"])
             for r in rules if targets[r["target"]] in present]
    kept = [r for r in rules if targets[r["target"]] in present]
    spec = CovenantSpec(version="p", title="Eigenschap", valid_from=TODAY, valid_until=None, purposes=PURPOSES,
                        categories=CATEGORIES, parties=[PartySpec(o.id, o.org_type, TODAY) for o in members],
                        rules=specs)
    create_covenant_version(spec, SYSTEM)
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    decision = ask(users[viewer], category=category, purpose=purpose)
    expected = reference(kept, viewer, types[viewer], parties[viewer], category, purpose)
    assert decision.allowed == expected, decision
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before + 1
    # each example cleans up after itself: the fixture's database is shared by all examples
    db.session.rollback()
    for model in (CovenantRule, CovenantVersion):
        db.session.execute(model.__table__.delete())
    db.session.commit()


def test_the_demo_covenant_reads_as_a_covenant_should(app):
    from netwerk.demo import DOMAIN, create_demo_region
    from netwerk.models import User

    create_demo_region()
    db.session.commit()

    def user(local: str) -> object:
        return db.session.scalar(select(User).where(User.email == f"{local}@{DOMAIN}"))

    on = date(2026, 6, 1)
    police, cjg, ggz = user("politie.1"), user("cjg-alphen.1"), user("ggz.1")
    assert ask(police, "strafrechtelijk", "strafrechtelijke_aanpak", on).allowed
    assert ask(police, "betrokkenheid", "signalering", on).allowed
    assert ask(cjg, "strafrechtelijk", "strafrechtelijke_aanpak", on).reason == "no_covenant_rule"
    assert ask(cjg, "zorgen", "signalering", on).reason == "consent_missing"
    assert ask(police, "gezondheid", "procesregie", on).reason == "no_covenant_rule"
    assert ask(ggz, "gezondheid", "procesregie", on).consent_step == "delen_met_organisatie"
    admin = user("beheerder")
    assert decide(actor_for(admin, "beheerder"), subjects=[], category="betrokkenheid", purpose="signalering",
                  on=on).reason == "role_never_content"
