"""Amira's household gets a 1gezin1plan with a marker in every piece of it.

The plan is started by CJG Alphen aan den Rijn (the planter); its first zorgcoördinator,
cjg-alphen.2, hands over to the planter (the reason is a marker, kept in the history
only). Who is on the plan, and so has the procesregie purpose for the whole household
(``access._plan_context``):

* **CJG** — the zorgcoördinator's organisation; it wrote the plan's own fields, most
  goals and concerns, and the network.
* **GGZ** — owns action 1 (ggz.1; overdue, so a "te laat" reminder), wrote one goal and
  a progress note on its action.
* **Leerplicht** — owns action 2 (leerplicht.1; due today, so a "binnenkort" reminder)
  and wrote the school concern.
* **Jongerenwerk** — jongerenwerk.1 sits at the kitchen table as a professional.

Action 3 belongs to Oma (informal network, no account: no reminder); action 4 to
cjg-alphen.2, who marked it "niet gelukt" with a progress note. The family's view and
strengths were edited once, so their first versions live only in the plan's history.

Concerns carry their own category: zorgen (care partners, with consent), veiligheid
(Veilig Thuis, Politie, GI, Raad; legal task), school (Leerplicht, school, CJG) and
gezondheid (GGZ, GGD, CJG; with consent for the organisation) — so each partner on the
plan gets some concerns and the "Er is informatie bij …" line for others.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import update

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.jobs import remind_actions
from netwerk.models import Family, User
from netwerk.models.plans import NetworkMember, Plan, PlanAction, PlanGoal
from privacy.audit import Actor
from tests.leak.harness import Planted, new_marker

# Text kept only in the plan's history (old values, a hand-over's reason) and progress
# notes, which only the history shows.
HISTORY_ONLY = ("history", "progress")


def history_channels() -> tuple[str, ...]:
    """Where history-only text is meant to show: the plan's history page, once the app has
    one (it is being built alongside); until then nowhere."""
    return ("html",) if "plans.history" in current_app.view_functions else ()


@dataclass
class PlanPlanting:
    """Plants while building: every text gets a fresh marker, registered with the
    (category, owner) group the gate reads it in."""

    plan: Plan
    users: dict[str, User]
    today: date
    markers: dict[str, Planted] = field(default_factory=dict)

    def actor(self, account: str) -> Actor:
        return actor_for(self.users[account], "deelnemer")

    def mark(self, piece: str, category: str, owner: uuid.UUID, *, action: PlanAction | None = None) -> str:
        """A fresh marker for a text about to be written, registered now."""
        return self.register(new_marker(category), piece, category, owner, action=action)

    def register(self, marker: str, piece: str, category: str, owner: uuid.UUID, *,
                 action: PlanAction | None = None) -> str:
        shown_on = history_channels() if piece in HISTORY_ONLY else ("html", "api")
        self.markers[marker] = Planted(None, None, category, owner, piece, self.plan.id,
                                       self.plan.family_id, action.id if action else None, shown_on)
        return marker

    def org(self, account: str) -> uuid.UUID:
        org_id = self.users[account].organisation_id
        assert org_id is not None
        return org_id


def plant_plan(family: Family, users: dict[str, User], planter: str, today: date) -> dict[str, Planted]:
    """Start the household's plan, fill it, let one action run late and send the day's
    reminders; returns the marker registry of every piece. Commits."""
    plan = ops.start_plan(family, users["cjg-alphen.2"], actor_for(users[planter], "deelnemer"), today)
    p = PlanPlanting(plan, users, today)
    _plan_fields(p, planter)
    goals = _goals(p, planter)
    _concerns(p, planter)
    oma = _network(p, planter)
    actions = _actions(p, planter, goals, oma)
    _progress(p, actions)
    reason = p.mark("history", "plan", plan.organisation_id)
    ops.change_coordinator(plan, users[planter], f"Overdracht na verhuizing {reason}", p.actor(planter), today)
    ops.adopt_plan(plan, "zorgcoordinator", p.actor(planter), today)
    # Time passes: action 1 is two days late (the checker never accepts a date in the past).
    db.session.execute(update(PlanAction).where(PlanAction.id == actions[0].id).values(due=today - timedelta(days=2)))
    db.session.commit()
    remind_actions(today.isoformat())
    db.session.commit()
    return p.markers


def _plan_fields(p: PlanPlanting, planter: str) -> None:
    """Written twice: the first version survives only in the plan's history."""
    owner = p.plan.organisation_id
    for piece in ("history", "plan"):
        view, strengths = p.mark(piece, "plan", owner), p.mark(piece, "plan", owner)
        ops.update_plan(p.plan, family_view=f"Wij willen rust in huis {view}", strengths=f"Sterk gezin {strengths}",
                        next_evaluation=p.today + timedelta(days=60), family_agreement_required=True,
                        expected_version=p.plan.version, actor=p.actor(planter), today=p.today)


def _goals(p: PlanPlanting, planter: str) -> list[PlanGoal]:
    goals = []
    for domain, author in (("opvoeding", planter), ("school", planter), ("gezondheid", "ggz.1")):
        text = f"Doel {domain}: {p.mark('goal', 'plan', p.org(author))}"
        goals.append(ops.add_goal(p.plan, domain, text, p.users[author], p.actor(author)))
    return goals


def _concerns(p: PlanPlanting, planter: str) -> None:
    for domain, category, author in (("opvoeding", "zorgen", planter), ("veiligheid", "veiligheid", planter),
                                     ("school", "school", "leerplicht.1"), ("gezondheid", "gezondheid", planter)):
        text = f"Zorg over {domain}: {p.mark('concern', category, p.org(author))}"
        ops.add_concern(p.plan, domain, category, text, p.users[author], p.actor(author), p.today)


def _network(p: PlanPlanting, planter: str) -> NetworkMember:
    owner = p.plan.organisation_id  # the network is the plan's own: read with the plan's fields

    def member(kind: str, org: uuid.UUID | None, user: uuid.UUID | None) -> NetworkMember:
        name, role = p.mark("network", "plan", owner), p.mark("network", "plan", owner)
        return ops.add_network_member(p.plan, kind, f"Naam {name}", f"Rol {role}", org, user, p.actor(planter))

    oma = member("informeel", None, None)
    member("professioneel", p.org("jongerenwerk.1"), p.users["jongerenwerk.1"].id)
    return oma


def _actions(p: PlanPlanting, planter: str, goals: list[PlanGoal], oma: NetworkMember) -> list[PlanAction]:
    """One action per kind of owner, each through the real operation (so its texts reach
    the history too); the markers are registered once the action has its id."""
    owners: list[tuple[User | None, NetworkMember | None, int, str]] = [
        (p.users["ggz.1"], None, 14, "Gerda belt de huisarts over de slaapmedicatie"),
        (p.users["leerplicht.1"], None, 0, "Leon plant een gesprek met de mentor"),
        (None, oma, 20, "Oma haalt Amira op woensdag op van school"),
        (p.users["cjg-alphen.2"], None, 10, "Sanne bespreekt met moeder de slaaptips"),
    ]
    actions = []
    for (user, member, due_in, what), goal in zip(owners, [*goals, goals[0]], strict=True):
        what_marker, done_marker = new_marker("plan"), new_marker("plan")
        action, _ = ops.add_action(
            p.plan, goal_id=goal.id, what=f"{what} ({what_marker})",
            done_when=f"klaar als het verslag {done_marker} is gedeeld", owner_user=user, owner_member=member,
            due=p.today + timedelta(days=due_in), due_text=None, agreed_by="ouder_en_jongere", agreed_on=p.today,
            actor=p.actor(planter), today=p.today)
        for marker in (what_marker, done_marker):
            p.register(marker, "action", "plan", action.owner_org_id or action.organisation_id, action=action)
        actions.append(action)
    return actions


def _progress(p: PlanPlanting, actions: list[PlanAction]) -> None:
    """Progress notes, stored in the action's updates and the history (which shows them)."""
    for action, account, status, reason in ((actions[0], "ggz.1", "bezig", None),
                                            (actions[3], "cjg-alphen.2", "niet_gelukt", "niet_ondernomen")):
        owner = action.owner_org_id or action.organisation_id
        note = p.mark("progress", "plan", owner, action=action)
        ops.update_action(action, status=status, progress=f"Voortgang: {note}", failure_reason=reason, due=None,
                          expected_version=action.version, actor=p.actor(account), today=p.today)
