"""The audit chain's integrity, as the privacy officer's dashboard shows it.

A full verification (the same :func:`privacy.audit.verify_chain` that ``flask privacy
verify-audit`` runs) is recorded as an audit entry of its own (``audit.verified``), so the
record of when the chain was last found sound is itself tamper-evident and needs no table.
A failed verification alerts every active privacy officer: an in-app notice and a mail that
carry only a link to the dashboard, at most once per officer per day.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from flask import current_app
from sqlalchemy import select

from netwerk import mail
from netwerk.db import db, utcnow
from netwerk.jobqueue import connection, enqueue
from netwerk.models import Notification, OutboxMail, User, UserRole
from privacy.audit import Actor, audit_head, checkpoint_message, record, verify_chain
from privacy.models import AuditCheckpoint, AuditEntry

VERIFIED = "audit.verified"
ALERT_KIND = "audit_chain_failed"
DASHBOARD_PATH = "/privacy/"
STALE_AFTER = timedelta(hours=36)
JOB = "privacy.jobs.verify_audit_chain"
# One verification at a time across every process: a second run would only repeat the
# walk and race the first on the alert's dedupe key.
RUN_LOCK = "netwerk:lock:verify-audit"
RUN_LOCK_SECONDS = 3600
# The dashboard's "Nu controleren" button starts at most one run per this many seconds.
MANUAL_KEY = "netwerk:verify-audit:manual"
MANUAL_COOLDOWN_SECONDS = 300



# --- running a verification ----------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    """What a run did: ``state`` is "ok", "failed", "busy" (another run holds the lock) or
    "empty" (no entries and no checkpoints: nothing to verify, nothing recorded)."""

    state: str
    entry_seq: int | None = None
    alerted: int = 0


def verify_and_alert(requested_by: uuid.UUID | None = None, day: date | None = None) -> Outcome:
    """Verify the whole chain, record the result, alert on failure; commits its own work
    before letting the next run in, so a second run sees the first one's alerts."""
    conn = connection()
    token = secrets.token_hex(8)
    if not conn.set(RUN_LOCK, token, nx=True, ex=RUN_LOCK_SECONDS):
        return Outcome("busy")
    try:
        entry = record_verification(requested_by)
        if entry is None:
            return Outcome("empty")
        alerted = 0 if entry.outcome == "success" else alert_officers(day or utcnow().date())
        db.session.commit()
        return Outcome("ok" if entry.outcome == "success" else "failed", entry.seq, alerted)
    finally:
        if conn.get(RUN_LOCK) == token.encode():
            conn.delete(RUN_LOCK)


def record_verification(requested_by: uuid.UUID | None = None) -> AuditEntry | None:
    """Run the full verification and append its result to the chain (not committed).

    An empty log with no checkpoint anywhere (a fresh installation) has nothing to verify
    and gets no entry: its first line would otherwise be a report about nothing. A log
    emptied by someone is not that case: the checkpoint file still names its entries.
    """
    started = time.perf_counter()
    result = verify_chain()
    duration_ms = round((time.perf_counter() - started) * 1000)
    if result.ok and result.entries == 0 and result.checkpoints == 0:
        return None
    meta: dict[str, Any] = {
        "entries": result.entries, "checkpoints": result.checkpoints,
        # Entries are gap-free from 1, so a sound walk ends at the number it counted.
        "last_seq": result.entries, "duration_ms": duration_ms,
        "first_bad_seq": result.first_bad_seq,
    }
    if result.problem:
        meta["problem"] = result.problem  # English, names entry numbers only
    actor = Actor(user_id=None, org_id=None, role=None, on_behalf_of=requested_by, access_point="job:verify-audit")
    return record(VERIFIED, actor=actor, outcome="success" if result.ok else "failure",
                  summary="audit chain verified" if result.ok else "audit chain verification failed",
                  object_type="audit_chain", meta=meta)


def alert_officers(day: date) -> int:
    """One notice and one mail per active privacy officer per day; returns how many."""
    officers = db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "privacy", User.active.is_(True)).order_by(User.email)).unique().all()
    keys = {o.id: f"{ALERT_KIND}:{o.id.hex}:{day.isoformat()}" for o in officers}
    sent = set(db.session.scalars(select(OutboxMail.dedupe_key).where(
        OutboxMail.dedupe_key.in_(list(keys.values()))))) if keys else set()
    alerted = 0
    for officer in officers:
        if keys[officer.id] in sent:
            continue
        mail.queue_mail(ALERT_KIND, officer.email, officer.name, DASHBOARD_PATH, dedupe_key=keys[officer.id])
        db.session.add(Notification(user_id=officer.id, kind=ALERT_KIND, link=DASHBOARD_PATH))
        alerted += 1
    return alerted


def request_run(user_id: uuid.UUID) -> bool:
    """Queue a verification for the dashboard's button; False while one was started less
    than :data:`MANUAL_COOLDOWN_SECONDS` ago (so the button cannot be used to load the
    database)."""
    if not connection().set(MANUAL_KEY, str(user_id), nx=True, ex=MANUAL_COOLDOWN_SECONDS):
        return False
    window = int(time.time() // MANUAL_COOLDOWN_SECONDS)
    enqueue(JOB, str(user_id), job_id=f"verify-audit-manual-{window}")
    return True


# --- the dashboard's view of the chain -----------------------------------------------------

@dataclass(frozen=True)
class LastRun:
    at: datetime
    ok: bool
    entries: int
    checkpoints: int
    duration_ms: int
    first_bad_seq: int | None
    seq: int  # of the audit entry that records this run


@dataclass(frozen=True)
class LastCheckpoint:
    seq: int
    at: datetime
    key_fingerprint: str
    signature_valid: bool


@dataclass(frozen=True)
class ChainState:
    head_seq: int
    last_run: LastRun | None
    last_checkpoint: LastCheckpoint | None
    fingerprint: str  # SHA-256 of the raw public key, in groups of four hex digits
    short_fingerprint: str  # the form checkpoints carry (a prefix of the above)
    warning: str | None


def last_run() -> LastRun | None:
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == VERIFIED).order_by(AuditEntry.seq.desc()).limit(1))
    if entry is None:
        return None
    meta = entry.meta or {}
    return LastRun(at=entry.occurred_at, ok=entry.outcome == "success", entries=int(meta.get("entries", 0)),
                   checkpoints=int(meta.get("checkpoints", 0)), duration_ms=int(meta.get("duration_ms", 0)),
                   first_bad_seq=meta.get("first_bad_seq"), seq=entry.seq)


def last_checkpoint() -> LastCheckpoint | None:
    cp = db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
    if cp is None:
        return None
    return LastCheckpoint(seq=cp.seq, at=cp.created_at, key_fingerprint=cp.key_fingerprint,
                          signature_valid=checkpoint_signature_valid(cp))


def checkpoint_signature_valid(cp: AuditCheckpoint) -> bool:
    """Does the current signing key's signature over this checkpoint hold? (The daily
    verification also checks it against the chain; this is the dashboard's quick look.)
    The signed message is built by audit.py's ``checkpoint_message``: one definition."""
    keys = current_app.extensions["netwerk.master_keys"]
    if cp.key_fingerprint != keys.signing_fingerprint:
        return False
    try:
        keys.verify_key.verify(bytes.fromhex(cp.signature), checkpoint_message(cp.seq, cp.entry_hash, cp.created_at))
    except (InvalidSignature, ValueError):
        return False
    return True


def key_fingerprint() -> str:
    """SHA-256 of the signing key's public key, grouped for reading aloud."""
    keys = current_app.extensions["netwerk.master_keys"]
    digest = hashlib.sha256(keys.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest().upper()
    return " ".join(digest[i:i + 4] for i in range(0, len(digest), 4))


def warning_for(run: LastRun | None, now: datetime) -> str | None:
    if run is None:
        return "Het auditlog is nog nooit volledig gecontroleerd."
    if not run.ok:
        where = f" (eerste afwijkende regel: {run.first_bad_seq})" if run.first_bad_seq else ""
        return (f"De laatste controle van het auditlog is niet in orde{where}. Het auditlog is mogelijk "
                "gewijzigd of ingekort: volg de incidentprocedure.")
    if now - run.at > STALE_AFTER:
        return "De laatste volledige controle van het auditlog is ouder dan 36 uur."
    return None


def chain_state(now: datetime | None = None) -> ChainState:
    run = last_run()
    keys = current_app.extensions["netwerk.master_keys"]
    return ChainState(head_seq=audit_head()[0], last_run=run, last_checkpoint=last_checkpoint(),
                      fingerprint=key_fingerprint(), short_fingerprint=keys.signing_fingerprint,
                      warning=warning_for(run, now or utcnow()))
