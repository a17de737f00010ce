"""The plan on paper for the family conversation (issue 4, item 6): a print version for the
professionals and a family version in plain Dutch (B1), both as HTML with a print
stylesheet — no PDF library, so nothing extra to install on air-gapped servers.

Both pages read the plan only through ``read_plan`` (the privacy gate, which writes the
audit entries), so each shows exactly what the viewer may see on the plan page for the
same ``?doel=``. A family the viewer's organisation is not involved with, or one without
an open plan, answers with the same 404 as the plan page.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, render_template
from flask_login import current_user

from netwerk.db import db, utcnow
from netwerk.forms import PLAN_AGREEMENT_LABELS
from netwerk.models import Family
from netwerk.models.plans import ACTION_STATES, LIFE_DOMAINS, NETWORK_KINDS, PLAN_STATES, Plan, PlanAction
from netwerk.operations.plans import current_term
from netwerk.web import PlanReading, open_plan_or_404, permission_required, read_plan, visible_family
from privacy.queries import covenant_in_force, labels

bp = Blueprint("plan_print", __name__)

# Spelled out here rather than via the process locale: servers run C.UTF-8 and strftime's
# month names would silently come out in English.
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december")

# What the family reads about an action's state: a short sentence instead of the status
# key or the professionals' label. An open action needs no remark.
FAMILY_ACTION_STATES: dict[str, str] = {
    "open": "",
    "bezig": "Hier wordt aan gewerkt.",
    "gereed": "Dit is gedaan.",
    "niet_gelukt": "Dit is niet gelukt.",
    "vervallen": "Dit is niet meer nodig.",
}


def dutch_date(day: date | None) -> str:
    """A date written out in Dutch, e.g. "15 december 2026"; empty for no date."""
    if day is None:
        return ""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _read(family_id: str) -> tuple[Family, Plan, PlanReading]:
    """Load (404 for an invisible family or one without an open plan), then read the
    content through the gate. The caller commits the gate's audit entries."""
    family = visible_family(family_id)
    plan = open_plan_or_404(family)
    return family, plan, read_plan(family, plan)


def _committed(page: str) -> str:
    # Commit only after rendering: the content leaves the server only together with the
    # audit entries of its reading, never without them.
    db.session.commit()
    return page


def _actions_by_goal(reading: PlanReading) -> tuple[dict[uuid.UUID, list[PlanAction]], list[PlanAction]]:
    """The visible actions under their visible goal, and those whose goal the viewer does
    not see (an action owned by the viewer's organisation can be visible on its own)."""
    goal_ids = {g.id for g in reading.content.goals}
    under: dict[uuid.UUID, list[PlanAction]] = {g.id: [] for g in reading.content.goals}
    loose: list[PlanAction] = []
    for action in reading.content.actions:
        (under[action.goal_id] if action.goal_id in goal_ids else loose).append(action)
    return under, loose


@bp.route("/gezinnen/<family_id>/plan/afdrukken")
@permission_required("persons.work")
def print_plan(family_id: str) -> str:
    """The professionals' print version: everything the plan page shows, without forms."""
    family, plan, reading = _read(family_id)
    return _committed(render_template(
        "plans/print.html", family=family, plan=plan, term=current_term(plan), reading=reading,
        content=reading.content, plan_states=PLAN_STATES, action_states=ACTION_STATES, domains=LIFE_DOMAINS,
        network_kinds=NETWORK_KINDS, agreement_labels=PLAN_AGREEMENT_LABELS,
        category_labels=labels(covenant_in_force(utcnow().date()))[1], printed_on=utcnow().date(),
        printed_by=current_user, dutch_date=dutch_date,
    ))


@bp.route("/gezinnen/<family_id>/plan/gezinsversie")
@permission_required("persons.work")
def family_version(family_id: str) -> str:
    """The family version in plain Dutch. Deliberately without the household pseudonym or
    members' names: the pseudonym is an internal code (the family page shows nothing
    else for the household), and the family knows who they are. It leaves out the
    professionals' concerns (covenant-governed, category-tagged) and the purpose."""
    _, plan, reading = _read(family_id)
    under, loose = _actions_by_goal(reading)
    return _committed(render_template(
        "plans/family.html", plan=plan, term=current_term(plan), content=reading.content, under=under,
        loose=loose, action_states=FAMILY_ACTION_STATES, printed_on=utcnow().date(), dutch_date=dutch_date,
    ))
