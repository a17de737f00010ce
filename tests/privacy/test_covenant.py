"""The covenant decides: the version in force by its dates, parties by membership dates,
an organisation's own rule before its type's rule, consent steps, and a property test of
the gate against a small reference implementation of the covenant (versions, membership
and consent dates varied around the decision day)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db
from privacy.audit import Actor, blind
from privacy.models import AuditEntry, Consent, CovenantVersion
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
# Every date is an offset in days from the decision day DAY, and the offsets sit just
# before, on and just after it, where an off-by-one in the gate would show.

DAY = date(2026, 6, 15)
TYPES = ("cjg", "politie", "ggz")
STEPS = ("contact", "gezamenlijk_gesprek", "delen_met_organisatie")
SUBJECT_SETS = ((0,), (0, 1), (1,), ())  # which of the two persons the question is about (the family always)

TARGETS = (("org", 0), ("org", 1), ("org", 2), ("type", 0), ("type", 1), ("type", 2))


def rule_strategy(viewer: int, viewer_type: str) -> st.SearchStrategy:
    """A rule, addressed to any organisation or type, but most often to the viewer's."""
    mine = [("org", viewer), ("type", TYPES.index(viewer_type))]
    return st.fixed_dictionaries({
        "purpose": st.sampled_from(sorted(PURPOSES)),
        "category": st.sampled_from(sorted(CATEGORIES)),
        "target": st.sampled_from([*mine, *mine, *TARGETS]),
        "allowed": st.sampled_from([True, True, True, False]),
        "consent": st.sampled_from([None, *STEPS]),
    })


def often(usual: object, *others: object, times: int = 2) -> st.SearchStrategy:
    """``usual`` ``times`` as often as all ``others`` together, so that most examples get
    far enough for the dates that follow to decide."""
    return st.sampled_from([usual] * max(1, times * len(others)) + list(others))


@st.composite
def membership(draw: st.DrawFn) -> dict | None:
    """None (not a party to this version), or the party's joining and leaving days: mostly
    a member on the decision day, else joining or leaving around it."""
    if not draw(often(True, False, times=9)):
        return None
    joined = draw(often(-30, -1, 0, 1, times=3))
    left = draw(often(None, *(o for o in (-1, 0, 1, 30) if o >= joined)))
    return {"joined": joined, "left": left}


def rule_key(rule: dict) -> tuple:
    return rule["purpose"], rule["category"], rule["target"]


@st.composite
def revised(draw: st.DrawFn, rules: list[dict], new_rule: st.SearchStrategy) -> list[dict]:
    """The rules of a later version: as a new version usually is, the earlier rules with a
    few dropped or changed (allowed, consent step), and perhaps new ones."""
    kept = []
    for rule in rules:
        change = draw(often("keep", "drop", "allowed", "consent"))
        if change == "allowed":
            rule = rule | {"allowed": not rule["allowed"]}
        elif change == "consent":
            rule = rule | {"consent": draw(st.sampled_from([None, *STEPS]))}
        if change != "drop":
            kept.append(rule)
    known = {rule_key(r) for r in kept}
    extra = draw(st.lists(new_rule, max_size=3, unique_by=rule_key))
    return kept + [r for r in extra if rule_key(r) not in known]


@st.composite
def version_strategy(draw: st.DrawFn, valid_from: int, rules: list[dict]) -> dict:
    until = draw(often(None, *(o for o in (-1, 0, 1, 30) if o >= valid_from)))
    return {"from": valid_from, "until": until, "parties": [draw(membership()) for _ in range(3)], "rules": rules}


def viewers_rules(w: dict) -> list[dict]:
    """Every generated rule addressed to the viewer's organisation or to its type."""
    viewer = w["viewer"]
    mine = (("org", viewer), ("type", TYPES.index(w["types"][viewer])))
    return [r for v in w["versions"] for r in v["rules"] if r["target"] in mine]


@st.composite
def question(draw: st.DrawFn, w: dict) -> tuple[str, str]:
    """Mostly a (category, purpose) a rule for the viewer speaks about, so that decisions are
    not nearly all 'no' (which would let a gate that always refuses pass)."""
    relevant = viewers_rules(w)
    if relevant and draw(often(True, False, times=4)):
        rule = draw(st.sampled_from(relevant))
        return rule["category"], rule["purpose"]
    return (draw(st.sampled_from([*sorted(CATEGORIES), "financien"])),
            draw(st.sampled_from([*sorted(PURPOSES), "onderzoek"])))


@st.composite
def consent_strategy(draw: st.DrawFn, w: dict, person: int | None = None) -> dict:
    """A consent row given and perhaps withdrawn around the decision day. With ``person`` it
    is one that could answer the question (that person, a step the viewer's rules on the
    question ask for, mostly the viewer's organisation), so that its dates decide; else
    anything."""
    asked = sorted({r["consent"] for r in viewers_rules(w)
                    if r["consent"] and (r["category"], r["purpose"]) == (w["category"], w["purpose"])})
    given = draw(st.sampled_from((-30, -1, 0, 1)))
    withdrawn = draw(st.sampled_from([None, None, *(o for o in (-1, 0, 1, 30) if o >= given)]))
    if person is not None:
        others = [i for i in range(3) if i != w["viewer"]]
        return {"person": person, "step": draw(st.sampled_from(asked or STEPS)),
                "org": draw(often(w["viewer"], *others, times=2)), "given": given, "withdrawn": withdrawn}
    return {"person": draw(st.integers(0, 1)), "step": draw(st.sampled_from(STEPS)),
            "org": draw(st.integers(0, 2)), "given": given, "withdrawn": withdrawn}


@st.composite
def world(draw: st.DrawFn) -> dict:
    """One to three covenant versions (distinct start days, so "the newest" is unambiguous),
    the organisations' types, the viewer, the question, and consent rows: one per person
    asked about that could answer it, plus a few others."""
    starts = draw(st.lists(st.sampled_from((-60, -10, -1, 0, 1)), min_size=1, max_size=3, unique=True)
                  .filter(lambda days: min(days) <= 0))  # one has started (expired ones still leave none)
    types, viewer = draw(st.tuples(*[st.sampled_from(TYPES)] * 3)), draw(st.integers(0, 2))
    new_rule = rule_strategy(viewer, types[viewer])
    rules = draw(st.lists(new_rule, min_size=1, max_size=8, unique_by=rule_key))
    versions = []
    for start in sorted(starts):
        versions.append(draw(version_strategy(start, rules)))
        rules = draw(revised(rules, new_rule))
    w = {
        # written in any order: the dates decide which is in force, not the order of writing
        "versions": draw(st.permutations(versions)),
        "types": types,
        "viewer": viewer,
        "subjects": draw(st.sampled_from(SUBJECT_SETS)),
    }
    w["category"], w["purpose"] = draw(question(w))
    w["consents"] = ([draw(consent_strategy(w, person)) for person in w["subjects"]]
                     + draw(st.lists(consent_strategy(w), max_size=3)))
    return w


def kept_rules(w: dict, version: dict) -> list[dict]:
    """The rules that can be written: a receiver must be a party (or a party's type) of the version."""
    listed = [i for i, p in enumerate(version["parties"]) if p is not None]
    present = {("org", i) for i in listed} | {("type", TYPES.index(w["types"][i])) for i in listed}
    return [r for r in version["rules"] if r["target"] in present]


def reference(w: dict) -> tuple[int | None, str]:
    """The covenant, written as plainly as possible from the generated data (day 0 is the
    decision day): the index of the version in force and the answer the gate must give."""
    in_force = [i for i, v in enumerate(w["versions"])
                if v["from"] <= 0 and (v["until"] is None or v["until"] >= 0)]
    if not in_force:
        return None, "no_covenant"
    index = max(in_force, key=lambda i: w["versions"][i]["from"])
    version, viewer = w["versions"][index], w["viewer"]
    if w["purpose"] not in PURPOSES:
        return index, "unknown_purpose"
    if w["category"] not in CATEGORIES:
        return index, "unknown_category"
    party = version["parties"][viewer]
    if party is None or party["joined"] > 0 or (party["left"] is not None and party["left"] <= 0):
        return index, "not_a_party"  # not yet joined, or gone from its leaving day on
    matching = [r for r in kept_rules(w, version) if (r["purpose"], r["category"]) == (w["purpose"], w["category"])]
    own = [r for r in matching if r["target"] == ("org", viewer)]
    typed = [r for r in matching if r["target"] == ("type", TYPES.index(w["types"][viewer]))]
    rule = (own or typed or [None])[0]
    if rule is None:
        return index, "no_covenant_rule"
    if not rule["allowed"]:
        return index, "covenant_forbids"
    if rule["consent"]:
        def consented(person: int) -> bool:
            return any(c["person"] == person and c["step"] == rule["consent"]
                       and (c["step"] != "delen_met_organisatie" or c["org"] == viewer)
                       and c["given"] <= 0  # given after the decision day does not count yet
                       and (c["withdrawn"] is None or c["withdrawn"] > 0)  # withdrawn on or before: gone
                       for c in w["consents"])
        if not w["subjects"] or not all(consented(p) for p in w["subjects"]):
            return index, "consent_missing"
    return index, "covenant_rule"


@pytest.fixture
def cast(app) -> tuple[list[Actor], list[uuid.UUID]]:
    """Three deelnemers, each of their own organisation, and two persons. Made once per test
    and shared by all of hypothesis's examples (it runs them within one fixture): only the
    covenants and consents differ between examples."""
    viewers = [actor_for(make_user("deelnemer"), "deelnemer") for _ in range(3)]
    persons = [ops.register_person(ops.PersonData(f"Kind{i}", "Eigenschap", date(2012, 1, 1 + i)), SYSTEM, DAY,
                                   confirmed_new=True).id for i in range(2)]
    db.session.commit()
    return viewers, persons


def clear_covenants_and_consents() -> None:
    db.session.rollback()
    db.session.execute(Consent.__table__.delete())
    db.session.execute(CovenantVersion.__table__.delete())  # parties, purposes, categories, rules cascade
    db.session.commit()


def day(offset: int | None) -> date | None:
    return None if offset is None else DAY + timedelta(days=offset)


def edge(*, given: int = -30, withdrawn: int | None = None, joined: int = -30, left: int | None = None,
         newer: dict | None = None, step: str = "gezamenlijk_gesprek", consent_for: int = 0) -> dict:
    """A world that the dates alone decide: one rule allows the viewer "zorgen" for
    "signalering" on consent ``step``, and that step is on record (for organisation
    ``consent_for``) for the one person asked about; ``newer`` adds a later version."""
    rule = {"purpose": "signalering", "category": "zorgen", "target": ("org", 0), "allowed": True, "consent": step}
    versions = [{"from": -60, "until": None, "parties": [{"joined": joined, "left": left}, None, None],
                 "rules": [rule]}]
    if newer:
        versions.append({"parties": versions[0]["parties"], "rules": [rule]} | newer)
    return {"versions": versions, "types": ("cjg", "cjg", "cjg"), "viewer": 0, "subjects": (0,),
            "category": "zorgen", "purpose": "signalering",
            "consents": [{"person": 0, "step": step, "org": consent_for, "given": given, "withdrawn": withdrawn}]}


FORBIDS = [{"purpose": "signalering", "category": "zorgen", "target": ("type", 0), "allowed": False,
            "consent": None}]


# The boundaries, always tried (hypothesis reaches them too, but not in every run):
@example(w=edge())
@example(w=edge(given=0, withdrawn=1))  # given on the day, withdrawn the day after: counts
@example(w=edge(given=1))  # given the day after: does not count yet
@example(w=edge(withdrawn=0))  # withdrawn on the day: no longer counts
@example(w=edge(joined=0, left=1))  # joined on the day, leaves the day after: a party
@example(w=edge(joined=1))  # joins the day after
@example(w=edge(left=0))  # leaves on the day
@example(w=edge(newer={"from": 0, "until": None, "rules": FORBIDS}))  # newer version from the day on
@example(w=edge(newer={"from": -10, "until": -1, "rules": FORBIDS}))  # newer one expired: the older applies
@example(w=edge(newer={"from": 1, "until": None, "rules": FORBIDS}))  # newer one not yet in force
@example(w=edge(newer={"from": -10, "until": 0, "rules": FORBIDS}))  # newer one in force up to and on the day
@example(w=edge(step="delen_met_organisatie", consent_for=1))  # consent to share with another organisation
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(w=world())
def test_gate_agrees_with_the_covenant_and_always_audits(app, cast, w):
    viewers, persons = cast
    orgs = [v.org_id for v in viewers]
    targets = {("org", i): f"org:{o}" for i, o in enumerate(orgs)}
    targets |= {("type", i): f"type:{t}" for i, t in enumerate(TYPES)}
    subjects = [blind("person", p) for p in persons]
    try:
        for n, version in enumerate(w["versions"]):
            create_covenant_version(CovenantSpec(
                version=f"p{n}", title="Eigenschap", valid_from=day(version["from"]),
                valid_until=day(version["until"]), purposes=PURPOSES, categories=CATEGORIES,
                parties=[PartySpec(orgs[i], w["types"][i], day(p["joined"]), day(p["left"]))
                         for i, p in enumerate(version["parties"]) if p is not None],
                rules=[RuleSpec(r["purpose"], r["category"], targets[r["target"]], r["allowed"], f"art. {n}",
                                "toestemming" if r["allowed"] else None, r["consent"])
                       for r in kept_rules(w, version)],
            ), SYSTEM)
        # Consent rows as add_consent and withdraw_consent leave them (written directly: faster).
        db.session.add_all([
            Consent(subject=subjects[c["person"]], person_id=persons[c["person"]], step=c["step"],
                    organisation_id=orgs[c["org"]] if c["step"] == "delen_met_organisatie" else None,
                    given_by="ouder", form="mondeling", given_on=day(c["given"]), withdrawn_on=day(c["withdrawn"]))
            for c in w["consents"]])
        db.session.commit()

        last_seq = db.session.scalar(select(func.max(AuditEntry.seq)))
        asked_about = [blind("family", "f-1"), *(subjects[i] for i in w["subjects"])]
        decision = decide(viewers[w["viewer"]], subjects=asked_about, category=w["category"],
                          purpose=w["purpose"], on=DAY)
        index, reason = reference(w)
        event(reason + (" after a consent step" if decision.consent_step else ""))
        assert (decision.allowed, decision.reason) == (reason == "covenant_rule", reason), decision
        assert decision.covenant_version == (None if index is None else f"p{index}"), decision
        db.session.commit()
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > last_seq)).all()
        assert [(e.action, e.outcome, e.covenant_version) for e in entries] == [
            ("content.read", "allowed" if decision.allowed else "denied", decision.covenant_version)]
    finally:
        clear_covenants_and_consents()  # the examples share the fixture's database


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
