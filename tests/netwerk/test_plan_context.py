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
