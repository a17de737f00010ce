"""Tables owned by ``privacy``: data keys, the audit chain and its signed checkpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from netwerk.db import db, enum_check, utcnow

KEY_STATES = ("active", "retired")
# JSONB on PostgreSQL so the privacy officer's explorer can filter on subjects and
# categories with an index; plain JSON text elsewhere.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")
AUDIT_OUTCOMES = ("success", "failure", "allowed", "denied", "emergency")


class DataKey(db.Model):
    """A data-encryption key, stored wrapped by the key file's key-encryption key."""

    __tablename__ = "data_key"
    __table_args__ = (CheckConstraint(enum_check("state", KEY_STATES), name="state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class AuditEntry(db.Model):
    """One line of the append-only, hash-chained audit log.

    The shape is fixed (CONVENTIONS item 5) and carries ids and categories, never content.
    Subject identifiers are blinded with an HMAC so the log itself identifies nobody.
    ``seq`` is assigned by the writer under a lock, so it is gap-free: a gap is a deletion.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (CheckConstraint(enum_check("outcome", AUDIT_OUTCOMES), name="outcome"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime]
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    actor_org_id: Mapped[uuid.UUID | None]
    actor_role: Mapped[str | None] = mapped_column(String(32))
    on_behalf_of_user_id: Mapped[uuid.UUID | None]
    access_point: Mapped[str | None] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    subject_ids: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    data_categories: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    purpose: Mapped[str | None] = mapped_column(String(64))
    covenant_version: Mapped[str | None] = mapped_column(String(32))
    covenant_article: Mapped[str | None] = mapped_column(String(32))
    legal_basis: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(200))
    meta: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditCheckpoint(db.Model):
    """An Ed25519 signature over the chain head at ``seq``.

    Each checkpoint is also appended to a file outside the database, since only a copy
    the database administrator cannot rewrite exposes truncation or a re-hashed chain.
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    key_fingerprint: Mapped[str] = mapped_column(String(80))
    signature: Mapped[str] = mapped_column(Text)
