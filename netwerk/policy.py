"""Who may do what with accounts, organisations and the system itself.

One API (:func:`may`) instead of role strings compared in views. Deny by default: a
permission not listed here is refused. Case content is not decided here but by
``privacy.policy.decide``, which refuses the beheerder role outright.
"""

from __future__ import annotations

from typing import Protocol

PERMISSIONS: dict[str, frozenset[str]] = {
    "organisations.manage": frozenset({"beheerder"}),
    "users.manage": frozenset({"beheerder"}),
    "outbox.read": frozenset({"beheerder"}),
    "audit.read": frozenset({"privacy"}),
    "covenant.manage": frozenset({"privacy"}),
    # Retention runs and data subjects' requests for erasure and rectification.
    "retention.manage": frozenset({"privacy"}),
    # Deciding on the review queue's flags (privacy.review); reading it is audit.read.
    "review.decide": frozenset({"privacy"}),
    # The "that" layer: registering involvements, seeing matches and persons one's own
    # organisation is involved with. Content is still decided by the privacy gate.
    "persons.work": frozenset({"deelnemer", "voorzitter", "secretaris"}),
    # Overleggen: taking part (per section, decided in meetings.policy) and setting one up.
    "meetings.view": frozenset({"deelnemer", "voorzitter", "secretaris"}),
    "meetings.create": frozenset({"voorzitter", "secretaris"}),
    # Escalation (opschaling): the board shows each user only the escalations
    # escalation.policy lets them see; the quarterly report holds figures, never a family.
    "escalations.view": frozenset({"deelnemer", "voorzitter", "secretaris", "leidinggevende", "bestuurder"}),
    "escalations.report": frozenset({"voorzitter", "secretaris", "leidinggevende", "bestuurder"}),
}


class HasRoles(Protocol):
    @property
    def roles(self) -> frozenset[str]: ...

    @property
    def active(self) -> bool: ...


def may(user: HasRoles | None, permission: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    allowed = PERMISSIONS.get(permission)
    return bool(allowed and allowed & user.roles)


def needs_two_factor(roles: frozenset[str], required_roles: tuple[str, ...]) -> bool:
    return bool(roles & set(required_roles))
