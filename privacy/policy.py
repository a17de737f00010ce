"""The one policy decision point for family content.

Every read of family content — anything beyond the bare fact *that* an organisation is
involved, with its contact person — asks :func:`decide` first. It decides for
(viewer, subject, data category, purpose), names the covenant version, article and legal
basis it relied on, and writes the audit entry itself, allowed or denied, so no channel
can read without leaving a trace.

Deny by default: without a covenant rule that allows the disclosure, the answer is no.
There is no administrator bypass: the beheerder role manages accounts and organisations
and is refused here whatever the covenant says.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from privacy.audit import Actor, record

# Roles that can never be the reason someone sees case content.
NEVER_CONTENT_ROLES = frozenset({"beheerder"})


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # stable code, for tests and the audit meta
    message: str  # Dutch, safe to show the viewer
    covenant_version: str | None = None
    article: str | None = None
    legal_basis: str | None = None


@dataclass(frozen=True)
class CovenantRule:
    version: str
    article: str
    legal_basis: str


def find_rule(viewer: Actor, category: str, purpose: str) -> CovenantRule | None:
    """The covenant rule that lets ``viewer``'s organisation receive ``category`` for
    ``purpose``. Until a covenant is in force no rule exists, so everything is refused."""
    return None


def decide(
    viewer: Actor,
    *,
    subjects: Iterable[str],
    category: str,
    purpose: str,
    object_type: str | None = None,
    object_id: object | None = None,
) -> Decision:
    """Decide whether ``viewer`` may see ``category`` content about ``subjects`` (blinded
    ids, see :func:`privacy.audit.blind`) for ``purpose``, and audit the decision."""
    subjects = list(subjects)
    decision = _evaluate(viewer, category, purpose)
    record(
        "content.read",
        actor=viewer,
        outcome="allowed" if decision.allowed else "denied",
        subjects=subjects,
        object_type=object_type,
        object_id=object_id,
        categories=[category],
        purpose=purpose,
        covenant_version=decision.covenant_version,
        covenant_article=decision.article,
        legal_basis=decision.legal_basis,
        summary="content disclosed" if decision.allowed else "content refused",
        meta={"reason": decision.reason},
    )
    return decision


def _evaluate(viewer: Actor, category: str, purpose: str) -> Decision:
    if viewer.user_id is None or viewer.org_id is None:
        return Decision(False, "no_viewer", "Alleen een ingelogde professional kan inhoud inzien.")
    if viewer.role is None or viewer.role in NEVER_CONTENT_ROLES:
        return Decision(
            False, "role_never_content",
            "Deze rol geeft nooit toegang tot de inhoud van een casus.",
        )
    if viewer.role not in viewer.roles:
        # The caller names the acting role; the gate does not take its word for it.
        return Decision(False, "role_not_held", "U heeft deze rol niet.")
    rule = find_rule(viewer, category, purpose)
    if rule is None:
        return Decision(
            False, "no_covenant_rule",
            "Het convenant staat niet toe dat uw organisatie deze informatie voor dit doel ontvangt.",
        )
    return Decision(True, "covenant_rule", "Toegestaan op grond van het convenant.",
                    rule.version, rule.article, rule.legal_basis)
