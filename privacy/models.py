"""Tables owned by ``privacy``: data keys, the audit chain and its signed checkpoints, and the
versioned covenant the privacy gate decides by."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
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


class AuditSubject(db.Model):
    """Which entries name which subject: the audit explorer's index.

    Filtering by person or family over the JSON ``subject_ids`` of millions of entries
    cannot use an index on SQLite and only a coarse one on PostgreSQL; with the primary
    key (subject, seq) "entries about X, newest first" is one index range scan. Written by
    :func:`privacy.audit.record` in the entry's transaction. It is derived data, not part
    of the hashed content: the chain proves ``subject_ids``, and a missing index row can
    be found by comparing the two. The foreign key cascades because the index must follow
    whatever happens to an entry (even a database administrator's tampering, which the
    chain then reports); the application itself never updates or deletes either table.
    """

    __tablename__ = "audit_subject"

    subject: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("audit_entry.seq", ondelete="CASCADE", onupdate="CASCADE"), primary_key=True)


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


# --- the covenant ---------------------------------------------------------------------------
# A covenant version is never edited in place: a change is a new version (with its own
# validity dates), so every past decision can be traced to the exact rules it used.

LEGAL_BASES = ("toestemming", "wettelijke_taak", "gerechtvaardigd_belang", "vitaal_belang")
CONSENT_STEPS = (
    "contact", "gezamenlijk_gesprek", "voorwaarden", "plan_bespreken", "uitvoering_volgen", "delen_met_organisatie",
)


class CovenantVersion(db.Model):
    __tablename__ = "covenant_version"
    __table_args__ = (
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="validity"),
        CheckConstraint("involvement_max_years IS NULL OR involvement_max_years BETWEEN 1 AND 10",
                        name="involvement_max_years"),
        CheckConstraint("involvement_age_limit IS NULL OR involvement_age_limit BETWEEN 12 AND 30",
                        name="involvement_age_limit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # How long an involvement registration may last under this covenant; None falls back
    # to the configuration (INVOLVEMENT_MAX_YEARS, INVOLVEMENT_AGE_LIMIT).
    involvement_max_years: Mapped[int | None] = mapped_column(Integer)
    involvement_age_limit: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None]


class CovenantParty(db.Model):
    """An organisation that signed this version, with the type its rules address it by."""

    __tablename__ = "covenant_party"
    __table_args__ = (
        UniqueConstraint("covenant_id", "organisation_id"),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="membership"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant_version.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    party_type: Mapped[str] = mapped_column(String(32))
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class CovenantPurpose(db.Model):
    __tablename__ = "covenant_purpose"
    __table_args__ = (UniqueConstraint("covenant_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant_version.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))


class CovenantCategory(db.Model):
    """A data category; ``special`` and ``criminal`` mark AVG art. 9 and art. 10 data."""

    __tablename__ = "covenant_category"
    __table_args__ = (UniqueConstraint("covenant_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant_version.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    special: Mapped[bool] = mapped_column(Boolean, default=False)
    criminal: Mapped[bool] = mapped_column(Boolean, default=False)


class CovenantRule(db.Model):
    """May ``receiver`` receive ``category`` for ``purpose``, on which basis and article.

    ``receiver`` is ``org:<uuid>`` (one party) or ``type:<org type>`` (every party of that
    type); a rule for the organisation itself takes precedence over its type's rule.
    """

    __tablename__ = "covenant_rule"
    __table_args__ = (
        # Named by hand: the convention's name would pass PostgreSQL's 63-character limit.
        UniqueConstraint("covenant_id", "purpose_code", "category_code", "receiver", name="uq_covenant_rule_target"),
        CheckConstraint("receiver LIKE 'org:%' OR receiver LIKE 'type:%'", name="receiver"),
        CheckConstraint("allowed = false OR legal_basis IS NOT NULL", name="basis_when_allowed"),
        CheckConstraint("legal_basis IS NULL OR " + enum_check("legal_basis", LEGAL_BASES), name="legal_basis"),
        CheckConstraint("consent_step IS NULL OR " + enum_check("consent_step", CONSENT_STEPS), name="consent_step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant_version.id", ondelete="CASCADE"), index=True)
    purpose_code: Mapped[str] = mapped_column(String(40))
    category_code: Mapped[str] = mapped_column(String(40))
    receiver: Mapped[str] = mapped_column(String(64))
    allowed: Mapped[bool] = mapped_column(Boolean)
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    consent_step: Mapped[str | None] = mapped_column(String(32))
    article: Mapped[str] = mapped_column(String(32))


# --- stepped consent (getrapte instemming, SAVE) --------------------------------------------

CONSENT_GIVERS = ("ouder", "jongere", "ouder_en_jongere")
CONSENT_FORMS = ("mondeling", "schriftelijk")


class Consent(db.Model):
    """One consent step for one person, recorded separately (SAVE's stepped consent).

    ``subject`` is the person's blinded id, the same value the gate receives, so the gate
    needs no domain tables. A withdrawal sets ``withdrawn_on`` and applies to every decision
    from that day on; the row itself stays, as history.
    """

    __tablename__ = "consent"
    __table_args__ = (
        CheckConstraint(enum_check("step", CONSENT_STEPS), name="step"),
        CheckConstraint(enum_check("given_by", CONSENT_GIVERS), name="given_by"),
        CheckConstraint(enum_check("form", CONSENT_FORMS), name="form"),
        CheckConstraint("withdrawn_on IS NULL OR withdrawn_on >= given_on", name="withdrawal"),
        CheckConstraint("(step = 'delen_met_organisatie') = (organisation_id IS NOT NULL)", name="organisation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    given_by: Mapped[str] = mapped_column(String(20))
    form: Mapped[str] = mapped_column(String(16))
    given_on: Mapped[date] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_user_id: Mapped[uuid.UUID | None]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

