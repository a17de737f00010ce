"""Opschalingsmodel: the escalation ladder of an overleg, its stagnation rules as data, and
the escalations of stalled cases with their history of steps.

A ladder has four levels (0 = the zorgcoördinator/chair addresses the partner, 1 = the
partner's team leader, 2 = management of the partners / the Veiligheidshuis, 3 = bestuurlijk,
doorzettingsmacht); each level says who receives an escalation and how many working days
they have to decide. The stagnation rules are rows so each overleg can switch them on or
off and tune their parameters; their Dutch explanation is shown when a rule fires.

An escalation carries only the minimal package that goes up the ladder (pseudonym via the
family, blocked action ids, reason category, the ask, level, deadline, the rule's
explanation) — never the file. The ask, the decision and step notes are encrypted and bound
to their row like every other text.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from netwerk.db import UUIDPrimaryKey, db, enum_check, utcnow
from privacy.encryption import Encrypted, EncryptedText
from privacy.models import JSONDoc

LEVELS = (0, 1, 2, 3)
TOP_LEVEL = 3
# Who receives an escalation at a level: users with the level's role at ...
RECIPIENT_SCOPES: dict[str, str] = {
    "action_owners": "De eigenaren van de vastgelopen acties (anders: de partner die vastzit)",
    "stuck_partner": "De partner die vastzit",
    "overleg_owner": "De organisatie van het overleg",
    "organisation": "Een vaste organisatie",
    "municipality": "De gemeente(n) aan tafel bij het overleg",
}
RULE_CODES: dict[str, str] = {
    "action_overdue": "Actie over de datum",
    "action_carried_over": "Actie onveranderd doorgeschoven",
    "recurring_on_agenda": "Gezin steeds terug op de agenda",
    "owner_silent": "Eigenaar stil sinds het vorige overleg",
    "match_unacknowledged": "Match niet bevestigd",
    "coordinator_absent": "Zorgcoördinator herhaaldelijk afwezig",
    "due_date_pushed": "Streefdatum steeds verschoven",
    "plan_evaluation_passed": "Evaluatiedatum plan verstreken",
    "letter_or_consent_pending": "Brief of toestemming blijft liggen",
}
STATUSES: dict[str, str] = {
    "voorgesteld": "Voorgesteld",
    "opgeschaald": "Opgeschaald",
    "ontvangen": "Ontvangen",
    "besloten": "Besloten",
    "opgelost": "Opgelost",
    "afgeschaald": "Afgeschaald",
    "afgewezen": "Afgewezen",
}
OPEN_STATUSES = ("voorgesteld", "opgeschaald", "ontvangen", "besloten")
CLOSED_STATUSES = ("opgelost", "afgeschaald", "afgewezen")
# Waiting for the addressee: only these move up when the deadline passes.
AWAITING_DECISION = ("opgeschaald", "ontvangen")
SOURCES: dict[str, str] = {"regel": "Signaleringsregel", "handmatig": "Handmatig"}
REASON_CATEGORIES: dict[str, str] = {
    "capaciteit": "Capaciteit",
    "mandaat": "Mandaat",
    "onenigheid": "Onenigheid",
    "geen_instemming": "Geen instemming",
    "wachtlijst": "Wachtlijst",
    "gezin_onbereikbaar": "Gezin onbereikbaar",
    "anders": "Anders",
}
STEP_KINDS: dict[str, str] = {
    "voorgesteld": "Voorgesteld",
    "opgeschaald": "Opgeschaald",
    "ontvangen": "Ontvangen",
    "besloten": "Besloten",
    "opgelost": "Opgelost",
    "afgeschaald": "Afgeschaald",
    "afgewezen": "Afgewezen",
    "niveau_omhoog": "Niveau omhoog (termijn verstreken)",
}

_OPEN_SQL = "status IN ('voorgesteld', 'opgeschaald', 'ontvangen', 'besloten')"


class LadderLevel(UUIDPrimaryKey, db.Model):
    """One rung of an overleg's ladder: who receives an escalation and their deadline."""

    __tablename__ = "escalation_ladder_level"
    __table_args__ = (
        UniqueConstraint("overleg_id", "level"),
        CheckConstraint("level BETWEEN 0 AND 3", name="level"),
        CheckConstraint(enum_check("recipient_scope", list(RECIPIENT_SCOPES)), name="recipient_scope"),
        CheckConstraint("deadline_working_days BETWEEN 1 AND 120", name="deadline_working_days"),
        CheckConstraint("recipient_scope <> 'organisation' OR recipient_organisation_id IS NOT NULL",
                        name="scope_organisation"),
    )

    overleg_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    recipient_role: Mapped[str] = mapped_column(String(32))
    recipient_scope: Mapped[str] = mapped_column(String(16))
    recipient_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    deadline_working_days: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    recipient_organisation = relationship("Organisation")


class StagnationRule(UUIDPrimaryKey, db.Model):
    """A stagnation rule of an overleg: on or off, its parameters, its Dutch explanation.

    The explanation is a template with ``{param}`` placeholders filled from ``params``."""

    __tablename__ = "escalation_rule"
    __table_args__ = (
        UniqueConstraint("overleg_id", "code"),
        CheckConstraint(enum_check("code", list(RULE_CODES)), name="code"),
    )

    overleg_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    params: Mapped[dict] = mapped_column(JSONDoc, default=dict)
    explanation: Mapped[str] = mapped_column(String(400))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(UUIDPrimaryKey, db.Model):
    """A stalled case on its way up the ladder."""

    __tablename__ = "escalation"
    __table_args__ = (
        CheckConstraint(enum_check("status", list(STATUSES)), name="status"),
        CheckConstraint(enum_check("source", list(SOURCES)), name="source"),
        CheckConstraint("level BETWEEN 0 AND 3", name="level"),
        CheckConstraint("reason_category IS NULL OR " + enum_check("reason_category", list(REASON_CATEGORIES)),
                        name="reason_category"),
        CheckConstraint("status = 'voorgesteld' OR status = 'afgewezen' OR reason_category IS NOT NULL",
                        name="raised_has_reason"),
        # At most one open escalation per family, overleg and rule (a rule that keeps firing
        # proposes once). Manual escalations (rule_code NULL) are kept single in code.
        Index("uq_escalation_open", "household_id", "overleg_id", "rule_code", unique=True,
              postgresql_where=text(_OPEN_SQL), sqlite_where=text(_OPEN_SQL)),
        Index("ix_escalation_status_deadline", "status", "deadline"),
    )

    overleg_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg.id"), index=True)
    household_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("family.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="voorgesteld")
    level: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16))
    rule_code: Mapped[str | None] = mapped_column(String(32))
    stuck_organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    blocked_action_ids: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    reason_category: Mapped[str | None] = mapped_column(String(24))
    _ask: Mapped[str | None] = mapped_column("ask", EncryptedText())
    ask = Encrypted()  # what is asked of the addressee: part of the minimal package
    explanation: Mapped[str] = mapped_column(String(400), default="")  # the rule's text, no content
    deadline: Mapped[date | None] = mapped_column(Date)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    proposed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    raised_at: Mapped[datetime | None]
    raised_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None]
    _decision: Mapped[str | None] = mapped_column("decision", EncryptedText())
    decision = Encrypted()
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decision_action_ids: Mapped[list[str]] = mapped_column(JSONDoc, default=list)  # new actions agreed
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    # Set when the deadline passed at the top level: nothing higher to go to, so the board
    # and the next agenda flag it instead.
    top_overdue_since: Mapped[date | None] = mapped_column(Date)
    level_changed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    household = relationship("Family")
    overleg = relationship("Overleg")
    stuck_organisation = relationship("Organisation")
    steps: Mapped[list[EscalationStep]] = relationship(back_populates="escalation",
                                                       order_by="EscalationStep.position",
                                                       cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class EscalationStep(UUIDPrimaryKey, db.Model):
    """One step in an escalation's history (who, when, which level)."""

    __tablename__ = "escalation_step"
    __table_args__ = (
        CheckConstraint(enum_check("kind", list(STEP_KINDS)), name="kind"),
        UniqueConstraint("escalation_id", "position"),
    )

    escalation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("escalation.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 0, 1, 2, ... (steps can share a moment)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))  # None: the scheduler
    kind: Mapped[str] = mapped_column(String(16))
    from_level: Mapped[int | None] = mapped_column(Integer)
    to_level: Mapped[int | None] = mapped_column(Integer)
    _note: Mapped[str | None] = mapped_column("note", EncryptedText())
    note = Encrypted()

    escalation: Mapped[Escalation] = relationship(back_populates="steps")


# --- scan state ---
# Kept by the daily stagnation scan (escalation/scan.py) so that gaming does not reset a
# counter: the first due date an action was seen with (a pushed date still counts from the
# original one), the line of work an action belongs to (a re-created action continues its
# predecessor's line), and whether a "gereed" action met its criterion (checked once).


class ScanAction(db.Model):
    """What the scan remembers of one plan action. Ids, dates and flags only, no content."""

    __tablename__ = "escalation_scan_action"

    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_action.id", ondelete="CASCADE"),
                                                 primary_key=True)
    first_due: Mapped[date] = mapped_column(Date)
    # The first action of the line of work (itself for a new line).
    line_root_id: Mapped[uuid.UUID] = mapped_column(index=True)
    seen_on: Mapped[date] = mapped_column(Date)


class ScanLock(db.Model):
    """The claim that keeps two scans from running at once where there is no advisory
    lock (SQLite); an expired claim (a crashed run) may be taken over."""

    __tablename__ = "escalation_scan_lock"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(40))
    expires_at: Mapped[datetime | None]
    last_finished_at: Mapped[datetime | None]
