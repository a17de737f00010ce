"""rq jobs of ``privacy``."""

from __future__ import annotations

import uuid

from netwerk.db import utcnow
from privacy.audit import Actor, create_checkpoint
from privacy.integrity import verify_and_alert
from privacy.retention import propose
from privacy.review import run_locked


def audit_checkpoint() -> int | None:
    """Sign the audit chain's head; idempotent (a head is signed once)."""
    cp = create_checkpoint()
    return cp.seq if cp else None


def verify_audit_chain(requested_by: str | None = None) -> str:
    """Daily (and on the dashboard's request): verify the whole audit chain, record the
    result as an ``audit.verified`` entry and alert the privacy officers when it fails.
    Returns "ok", "failed", "busy" (another run was in progress; this one did nothing) or
    "empty" (a fresh log: nothing to verify, nothing recorded)."""
    return verify_and_alert(uuid.UUID(requested_by) if requested_by else None).state


def compute_review_flags() -> str:
    """Hourly: read the audit log from the review cursor on and store the review queue's
    flags (idempotent; "busy" when another run, or a queue page, is computing)."""
    return run_locked().state


def retention_dry_run() -> int | None:
    """Daily: the dry run of retention, for a privacy officer to review and approve (nothing
    is removed here). Returns the proposal's id, or None when nothing has expired."""
    run = propose(utcnow().date(), Actor.system("retention"))
    return run.id if run else None
