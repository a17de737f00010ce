"""The tamper-evident audit log: append inside the caller's transaction, verify, checkpoint.

Every entry stores the SHA-256 of the previous entry and of its own canonical
serialisation. Appends are serialised (PostgreSQL: a transaction-scoped advisory lock;
SQLite: every transaction is BEGIN IMMEDIATE, see ``netwerk.db``) so ``seq`` is gap-free
and the chain has one order. Because the entry is written in the caller's transaction,
an action whose audit write fails does not happen either.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from flask import current_app
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from netwerk.db import db, on_commit, utcnow
from netwerk.jobqueue import enqueue
from privacy.models import AuditCheckpoint, AuditEntry, AuditSubject

GENESIS_HASH = "0" * 64
# An arbitrary but fixed 63-bit number naming "the audit chain" among advisory locks.
AUDIT_LOCK_KEY = 0x4E57_4155_4449_5400 >> 1

HASHED_FIELDS = (
    "seq", "occurred_at", "actor_user_id", "actor_org_id", "actor_role", "on_behalf_of_user_id",
    "access_point", "ip", "action", "outcome", "subject_ids", "object_type", "object_id",
    "data_categories", "purpose", "covenant_version", "covenant_article", "legal_basis",
    "summary", "meta", "prev_hash",
)


@dataclass(frozen=True)
class Actor:
    """Who acts, as the audit log records it. Built by the caller (``netwerk.auth``)
    so this package needs no knowledge of accounts."""

    user_id: uuid.UUID | None
    org_id: uuid.UUID | None
    role: str | None
    on_behalf_of: uuid.UUID | None = None
    access_point: str | None = None
    ip: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, org_id=None, role=None, access_point=name)


def blind(kind: str, identifier: object) -> str:
    """HMAC of a subject identifier: lets the log be filtered by subject without the log
    itself saying who anybody is."""
    key = current_app.extensions["netwerk.master_keys"].blind_index
    digest = hmac.new(key, f"{kind}:{identifier}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:32]}"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical(values: dict[str, Any]) -> bytes:
    """The exact bytes that are hashed: sorted keys, no whitespace, UTF-8."""
    body = {name: _plain(values.get(name)) for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(values)).hexdigest()


# The chain's head as this transaction last wrote it. While a transaction holds the chain
# (PostgreSQL: the advisory lock; SQLite: the write lock) nobody else can move the head,
# so the second and later entries of a request skip the lock call and the head query.
# Any rollback — a savepoint's too — forgets it, as the entries it counted may be gone.
_HEAD = "privacy.audit_head"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _forget_head(session: Session, *args: object) -> None:
    session.info.pop(_HEAD, None)


def _lock_chain() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})


def _head() -> tuple[int, str]:
    row = db.session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (0, GENESIS_HASH)


def _locked_head() -> tuple[int, str]:
    memo = db.session.info.get(_HEAD)
    if memo is not None:
        return memo
    _lock_chain()
    return _head()


def record(
    action: str,
    *,
    actor: Actor,
    summary: str,
    outcome: str = "success",
    subjects: Iterable[str] = (),
    object_type: str | None = None,
    object_id: object | None = None,
    categories: Iterable[str] = (),
    purpose: str | None = None,
    covenant_version: str | None = None,
    covenant_article: str | None = None,
    legal_basis: str | None = None,
    meta: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the chain within the current transaction.

    ``subjects`` must already be blinded (:func:`blind`); ``summary`` is a stable English
    phrase, ``meta`` holds ids and codes only — never names or case content.
    """
    seq, prev_hash = _locked_head()
    values: dict[str, Any] = {
        "seq": seq + 1,
        "occurred_at": utcnow(),
        "actor_user_id": actor.user_id,
        "actor_org_id": actor.org_id,
        "actor_role": actor.role,
        "on_behalf_of_user_id": actor.on_behalf_of,
        "access_point": actor.access_point,
        "ip": actor.ip,
        "action": action,
        "outcome": outcome,
        "subject_ids": sorted(subjects),
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "data_categories": sorted(categories),
        "purpose": purpose,
        "covenant_version": covenant_version,
        "covenant_article": covenant_article,
        "legal_basis": legal_basis,
        "summary": summary,
        "meta": meta or {},
        "prev_hash": prev_hash,
    }
    entry = AuditEntry(**values, entry_hash=entry_digest(values))
    db.session.add(entry)
    db.session.flush()
    db.session.info[_HEAD] = (entry.seq, entry.entry_hash)
    _index_subjects(entry.seq, values["subject_ids"])
    every = current_app.config["AUDIT_CHECKPOINT_EVERY"]
    if every and entry.seq % every == 0:
        on_commit(lambda s=entry.seq: _enqueue_checkpoint(s))
    return entry


def _index_subjects(seq: int, subjects: list[str]) -> None:
    """The explorer's (subject, seq) rows, in the entry's transaction so the index never
    lags the chain. Not hashed: the chain already proves ``subject_ids``."""
    rows = [{"subject": subject, "seq": seq} for subject in sorted(set(subjects))]
    if rows:
        db.session.execute(insert(AuditSubject), rows)


def _enqueue_checkpoint(seq: int) -> None:
    enqueue("privacy.jobs.audit_checkpoint", job_id=f"audit-checkpoint-{seq}")


# --- checkpoints --------------------------------------------------------------------------

def checkpoint_message(seq: int, entry_hash: str, created_at: datetime) -> bytes:
    return f"netwerk-audit-checkpoint|{seq}|{entry_hash}|{_plain(created_at)}".encode()


def checkpoint_file() -> Path:
    return Path(current_app.config["INSTANCE_PATH"]) / "audit-checkpoints.jsonl"


def create_checkpoint() -> AuditCheckpoint | None:
    """Sign the current head (idempotent: the same head is signed once).

    The caller commits; the line in the checkpoint file is written after the commit so the
    file never names a checkpoint the database does not have.
    """
    _lock_chain()
    seq, head_hash = _head()
    if seq == 0:
        return None
    existing = db.session.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq == seq))
    if existing:
        return existing
    keys = current_app.extensions["netwerk.master_keys"]
    created = utcnow()
    signature = keys.signing_key.sign(checkpoint_message(seq, head_hash, created))
    cp = AuditCheckpoint(
        seq=seq, entry_hash=head_hash, created_at=created,
        key_fingerprint=keys.signing_fingerprint, signature=signature.hex(),
    )
    db.session.add(cp)
    db.session.flush()
    line = json.dumps({
        "seq": seq, "entry_hash": head_hash, "created_at": _plain(created),
        "key_fingerprint": cp.key_fingerprint, "signature": cp.signature,
    })
    path = checkpoint_file()
    on_commit(lambda: _append_line(path, line))
    return cp


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


# --- verification -------------------------------------------------------------------------

@dataclass
class VerifyResult:
    ok: bool
    entries: int = 0
    checkpoints: int = 0
    first_bad_seq: int | None = None
    problem: str | None = None

    def fail(self, seq: int | None, problem: str) -> VerifyResult:
        self.ok, self.first_bad_seq, self.problem = False, seq, problem
        return self


def _rows(batch: int) -> Iterator[dict[str, Any]]:
    table = AuditEntry.__table__
    last = 0
    while True:
        chunk = db.session.execute(
            select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch)
        ).mappings().all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1]["seq"]


def verify_chain(batch: int = 5000) -> VerifyResult:
    """Walk the whole chain and every checkpoint; name the first entry that is wrong."""
    result = VerifyResult(ok=True)
    try:
        checkpoints = _load_checkpoints()
    except CheckpointFileError as exc:
        return result.fail(None, str(exc))
    wanted = {cp["seq"] for cp in checkpoints}
    expected_seq, prev_hash = 1, GENESIS_HASH
    hashes: dict[int, str] = {}  # only the entries a checkpoint signed, to bound memory
    for row in _rows(batch):
        seq = row["seq"]
        if seq != expected_seq:
            return result.fail(expected_seq, f"entry {expected_seq} is missing (deleted or renumbered)")
        if entry_digest(dict(row)) != row["entry_hash"]:
            return result.fail(seq, f"entry {seq} was changed: its hash does not match its content")
        if row["prev_hash"] != prev_hash:
            return result.fail(seq, f"entry {seq} does not follow entry {seq - 1} (inserted or reordered)")
        prev_hash, expected_seq = row["entry_hash"], seq + 1
        if seq in wanted:
            hashes[seq] = prev_hash
        result.entries += 1
    return _verify_checkpoints(result, checkpoints, hashes, head=expected_seq - 1)


CHECKPOINT_FIELDS = ("seq", "entry_hash", "created_at", "key_fingerprint", "signature")


class CheckpointFileError(ValueError):
    """A line of the checkpoint file cannot be read as a checkpoint."""


def _file_checkpoint(number: int, line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
        cp = {name: data[name] for name in CHECKPOINT_FIELDS}
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointFileError(f"checkpoint file line {number} is unreadable") from exc
    if type(cp["seq"]) is not int or not all(isinstance(cp[n], str) for n in CHECKPOINT_FIELDS[1:]):
        raise CheckpointFileError(f"checkpoint file line {number} is unreadable")
    return cp


def _load_checkpoints() -> list[dict[str, Any]]:
    """Checkpoints from the database plus every one in the out-of-database file.

    A file line is skipped only when the database holds exactly the same checkpoint: a
    database row rewritten in any field must not stand in for the file's copy.
    """
    stored = db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
    known = [
        {"seq": c.seq, "entry_hash": c.entry_hash, "created_at": _plain(c.created_at),
         "key_fingerprint": c.key_fingerprint, "signature": c.signature} for c in stored
    ]
    path = checkpoint_file()
    if path.exists():
        in_db = {tuple(c[n] for n in CHECKPOINT_FIELDS) for c in known}
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                cp = _file_checkpoint(number, line)
                if tuple(cp[n] for n in CHECKPOINT_FIELDS) not in in_db:
                    known.append(cp)
    return sorted(known, key=lambda c: c["seq"])


def _verify_checkpoints(
    result: VerifyResult, checkpoints: list[dict[str, Any]], hashes: dict[int, str], head: int
) -> VerifyResult:
    keys = current_app.extensions["netwerk.master_keys"]
    for cp in checkpoints:
        seq = cp["seq"]
        if cp["key_fingerprint"] != keys.signing_fingerprint:
            # Unverifiable is not verified: a made-up fingerprint must not skip the check.
            return result.fail(seq, f"checkpoint at entry {seq} is signed by an unknown key")
        try:
            keys.verify_key.verify(
                bytes.fromhex(cp["signature"]),
                checkpoint_message(seq, cp["entry_hash"], datetime.fromisoformat(cp["created_at"])),
            )
        except (InvalidSignature, ValueError):
            return result.fail(seq, f"checkpoint at entry {seq} has an invalid signature")
        if seq > head:
            return result.fail(head + 1, f"entries after {head} are missing: a checkpoint signed entry {seq}")
        if hashes.get(seq) != cp["entry_hash"]:
            return result.fail(seq, f"entry {seq} differs from the signed checkpoint (chain re-hashed)")
        result.checkpoints += 1
    return result


def audit_head() -> tuple[int, str]:
    return _head()


def count_entries() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry)) or 0
