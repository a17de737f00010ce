"""The chair's settings of an overleg's ladder (who receives each level, the deadline)
and its stagnation rules; every change is audited with the values before and after."""

from __future__ import annotations

import uuid
from datetime import datetime

from escalation import ladder
from escalation.ladder import local_day
from escalation.models import (
    RECIPIENT_SCOPES,
    LadderLevel,
    StagnationRule,
)
from escalation.operations.common import (
    NOT_A_PARTY,
    NOT_CHAIR,
    EscalationRefused,
    _actor,
    _refuse_role,
    _text,
)
from escalation.policy import is_chair
from netwerk.db import db, utcnow
from netwerk.models import ROLES, Organisation, User
from privacy.audit import record
from privacy.queries import parties_in_force


def configure_level(level: LadderLevel, *, by: User, recipient_role: str, recipient_scope: str,
                    deadline_working_days: int, recipient_organisation_id: uuid.UUID | None = None,
                    name: str | None = None, now: datetime | None = None) -> LadderLevel:
    """Change who receives an escalation at this level and their response time."""
    if not is_chair(by, level.overleg_id):
        raise _refuse_role(NOT_CHAIR)
    if recipient_role not in ROLES or recipient_role in {"beheerder", "privacy"}:
        raise EscalationRefused("Kies een rol die een escalatie kan ontvangen.", field="recipient_role")
    if recipient_scope not in RECIPIENT_SCOPES:
        raise EscalationRefused("Kies bij welke organisatie de ontvangers horen.", field="recipient_scope")
    if recipient_scope == "organisation":
        if recipient_organisation_id is None or db.session.get(Organisation, recipient_organisation_id) is None:
            raise EscalationRefused("Kies de organisatie van de ontvangers.", field="recipient_organisation_id")
        if recipient_organisation_id not in parties_in_force(local_day(now)):
            raise EscalationRefused(NOT_A_PARTY, field="recipient_organisation_id")
    else:
        recipient_organisation_id = None
    if not isinstance(deadline_working_days, int) or not 1 <= deadline_working_days <= 120:
        raise EscalationRefused("De termijn is 1 tot en met 120 werkdagen.", field="deadline_working_days")
    new_name = _text(name, "name", (3, 120), "De naam van het niveau") if name is not None else level.name
    before = {"role": level.recipient_role, "scope": level.recipient_scope, "days": level.deadline_working_days}
    level.recipient_role, level.recipient_scope = recipient_role, recipient_scope
    level.recipient_organisation_id, level.deadline_working_days = recipient_organisation_id, deadline_working_days
    level.name, level.updated_at = new_name, now or utcnow()
    db.session.flush()
    record("escalation.ladder_changed", actor=_actor(by, "voorzitter"), summary="escalation ladder level changed",
           object_type="escalation_ladder_level", object_id=level.id,
           meta={"overleg": str(level.overleg_id), "level": level.level, "before": before,
                 "after": {"role": recipient_role, "scope": recipient_scope, "days": deadline_working_days,
                           "organisation": str(recipient_organisation_id) if recipient_organisation_id else None}})
    return level


def configure_rule(rule: StagnationRule, *, by: User, enabled: bool, params: dict[str, int],
                   now: datetime | None = None) -> StagnationRule:
    """Switch a stagnation rule on or off and set its parameters (the same keys as its
    default, whole numbers from 0 to 365)."""
    if not is_chair(by, rule.overleg_id):
        raise _refuse_role(NOT_CHAIR)
    expected = set(ladder.RULE_DEFAULTS[rule.code].params)
    if set(params) != expected:
        raise EscalationRefused("Deze regel heeft als instelling: " + ", ".join(sorted(expected)) + ".",
                                field="params")
    low, high = ladder.PARAM_RANGE
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise EscalationRefused(f"De instelling {key} is een heel getal van {low} tot en met {high}.",
                                    field=key)
    before = {"enabled": rule.enabled, "params": dict(rule.params)}
    rule.enabled, rule.params, rule.updated_at = bool(enabled), dict(params), now or utcnow()
    db.session.flush()
    record("escalation.rule_changed", actor=_actor(by, "voorzitter"), summary="stagnation rule changed",
           object_type="escalation_rule", object_id=rule.id,
           meta={"overleg": str(rule.overleg_id), "rule": rule.code, "before": before,
                 "after": {"enabled": rule.enabled, "params": rule.params}})
    return rule
