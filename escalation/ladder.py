"""The default ladder and stagnation rules of an overleg, and reading them.

Every overleg gets the same starting point (:func:`ensure_default`), which its chair can
then change level by level and rule by rule (``escalation.operations.configure_level`` /
``configure_rule``). Deadlines are counted in Dutch working days (``netwerk.workdays``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from escalation.models import LadderLevel, StagnationRule
from netwerk.db import db, utcnow
from netwerk.workdays import add_working_days
from privacy.audit import Actor, record

TIMEZONE = ZoneInfo("Europe/Amsterdam")


def local_day(now: datetime | None = None) -> date:
    """The Dutch calendar day of ``now`` (default: now): deadlines are days in the Netherlands."""
    return (now or utcnow()).astimezone(TIMEZONE).date()


@dataclass(frozen=True)
class LevelDefault:
    level: int
    name: str
    recipient_role: str
    recipient_scope: str
    deadline_working_days: int


# Level 0: the zorgcoördinator or chair calls the partner whose action is stuck (the action
# owners answer); 1: that partner's team leader; 2: management of the Veiligheidshuis that
# hosts the overleg, who takes it up with the partners' management; 3: the municipality's
# bestuurder (wethouder jeugd, burgemeester) with doorzettingsmacht.
DEFAULT_LEVELS: tuple[LevelDefault, ...] = (
    LevelDefault(0, "Zorgcoördinator / voorzitter spreekt partner aan", "deelnemer", "action_owners", 5),
    LevelDefault(1, "Leidinggevende van de partner", "leidinggevende", "stuck_partner", 10),
    LevelDefault(2, "Management partners / Veiligheidshuis", "leidinggevende", "overleg_owner", 10),
    LevelDefault(3, "Bestuurlijk (doorzettingsmacht)", "bestuurder", "municipality", 20),
)


@dataclass(frozen=True)
class RuleDefault:
    code: str
    params: dict[str, int]
    explanation: str  # a template: {param} placeholders are filled from the rule's params


# The nine stagnation rules of the Opschalingsmodel; escalation.rules evaluates them.
DEFAULT_RULES: tuple[RuleDefault, ...] = (
    RuleDefault("action_overdue", {"days": 14},
                "Een actie is meer dan {days} dagen over de afgesproken datum en nog niet afgerond."),
    RuleDefault("action_carried_over", {"meetings": 2},
                "Een actie is {meetings} of meer overleggen achter elkaar onveranderd doorgeschoven."),
    RuleDefault("recurring_on_agenda", {"agendas": 3},
                "Het gezin stond {agendas} of meer keer achter elkaar op de agenda zonder dat er een "
                "actie is afgerond."),
    RuleDefault("owner_silent", {"meetings": 1},
                "De eigenaar van een actie heeft sinds het vorige overleg niets van zich laten horen."),
    RuleDefault("match_unacknowledged", {"days": 10},
                "Een match tussen betrokken organisaties is na {days} dagen nog niet afgestemd."),
    RuleDefault("coordinator_absent", {"times": 2},
                "De zorgcoördinator was {times} keer achter elkaar afwezig bij het overleg."),
    RuleDefault("due_date_pushed", {"times": 2},
                "De datum van een actie is vaker dan {times} keer verschoven."),
    RuleDefault("plan_evaluation_passed", {"days": 0},
                "De evaluatiedatum van het plan is meer dan {days} dagen verstreken zonder evaluatie."),
    RuleDefault("letter_or_consent_pending", {"days": 10},
                "Een brief aan het gezin of een toestemming ligt al langer dan {days} dagen stil."),
)
RULE_DEFAULTS: dict[str, RuleDefault] = {r.code: r for r in DEFAULT_RULES}
LEVEL_DEFAULTS: dict[int, LevelDefault] = {lv.level: lv for lv in DEFAULT_LEVELS}
PARAM_RANGE = (0, 365)


def ensure_default(overleg: Any, actor: Actor | None = None) -> int:
    """Give ``overleg`` the default ladder and rules where rows are missing (idempotent:
    a level or rule the chair already changed is kept). Returns the rows created."""
    have_levels = set(db.session.scalars(select(LadderLevel.level).where(LadderLevel.overleg_id == overleg.id)))
    have_rules = set(db.session.scalars(select(StagnationRule.code).where(StagnationRule.overleg_id == overleg.id)))
    created = 0
    for lv in DEFAULT_LEVELS:
        if lv.level not in have_levels:
            db.session.add(LadderLevel(overleg_id=overleg.id, level=lv.level, name=lv.name,
                                       recipient_role=lv.recipient_role, recipient_scope=lv.recipient_scope,
                                       deadline_working_days=lv.deadline_working_days))
            created += 1
    for rule in DEFAULT_RULES:
        if rule.code not in have_rules:
            db.session.add(StagnationRule(overleg_id=overleg.id, code=rule.code, enabled=True,
                                          params=dict(rule.params), explanation=rule.explanation))
            created += 1
    if created:
        db.session.flush()
        record("escalation.ladder_seeded", actor=actor or Actor.system("escalation:ladder"),
               summary="default escalation ladder and rules seeded", object_type="overleg", object_id=overleg.id,
               meta={"rows": created})
    return created


def levels_of(overleg_id: uuid.UUID) -> dict[int, LadderLevel]:
    return {row.level: row for row in db.session.scalars(
        select(LadderLevel).where(LadderLevel.overleg_id == overleg_id).order_by(LadderLevel.level))}


def level_of(overleg_id: uuid.UUID, level: int) -> LadderLevel | None:
    return db.session.scalar(select(LadderLevel).where(LadderLevel.overleg_id == overleg_id,
                                                       LadderLevel.level == level))


def rules_of(overleg_id: uuid.UUID) -> dict[str, StagnationRule]:
    return {row.code: row for row in db.session.scalars(
        select(StagnationRule).where(StagnationRule.overleg_id == overleg_id))}


def deadline_days(overleg_id: uuid.UUID, level: int) -> int:
    """The level's response time; the default when the overleg has no row for it."""
    row = level_of(overleg_id, level)
    return row.deadline_working_days if row else LEVEL_DEFAULTS[level].deadline_working_days


def deadline_from(start: date, working_days: int) -> date:
    """The last day to respond: ``working_days`` Dutch working days after ``start``."""
    return add_working_days(start, working_days)


def explain(code: str, explanation: str | None = None, params: dict[str, Any] | None = None) -> str:
    """The rule's Dutch explanation with its parameters filled in (no family content)."""
    default = RULE_DEFAULTS[code]
    template = explanation or default.explanation
    values = default.params | (params or {})
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A template edited into something unformattable still explains the rule.
        return default.explanation.format(**values)


def rule_explanation(rule: StagnationRule) -> str:
    return explain(rule.code, rule.explanation, rule.params)
