"""The demo's escalation ladder: every overleg gets the default ladder and rules, and the
De Vries household one escalation at level 1 (the police's action on the HALT agreements
is stuck; the chair of Hét Overleg raised it to the police's team leader). Idempotent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from escalation import ladder
from escalation import operations as ops
from escalation.models import Escalation
from meetings.models import Overleg
from netwerk.db import db
from netwerk.demo import DOMAIN, demo_household
from netwerk.models import Organisation, User
from netwerk.models.plans import Plan, PlanAction
from privacy.audit import Actor

DEMO_OVERLEG = "Hét Overleg Alphen (demo)"
DEMO_ASK = ("Kan de politie binnen twee weken een wijkagent vrijmaken om de HALT-afspraken thuis af te ronden, "
            "of een collega aanwijzen die het overneemt?")


def create_demo_escalations(now: datetime) -> int:
    """Seed every overleg's ladder; give De Vries one raised escalation. Returns 1 when the
    escalation was created, 0 otherwise."""
    for overleg in db.session.scalars(select(Overleg)):
        ladder.ensure_default(overleg, Actor.system("demo"))
    overleg = db.session.scalar(select(Overleg).where(Overleg.name == DEMO_OVERLEG))
    family = demo_household()
    if overleg is None or family is None:
        return 0
    if db.session.scalar(select(Escalation.id).where(Escalation.household_id == family.id).limit(1)):
        return 0
    police = db.session.scalar(select(Organisation).where(Organisation.email == f"info@politie.{DOMAIN}"))
    chair = db.session.scalar(select(User).where(User.email == f"voorzitter@{DOMAIN}"))
    action = db.session.scalar(select(PlanAction).join(Plan).where(
        Plan.family_id == family.id, PlanAction.owner_org_id == police.id).limit(1)) if police else None
    if chair is None or action is None:
        return 0
    esc = ops.propose(overleg=overleg, household_id=family.id, source="handmatig", blocked_action_ids=[action.id],
                      stuck_organisation_id=police.id, proposed_by=chair, now=now,
                      explanation="De voorzitter heeft deze casus met de hand voorgedragen.")
    if esc is None:
        return 0
    ops.raise_escalation(esc, by=chair, reason_category="capaciteit", ask=DEMO_ASK, level=1, now=now)
    return 1
