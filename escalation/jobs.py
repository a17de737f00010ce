"""rq jobs of ``escalation``: take ids or ISO dates, call the same operations as the UI."""

from __future__ import annotations

import secrets
from datetime import datetime

from escalation.operations import level_up_overdue as run
from escalation.scan import run_daily_scan as scan
from netwerk.db import db
from netwerk.jobqueue import connection

LEVEL_UP = "escalation.jobs.level_up_overdue"
# One level-up run at a time across every process. Each escalation's step is also claimed
# by its version, so even without the lock no escalation moves up twice for one deadline.
LEVEL_UP_LOCK = "netwerk:lock:escalation-level-up"
LEVEL_UP_LOCK_SECONDS = 1800


def level_up_overdue(now: str | None = None) -> int | str:
    """Daily: move escalations whose deadline passed without a decision one level up (at the
    top level: flag them). ``now`` is an ISO timestamp for time travel. Returns how many
    changed, or "busy" when another run holds the lock (this one then did nothing)."""
    conn = connection()
    token = secrets.token_hex(8)
    if not conn.set(LEVEL_UP_LOCK, token, nx=True, ex=LEVEL_UP_LOCK_SECONDS):
        return "busy"
    try:
        changed = run(datetime.fromisoformat(now) if now else None)
        db.session.commit()  # before the next run may start, so it sees this one's steps
        return changed
    finally:
        if conn.get(LEVEL_UP_LOCK) == token.encode():
            conn.delete(LEVEL_UP_LOCK)


def run_daily_scan(now: str | None = None) -> str:
    """Daily: the stagnation scan (``escalation.scan``), locked and idempotent; proposes,
    never raises. Returns "ok", "busy" (another run holds the lock) or "done" (scanned)."""
    return scan(now)
