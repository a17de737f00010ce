"""The escalation tests' world: an overleg of the Veiligheidshuis with CJG, police and the
municipality at the table and the default ladder; a family whose plan (coordinator: the
CJG worker) has an action of the police that is stuck; and someone on every rung — the
police officer (level 0), the police team leader (1), the Veiligheidshuis manager (2) and
the municipality's bestuurder (3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest

from escalation import ladder
from escalation import operations as esc_ops
from escalation.models import Escalation
from meetings import operations as meeting_ops
from meetings.models import Overleg
from netwerk import operations as core
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import Plan, PlanAction
from tests.factories import make_covenant, make_org, make_user
from tests.netwerk.test_plans import DONE_WHEN, GOAL, WHAT, family_with

TODAY = date.today()


def at(day: date, hour: int = 9) -> datetime:
    """A moment on a Dutch working day (UTC; 09:00 UTC is 10:00 or 11:00 in Amsterdam)."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


@dataclass
class World:
    cjg: Organisation
    police: Organisation
    vh: Organisation
    town: Organisation
    chair: User
    secretary: User
    coordinator: User  # CJG, the family's zorgcoördinator
    officer: User  # police, owner of the stuck action (level 0)
    team_leader: User  # leidinggevende, police (level 1)
    manager: User  # leidinggevende, Veiligheidshuis (level 2: the overleg's host)
    alderman: User  # bestuurder, the municipality at the table (level 3)
    outsider: User  # CJG, no part in it
    overleg: Overleg
    family: Family
    plan: Plan
    action: PlanAction

    def propose(self, **kw: object) -> Escalation:
        args: dict = dict(overleg=self.overleg, household_id=self.family.id, source="regel",
                          rule_code="action_overdue", blocked_action_ids=[self.action.id], now=at(TODAY))
        esc = esc_ops.propose(**(args | kw))
        db.session.commit()
        return esc

    def raised(self, *, now: datetime | None = None, level: int | None = None, **kw: object) -> Escalation:
        esc = self.propose(now=now or at(TODAY), **kw)
        esc_ops.raise_escalation(esc, by=self.chair, reason_category="capaciteit",
                                 ask="Kan de politie een wijkagent vrijmaken?", level=level, now=now or at(TODAY))
        db.session.commit()
        return esc


@pytest.fixture
def world(app) -> World:
    cjg, police = make_org("CJG Esc", "cjg"), make_org("Politie Esc", "politie", "veiligheid")
    vh = make_org("Veiligheidshuis Esc", "veiligheidshuis", "veiligheid")
    town = make_org("Gemeente Esc", "gemeente", "bestuur")
    # In force from well before the dates the tests travel to (deadlines around April 2026 and
    # later): who is reached is judged on the day of each step.
    make_covenant(cjg, police, vh, town, valid_from=date(2025, 1, 1), joined_on=date(2025, 1, 1))
    chair = make_user("voorzitter", org=vh, name="Vera Voorzitter")
    secretary = make_user("secretaris", org=vh, name="Sem Secretaris")
    coordinator, officer = make_user(org=cjg, name="Cor Coördinator"), make_user(org=police, name="Paula Politie")
    team_leader = make_user("leidinggevende", org=police, name="Lies Leidinggevende")
    manager = make_user("leidinggevende", org=vh, name="Max Manager")
    alderman = make_user("bestuurder", org=town, name="Wim Wethouder")
    outsider = make_user(org=cjg, name="Otto Buiten")
    overleg = meeting_ops.create_overleg(meeting_ops.OverlegSpec(
        name="Hét Overleg Esc", kind="procesoverleg", every_weeks=2, first_date=date(2026, 1, 6),
        start_time=time(13, 30), duration_minutes=180, place="Veiligheidshuis", chair_ids=(chair.id,),
        secretary_id=secretary.id,
        sections=(meeting_ops.SectionSpec("Preventief", "signalering", (cjg.id, police.id, town.id)),)),
        actor_for(chair), TODAY)
    ladder.ensure_default(overleg)
    family = family_with(cjg, police)
    plan = core.start_plan(family, coordinator, actor_for(coordinator), TODAY - timedelta(days=30))
    goal = core.add_goal(plan, "school", GOAL, coordinator, actor_for(coordinator))
    action, _ = core.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=officer,
                                owner_member=None, due=TODAY + timedelta(days=10), due_text=None, agreed_by=None,
                                agreed_on=None, actor=actor_for(coordinator), today=TODAY)
    db.session.commit()
    return World(cjg, police, vh, town, chair, secretary, coordinator, officer, team_leader, manager, alderman,
                 outsider, overleg, family, plan, action)
