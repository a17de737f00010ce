"""Being on a family's plan gives the procesregie purpose for its members' content; being
off it (or the plan closed) gives none."""

from __future__ import annotations

from datetime import date

from netwerk import access
from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import CoordinatorTerm, Plan
from tests.factories import SYSTEM, make_covenant, make_org, make_user

TODAY = date.today()


def test_the_plan_gives_procesregie_to_its_coordinator_and_nobody_else(app):
    cjg, school = make_org("CJG Plan", "cjg"), make_org("School Plan", "school", "onderwijs")
    make_covenant(cjg, school)
    kid = ops.register_person(ops.PersonData("Pim", "Plan", date(2013, 2, 3)), SYSTEM, TODAY)
    family = ops.compose_family([(kid, "kind")], SYSTEM)
    coordinator, outsider = make_user("deelnemer", org=cjg), make_user("deelnemer", org=school)
    plan = Plan(family_id=family.id, organisation_id=cjg.id)
    db.session.add(plan)
    db.session.flush()
    db.session.add(CoordinatorTerm(plan_id=plan.id, user_id=coordinator.id, organisation_id=cjg.id, start_on=TODAY))
    db.session.commit()

    def purposes(user) -> list[tuple[str, str]]:
        return [(c.purpose, c.source) for c in access.purposes_for(actor_for(user, "deelnemer"), kid.id, utcnow())]

    assert purposes(coordinator) == [("procesregie", "plan")]
    assert purposes(outsider) == []
    plan.status = "afgesloten"
    db.session.commit()
    assert purposes(coordinator) == []


def test_plan_content_is_disclosed_per_category_and_owner(app):
    """The plan's own pieces are category "plan"; a concern keeps its own category. The
    police, allowed "plan" for procesregie but not "gezondheid", sees goals and actions but
    not the health concern, which is said in "that" terms; every piece group is audited."""
    from sqlalchemy import select

    from netwerk.content import plan_content
    from netwerk.models import NetworkMember, PlanAction, PlanConcern, PlanGoal
    from privacy.models import AuditEntry
    from tests.factories import allow

    cjg, police = make_org("CJG Inhoud", "cjg"), make_org("Politie Inhoud", "politie", "veiligheid")
    make_covenant(cjg, police, rules=[allow(police, "plan", "procesregie")])
    kid = ops.register_person(ops.PersonData("Lot", "Inhoud", date(2012, 5, 6)), SYSTEM, TODAY)
    family = ops.compose_family([(kid, "kind")], SYSTEM)
    writer, agent = make_user("deelnemer", org=cjg), make_user("deelnemer", org=police)
    plan = Plan(family_id=family.id, organisation_id=cjg.id)
    plan.family_view = "MARKER-VIEW"
    db.session.add(plan)
    db.session.flush()
    goal = PlanGoal(plan_id=plan.id, domain="school", organisation_id=cjg.id, author_user_id=writer.id)
    goal.text = "MARKER-GOAL"
    concern = PlanConcern(plan_id=plan.id, domain="gezondheid", category="gezondheid", organisation_id=cjg.id,
                          author_user_id=writer.id)
    concern.text = "MARKER-HEALTH"
    member = NetworkMember(plan_id=plan.id, kind="informeel")
    member.name = "MARKER-OMA"
    db.session.add_all([goal, concern, member])
    db.session.flush()
    action = PlanAction(plan_id=plan.id, goal_id=goal.id, owner_user_id=agent.id, owner_org_id=police.id,
                        due=TODAY, organisation_id=cjg.id, created_by_user_id=writer.id)
    action.what, action.done_when = "MARKER-ACTION", "MARKER-DONE"
    db.session.add(action)
    db.session.commit()

    seen = plan_content(actor_for(agent, "deelnemer"), plan, "procesregie")
    assert seen.family_view == "MARKER-VIEW" and [g.text for g in seen.goals] == ["MARKER-GOAL"]
    assert [a.what for a in seen.actions] == ["MARKER-ACTION"] and [m.name for m in seen.network] == ["MARKER-OMA"]
    assert seen.concerns == [] and seen.withheld == ["Er is informatie bij CJG Inhoud — neem contact op via "
                                                     f"{cjg.phone or cjg.email or 'de organisatie'}."]
    none = plan_content(actor_for(agent, "deelnemer"), plan, None)
    assert [a.what for a in none.actions] == ["MARKER-ACTION"]  # assigned to the police: its own
    assert none.goals == [] and none.family_view is None
    db.session.commit()
    reads = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read",
                                                        AuditEntry.object_type == "plan")).all()
    assert len(reads) == 6 and all("MARKER" not in str(e.meta) for e in reads)


def test_an_emergency_claim_opens_a_household_plan_only_when_made_for_every_member(app):
    cjg, police = make_org("CJG Nood", "cjg"), make_org("Politie Nood", "politie", "veiligheid")
    make_covenant(cjg, police)
    kids = [ops.register_person(ops.PersonData(n, "Nood", date(2012, 1, 1 + i)), SYSTEM, TODAY)
            for i, n in enumerate(("Ada", "Bo"))]
    ops.compose_family([(kids[0], "kind"), (kids[1], "kind")], SYSTEM)
    agent = make_user("deelnemer", org=police)
    actor = actor_for(agent, "deelnemer")
    reason = "Acute zorg over de veiligheid van de kinderen vannacht"
    ops.claim_purpose(kids[0], "nazorg", reason, actor, utcnow())
    db.session.commit()
    ids = [k.id for k in kids]
    assert access.family_purposes(actor, ids, utcnow()) == []
    ops.claim_purpose(kids[1], "nazorg", reason, actor, utcnow())
    db.session.commit()
    assert [(c.purpose, c.emergency) for c in access.family_purposes(actor, ids, utcnow())] == [("nazorg", True)]
