"""The ladder (issue 6, part 1): default levels and rules as data, deadlines in Dutch working
days across weekends and public holidays, per-overleg configuration (audited, chairs only),
who receives an escalation at each level, and the demo's seed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from escalation import ladder
from escalation import operations as ops
from escalation.demo import create_demo_escalations
from escalation.models import RULE_CODES, Escalation, LadderLevel, StagnationRule
from escalation.operations import EscalationRefused, local_day
from escalation.policy import addressees_at
from meetings.demo import create_demo_overleggen
from netwerk import demo
from netwerk.db import db, utcnow
from privacy.models import AuditEntry, CovenantParty
from tests.escalation.conftest import World, at
from tests.escalation.test_views import client_for
from tests.factories import make_org, make_user
from tests.helpers import html

# --- pure: the calendar and the defaults ----------------------------------------------------

@pytest.mark.parametrize(("start", "days", "deadline"), [
    (date(2026, 11, 20), 5, date(2026, 11, 27)),  # Friday: the weekend does not count
    (date(2026, 4, 24), 5, date(2026, 5, 4)),  # Koningsdag (Monday 27 April 2026) skipped
    (date(2026, 12, 23), 5, date(2026, 12, 31)),  # Eerste Kerstdag on a Friday
    (date(2026, 12, 24), 5, date(2027, 1, 4)),  # Christmas, the weekend and Nieuwjaarsdag
    (date(2026, 12, 18), 10, date(2027, 1, 5)),  # the default level-1 deadline over the holidays
    (date(2027, 3, 25), 5, date(2027, 4, 5)),  # Goede Vrijdag and Tweede Paasdag 2027
    (date(2027, 4, 23), 20, date(2027, 5, 26)),  # level 3: Koningsdag, Hemelvaart and Tweede Pinksterdag
])
def test_deadlines_count_dutch_working_days(start, days, deadline):
    assert ladder.deadline_from(start, days) == deadline


def test_a_deadline_starts_from_the_dutch_day_not_the_utc_day():
    # 23:30 UTC on Sunday 26 April 2026 is already Koningsdag in Amsterdam.
    assert local_day(datetime(2026, 4, 26, 23, 30, tzinfo=UTC)) == date(2026, 4, 27)
    assert local_day(datetime(2026, 4, 26, 21, 59, tzinfo=UTC)) == date(2026, 4, 26)


def test_the_defaults_are_the_four_levels_and_nine_rules_with_filled_explanations():
    assert [(lv.level, lv.deadline_working_days) for lv in ladder.DEFAULT_LEVELS] == [(0, 5), (1, 10), (2, 10),
                                                                                       (3, 20)]
    assert [lv.recipient_role for lv in ladder.DEFAULT_LEVELS] == ["deelnemer", "leidinggevende", "leidinggevende",
                                                                   "bestuurder"]
    assert [r.code for r in ladder.DEFAULT_RULES] == list(RULE_CODES)
    for rule in ladder.DEFAULT_RULES:
        text = ladder.explain(rule.code)
        assert "{" not in text and text.endswith(".")
    assert "30 dagen" in ladder.explain("action_overdue", params={"days": 30})
    # A template edited into nonsense still explains the rule.
    assert ladder.explain("action_overdue", "Over {weken} weken", {"days": 3}).startswith("Een actie is meer dan 3")


# --- the ladder of an overleg ----------------------------------------------------------------

def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seeding_is_idempotent_and_every_level_reaches_its_people(app, world: World):
    assert (_count(LadderLevel), _count(StagnationRule)) == (4, 9)
    level0 = ladder.level_of(world.overleg.id, 0)
    ops.configure_level(level0, by=world.chair, recipient_role="deelnemer", recipient_scope="action_owners",
                        deadline_working_days=3)
    assert ladder.ensure_default(world.overleg) == 0  # nothing added, the chair's change kept
    assert ladder.level_of(world.overleg.id, 0).deadline_working_days == 3
    esc = world.propose()
    expected = {0: [world.officer], 1: [world.team_leader], 2: [world.manager], 3: [world.alderman]}
    assert {lv: addressees_at(esc, lv) for lv in range(4)} == expected
    # Without an owner account on the actions, level 0 goes to the stuck partner's people.
    esc.blocked_action_ids = []
    assert addressees_at(esc, 0) == [world.officer]


def test_the_chair_configures_levels_and_rules_audited_and_others_are_refused(app, world: World):
    level1 = ladder.level_of(world.overleg.id, 1)
    rule = ladder.rules_of(world.overleg.id)["action_overdue"]
    before = _count(AuditEntry)
    for who in (world.secretary, world.coordinator, world.team_leader):
        with pytest.raises(EscalationRefused) as refused:
            ops.configure_level(level1, by=who, recipient_role="bestuurder", recipient_scope="stuck_partner",
                                deadline_working_days=5)
        assert refused.value.code == "geen_recht" and "voorzitter" in refused.value.message
        with pytest.raises(EscalationRefused):
            ops.configure_rule(rule, by=who, enabled=False, params={"days": 7})
    bad_levels = [dict(recipient_role="beheerder"), dict(recipient_scope="overal"), dict(deadline_working_days=0),
                  dict(deadline_working_days=121), dict(recipient_scope="organisation")]
    for bad in bad_levels:
        args = dict(recipient_role="leidinggevende", recipient_scope="stuck_partner", deadline_working_days=5) | bad
        with pytest.raises(EscalationRefused):
            ops.configure_level(level1, by=world.chair, **args)
    for params in ({"weeks": 2}, {"days": -1}, {"days": 400}, {"days": "7"}, {"days": True}, {}):
        with pytest.raises(EscalationRefused):
            ops.configure_rule(rule, by=world.chair, enabled=True, params=params)
    db.session.rollback()
    assert _count(AuditEntry) == before and ladder.level_of(world.overleg.id, 1).deadline_working_days == 10

    ops.configure_level(ladder.level_of(world.overleg.id, 1), by=world.chair, recipient_role="leidinggevende",
                        recipient_scope="organisation", recipient_organisation_id=world.vh.id,
                        deadline_working_days=7)
    ops.configure_rule(ladder.rules_of(world.overleg.id)["action_overdue"], by=world.chair, enabled=False,
                       params={"days": 21})
    db.session.commit()
    rule = ladder.rules_of(world.overleg.id)["action_overdue"]
    assert (rule.enabled, rule.params, ladder.rule_explanation(rule).count("21")) == (False, {"days": 21}, 1)
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action.in_(
        ["escalation.ladder_changed", "escalation.rule_changed"])).order_by(AuditEntry.seq)).all()
    assert [e.meta["after"] for e in entries] == [
        {"role": "leidinggevende", "scope": "organisation", "days": 7, "organisation": str(world.vh.id)},
        {"enabled": False, "params": {"days": 21}}]
    assert entries[0].meta["before"] == {"role": "leidinggevende", "scope": "stuck_partner", "days": 10}
    assert entries[0].actor_user_id == world.chair.id and entries[0].actor_role == "voorzitter"
    # The new recipients and deadline apply to the next escalation raised at that level.
    esc = world.raised(now=at(date(2026, 12, 18)), level=1)
    assert (addressees_at(esc, 1), esc.deadline) == ([world.manager], date(2026, 12, 30))


def test_the_demo_seeds_every_overleg_and_one_de_vries_escalation_at_level_1(app):
    now = utcnow()
    demo.create_demo_region()
    demo.create_demo_cases(now.date())
    create_demo_overleggen(now.date())
    assert create_demo_escalations(now) == 1
    db.session.commit()
    assert (_count(LadderLevel), _count(StagnationRule)) == (8, 18)  # two overleggen
    [esc] = db.session.scalars(select(Escalation)).all()
    assert (esc.status, esc.level, esc.household_id) == ("opgeschaald", 1, demo.demo_household().id)
    lead = db.session.scalar(select(demo.User).where(demo.User.email == f"leidinggevende@{demo.DOMAIN}"))
    assert ops.addressees(esc) == [lead]
    assert create_demo_escalations(now) == 0  # idempotent
    assert _count(Escalation) == 1
    assert "HALT" not in json.dumps([e.meta for e in db.session.scalars(select(AuditEntry))])


def test_an_escalation_goes_only_to_parties_of_the_covenant_in_force(app, world: World):
    """A fixed organisation on the ladder, the partner named as stuck, and the people who
    receive it are all parties to the covenant in force: the minimal package never goes to
    an organisation outside it."""
    outside = make_org("Buurthuis Buiten", "jongerenwerk", "zorg")
    make_user("leidinggevende", org=outside, name="Bas Buiten")
    level1 = ladder.level_of(world.overleg.id, 1)
    with pytest.raises(EscalationRefused) as refused:
        ops.configure_level(level1, by=world.chair, recipient_role="leidinggevende", recipient_scope="organisation",
                            recipient_organisation_id=outside.id, deadline_working_days=7)
    assert refused.value.field == "recipient_organisation_id" and "partij" in refused.value.message
    db.session.rollback()
    assert ladder.level_of(world.overleg.id, 1).recipient_scope == "stuck_partner"
    client = client_for(app, world.chair)
    page = html(client.get(f"/overleggen/{world.overleg.id}/opschalingsladder"))
    assert "Veiligheidshuis Esc" in page and "Buurthuis Buiten" not in page  # not offered either

    esc = world.propose(now=utcnow())
    with pytest.raises(EscalationRefused) as refused:
        ops.raise_escalation(esc, by=world.chair, reason_category="capaciteit", ask="Kan iemand dit oppakken?",
                             stuck_organisation_id=outside.id, now=utcnow())
    assert refused.value.field == "stuck_organisation_id"
    db.session.rollback()
    # A party that leaves the covenant stops receiving escalations from its leaving day.
    esc = db.session.get(Escalation, esc.id)
    assert addressees_at(esc, 1) == [world.team_leader]
    party = db.session.scalar(select(CovenantParty).where(CovenantParty.organisation_id == world.police.id))
    party.left_on = local_day()
    db.session.commit()
    assert addressees_at(esc, 1) == []
