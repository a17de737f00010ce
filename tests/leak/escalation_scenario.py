"""The leak test's world with escalations: the scenario of ``tests/leak/scenario.py`` (every
piece of Amira's household plan carries a marker) plus the demo's ladders and De Vries
escalation, and three escalations of Amira's household in Hét Overleg Alphen:

* **A** (action overdue) blocks the GGZ action and the Leerplicht action (their texts carry
  markers), stuck at GGZ; the chair raised it to level 1, GGZ's team leader — a
  leidinggevende added for this test, ``leidinggevende.ggz`` — and that leader decided.
* **B** (owner silent) blocks the GGZ action and was raised straight to level 3: the
  municipality at the table (Gemeente Alphen sits in "Nazorg detentie"), so the demo
  ``bestuurder`` receives it.
* **C** (plan evaluation passed) was a proposal the chair dismissed with a note.

Who may see them (``escalation.policy``): the chair (``voorzitter``) and the household's
zorgcoördinator (``cjg-alphen.1``) everything, with the notes and the decision; the
addressees (``leidinggevende.ggz`` for A, ``bestuurder`` for B) only the minimal package.
A blocked action's text shows where the gate allows it: the coordinator's plan context
gives procesregie for both; the GGZ leader sees the GGZ action (their own organisation's)
and nothing else; the chair (Veiligheidshuis, not involved) and the bestuurder no text.

The decision and the dismissal note carry their own markers (``BESLUIT-…``, ``NOTITIE-…``):
they are not plan content, so the gate does not vouch for them — they are held to who may
see the whole record by hand.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select

from escalation import operations as esc_ops
from escalation.demo import DEMO_OVERLEG, create_demo_escalations
from escalation.models import Escalation
from meetings.models import Overleg
from netwerk import demo
from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models.plans import Plan, PlanAction
from netwerk.security import hash_password
from privacy.audit import Actor
from tests.leak.harness import Scenario
from tests.leak.scenario import build, by_local

GGZ_LEADER = "leidinggevende.ggz"


def build_escalated(today: date | None = None) -> Scenario:
    """Seed the scenario and the escalations; commit; return the scenario with
    ``extra["escalation"]``: ids, the blocked actions' what-markers and the hand markers."""
    scenario = build(today)
    now = utcnow()
    create_demo_escalations(now)
    ggz, chair = by_local("ggz.1"), by_local("voorzitter")
    leader = _leader(ggz.organisation_id)
    overleg = db.session.scalar(select(Overleg).where(Overleg.name == DEMO_OVERLEG))
    family_id = scenario.extra["family_id"]
    actions = {a.owner_user_id: a for a in db.session.scalars(
        select(PlanAction).join(Plan).where(Plan.family_id == family_id))}
    ggz_action, school_action = actions[ggz.id], actions[by_local("leerplicht.1").id]
    decision, note = f"BESLUIT-{uuid.uuid4().hex}", f"NOTITIE-{uuid.uuid4().hex}"

    a = esc_ops.propose(overleg=overleg, household_id=family_id, source="regel", rule_code="action_overdue",
                        blocked_action_ids=[ggz_action.id, school_action.id],
                        stuck_organisation_id=ggz.organisation_id, now=now - timedelta(days=3))
    esc_ops.raise_escalation(a, by=chair, reason_category="capaciteit", level=1, now=now - timedelta(days=2),
                             ask="Kan GGZ de afspraak met de huisarts deze week inplannen?")
    esc_ops.decide(a, by=leader, decision=f"Wij plannen een extra consult in. {decision}", now=now)
    b = esc_ops.propose(overleg=overleg, household_id=family_id, source="regel", rule_code="owner_silent",
                        blocked_action_ids=[ggz_action.id], stuck_organisation_id=ggz.organisation_id, now=now)
    esc_ops.raise_escalation(b, by=chair, reason_category="mandaat", level=3, now=now,
                             ask="Wilt u doorzettingsmacht inzetten voor een plek bij GGZ?")
    c = esc_ops.propose(overleg=overleg, household_id=family_id, source="regel", rule_code="plan_evaluation_passed",
                        now=now)
    esc_ops.dismiss(c, by=chair, note=f"Evaluatie staat gepland. {note}", now=now)
    db.session.commit()
    scenario.extra["escalation"] = {
        "ids": {"A": a.id, "B": b.id, "C": c.id},
        "family_ids": [family_id, *db.session.scalars(select(Escalation.household_id).where(
            Escalation.household_id != family_id).distinct())],
        "what": {"ggz": _marker_in(scenario, ggz_action.what), "leerplicht": _marker_in(scenario, school_action.what)},
        "decision": decision, "note": note,
    }
    return scenario


def _leader(org_id: uuid.UUID):
    """GGZ's team leader: the demo has leidinggevenden only at the police."""
    user, _ = ops.create_user(ops.UserData(email=f"{GGZ_LEADER}@{demo.DOMAIN}", name="Gea Leidinggevende",
                                           organisation_id=org_id, roles={"leidinggevende"}),
                              Actor.system("tests"))
    user.password_hash = hash_password(demo.demo_password())
    user.must_change_password = False
    db.session.commit()
    return user


def _marker_in(scenario: Scenario, text: str) -> str:
    return next(m for m in scenario.markers if m in text)
