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



# --- the privacy officer's review queue ---------------------------------------------------
# Flags are computed from the audit log (privacy.review): each rests on the audit entries it
# lists and says nothing the log does not. A decision is never overwritten: every decision
# is a row of its own, the flag carries the latest for filtering.

REVIEW_KINDS = ("noodtoegang", "buiten_context", "piek", "opzoeken", "weigeringen")
REVIEW_DECISIONS = ("in_orde", "navragen", "incident")


class ReviewFlag(db.Model):
    """One thing for the privacy officer to look at: a kind, the professional, a period
    and the audit entries (``seqs``) it rests on. ``key`` makes computing it idempotent."""

    __tablename__ = "review_flag"
    __table_args__ = (
        CheckConstraint(enum_check("kind", REVIEW_KINDS), name="kind"),
        CheckConstraint("decision IS NULL OR " + enum_check("decision", REVIEW_DECISIONS), name="decision"),
        CheckConstraint("(decision IS NULL) = (decided_at IS NULL)", name="decided"),
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("last_seq >= first_seq", name="seq_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    organisation_id: Mapped[uuid.UUID | None]
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    first_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    # Indexed: the job looks up the flags a new episode may continue by "last_seq >= x".
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    seqs: Mapped[list[int]] = mapped_column(JSONDoc, default=list)
    measure: Mapped[int] = mapped_column(Integer, default=1)  # families, denials or entries
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(16), index=True)
    decided_at: Mapped[datetime | None]
    decided_by_user_id: Mapped[uuid.UUID | None]
    revisions: Mapped[int] = mapped_column(Integer, default=0)  # decisions so far


class ReviewDecision(db.Model):
    """One decision on a flag; a later one revises it and both stay."""

    __tablename__ = "review_decision"
    __table_args__ = (
        UniqueConstraint("flag_id", "revision"),
        CheckConstraint(enum_check("decision", REVIEW_DECISIONS), name="decision"),
        CheckConstraint("note <> ''", name="note"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("review_flag.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    decided_by_user_id: Mapped[uuid.UUID]
    decided_at: Mapped[datetime]


class ReviewCursor(db.Model):
    """How far the review job has read the audit log (one row)."""

    __tablename__ = "review_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- retention, erasure and rectification (issue 7 item 4) ---------------------------------
# Periods are part of the covenant version (a change is a new version); what the retention
# job removed survives only as counts in ``retention_statistic`` and as the proof entry in
# the audit log (hashed ids, rule, covenant version: never content).

RETENTION_KINDS = ("betrokkenheid", "notitie", "plan", "agendapunt", "persoon")
RETENTION_ANY = "*"  # a period for every category or every purpose
RUN_STATES = ("voorstel", "uitgevoerd", "vervallen")
REQUEST_KINDS = ("wissen", "rectificatie")
REQUEST_STATES = ("ontvangen", "toegewezen", "gedeeltelijk", "afgewezen")
ERASURE_SCOPES = ("alles", "notities")
TASK_STATES = ("open", "gecorrigeerd", "niet_nodig")


class CovenantRetention(db.Model):
    """How long one kind of record is kept after its trigger (see ``privacy.retention``),
    for one category (notes) or one purpose (agenda items), or for all ("*")."""

    __tablename__ = "covenant_retention"
    __table_args__ = (
        UniqueConstraint("covenant_id", "kind", "category_code", "purpose_code", name="uq_covenant_retention_target"),
        CheckConstraint(enum_check("kind", RETENTION_KINDS), name="kind"),
        CheckConstraint("months BETWEEN 1 AND 1200", name="months"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    covenant_id: Mapped[int] = mapped_column(ForeignKey("covenant_version.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    category_code: Mapped[str] = mapped_column(String(40), default=RETENTION_ANY)
    purpose_code: Mapped[str] = mapped_column(String(40), default=RETENTION_ANY)
    months: Mapped[int] = mapped_column(Integer)
    grounds: Mapped[str] = mapped_column(Text, default="")


class RetentionAnchor(db.Model):
    """When a person's last involvement ended, kept after the involvement rows themselves
    have expired, because notes and the person are kept counting from that day."""

    __tablename__ = "retention_anchor"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    last_involvement_end: Mapped[date] = mapped_column(Date)


class RetentionRun(db.Model):
    """A dry run ("voorstel") the privacy officer reviews, and once approved its execution.
    ``proposal`` holds the ids it would remove per kind until it is carried out or
    superseded; then only the counts stay (the ids live on hashed in the audit entry)."""

    __tablename__ = "retention_run"
    __table_args__ = (CheckConstraint(enum_check("status", RUN_STATES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), default="voorstel")
    reference_day: Mapped[date] = mapped_column(Date)
    covenant_version: Mapped[str | None] = mapped_column(String(32))
    proposal: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_user_id: Mapped[uuid.UUID | None]
    approved_by_user_id: Mapped[uuid.UUID | None]
    executed_at: Mapped[datetime | None]
    removed: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    audit_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class RetentionStatistic(db.Model):
    """What was removed, as counts only: kind, category, purpose, organisation, month."""

    __tablename__ = "retention_statistic"
    __table_args__ = (CheckConstraint("removed >= 0", name="removed"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(40), default="")
    purpose: Mapped[str] = mapped_column(String(40), default="")
    organisation_id: Mapped[uuid.UUID | None]  # no foreign key: statistics must never block anything
    month: Mapped[date] = mapped_column(Date)  # first day of the month the record began
    reason: Mapped[str] = mapped_column(String(16))  # "bewaartermijn" or "verzoek"
    removed: Mapped[int] = mapped_column(Integer, default=0)


# The erasure and rectification requests live in privacy/requests.py: their texts are
# encrypted, and privacy.encryption imports this module.
