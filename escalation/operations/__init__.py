"""The escalation lifecycle and the configuration of the ladder.

proposed (by a rule or by hand) → raised (chair or zorgcoördinator, with a reason and an
ask) → acknowledged (an addressee of the level) → decided (decision, new actions) →
resolved or de-escalated; a proposal that is not raised can be dismissed. When the
deadline of a level passes without a decision, :func:`level_up_overdue` moves the
escalation one level up with a new deadline; at the top level it stays and is flagged.

Every step writes an :class:`EscalationStep` and an audit entry (ids and codes only), and
notifies the people who must act next with a link and no content, after the commit. An
escalation carries a ``version``: a step that expected an older one raises
:class:`StaleEscalation`; the version is claimed with a conditional UPDATE so two
concurrent steps (or a step and the scheduler) cannot both win.

The package: ``lifecycle`` (one escalation's steps), ``proposals`` (what the daily scan
proposes, in bulk), ``scheduler`` (the level-up), ``configuration`` (ladder and rules) and
``common`` (what they share). Callers import from here.
"""

from escalation.operations.common import (
    CLOSED,
    MAX_BLOCKED_ACTIONS,
    NOT_ADDRESSEE,
    NOT_CHAIR,
    NOT_RAISER,
    EscalationRefused,
    StaleEscalation,
    link,
    local_day,
)
from escalation.operations.configuration import configure_level, configure_rule
from escalation.operations.lifecycle import (
    acknowledge,
    addressees,
    decide,
    deescalate,
    dismiss,
    propose,
    raise_escalation,
    resolve,
)
from escalation.operations.proposals import board_link, propose_found
from escalation.operations.scheduler import level_up_overdue, overdue

__all__ = [
    "CLOSED",
    "MAX_BLOCKED_ACTIONS",
    "NOT_ADDRESSEE",
    "NOT_CHAIR",
    "NOT_RAISER",
    "EscalationRefused",
    "StaleEscalation",
    "acknowledge",
    "addressees",
    "board_link",
    "configure_level",
    "configure_rule",
    "decide",
    "deescalate",
    "dismiss",
    "level_up_overdue",
    "link",
    "local_day",
    "overdue",
    "propose",
    "propose_found",
    "raise_escalation",
    "resolve",
]
