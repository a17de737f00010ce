"""1gezin1plan: one plan per family with its zorgcoördinator, concerns, goals, the network
at the kitchen table, SMART actions with their progress, and the full history.

Everything a family or professional wrote is encrypted and bound to its row; each piece
records the organisation that wrote it, which the privacy gate treats as its owner. A plan
and an action carry a ``version`` for optimistic concurrency (a stale write gets 409).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from netwerk.db import UUIDPrimaryKey, db, enum_check, utcnow
from privacy.encryption import Encrypted, EncryptedText

PLAN_STATES: dict[str, str] = {"concept": "Concept", "vastgesteld": "Vastgesteld", "geevalueerd": "Geëvalueerd",
                               "afgesloten": "Afgesloten"}
ACTION_STATES: dict[str, str] = {"open": "Open", "bezig": "Bezig", "gereed": "Gereed", "niet_gelukt": "Niet gelukt",
                                 "vervallen": "Vervallen"}
FAILURE_REASONS: dict[str, str] = {"veranderde_omstandigheden": "Veranderde omstandigheden",
                                   "niet_ondernomen": "Niet ondernomen"}
LIFE_DOMAINS: dict[str, str] = {
    "opvoeding": "Opvoeding en gezin", "school": "School en werk", "gezondheid": "Gezondheid",
    "financien": "Financiën", "wonen": "Wonen", "veiligheid": "Veiligheid",
    "vrije_tijd": "Vrije tijd en sociaal netwerk", "justitie": "Politie en justitie",
}
NETWORK_KINDS: dict[str, str] = {"informeel": "Informeel netwerk", "professioneel": "Professional"}
AGREEMENT_GIVERS = ("ouder", "jongere", "ouder_en_jongere")


class Plan(UUIDPrimaryKey, db.Model):
    __tablename__ = "plan"
    __table_args__ = (
        CheckConstraint(enum_check("status", list(PLAN_STATES)), name="status"),
        # One plan per family that is not closed: a new plan starts after the old one ends.
        Index("uq_plan_active_family", "family_id", unique=True,
              postgresql_where=text("status <> 'afgesloten'"), sqlite_where=text("status <> 'afgesloten'")),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("family.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="concept")
    _family_view: Mapped[str | None] = mapped_column("family_view", EncryptedText())
    family_view = Encrypted()  # the family's own view, in their words
    _strengths: Mapped[str | None] = mapped_column("strengths", EncryptedText())
    strengths = Encrypted()
    family_agreement_required: Mapped[bool] = mapped_column(Boolean, default=True)
    next_evaluation: Mapped[date | None] = mapped_column(Date)
    adopted_on: Mapped[date | None] = mapped_column(Date)
    adopted_how: Mapped[str | None] = mapped_column(String(16))  # "overleg" or "zorgcoordinator"
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))  # who started it
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_on: Mapped[date | None] = mapped_column(Date)
    _close_reason: Mapped[str | None] = mapped_column("close_reason", EncryptedText())
    close_reason = Encrypted()  # why the plan ended, in the closer's words
    version: Mapped[int] = mapped_column(Integer, default=1)

    family = relationship("Family")
    coordinators: Mapped[list[CoordinatorTerm]] = relationship(back_populates="plan",
                                                               order_by="CoordinatorTerm.start_on")
    goals: Mapped[list[PlanGoal]] = relationship(back_populates="plan", order_by="PlanGoal.created_at")
    actions: Mapped[list[PlanAction]] = relationship(back_populates="plan", order_by="PlanAction.due")
    network: Mapped[list[NetworkMember]] = relationship(back_populates="plan", order_by="NetworkMember.kind")
    evaluations: Mapped[list[PlanEvaluation]] = relationship(back_populates="plan",
                                                             order_by="PlanEvaluation.held_on")


class CoordinatorTerm(UUIDPrimaryKey, db.Model):
    """A zorgcoördinator's term on a plan: exactly one open term at a time; a change closes
    the old term and opens a new one with the date and reason of the hand-over."""

    __tablename__ = "plan_coordinator"
    __table_args__ = (
        CheckConstraint("end_on IS NULL OR end_on >= start_on", name="term"),
        Index("uq_plan_coordinator_current", "plan_id", unique=True,
              postgresql_where=text("end_on IS NULL"), sqlite_where=text("end_on IS NULL")),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    _reason: Mapped[str | None] = mapped_column("reason", EncryptedText())
    reason = Encrypted()  # why the previous coordinator handed over
    assigned_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))

    plan: Mapped[Plan] = relationship(back_populates="coordinators")
    user = relationship("User", foreign_keys=[user_id])
    organisation = relationship("Organisation")


class PlanConcern(UUIDPrimaryKey, db.Model):
    """A concern in a life domain, tagged with a covenant category: read through the gate."""

    __tablename__ = "plan_concern"
    __table_args__ = (CheckConstraint(enum_check("domain", list(LIFE_DOMAINS)), name="domain"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    domain: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(40))
    _text: Mapped[str] = mapped_column("text", EncryptedText())
    text = Encrypted()
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanGoal(UUIDPrimaryKey, db.Model):
    """A goal in a life domain; it ends once, either achieved or dropped (never both)."""

    __tablename__ = "plan_goal"
    __table_args__ = (
        CheckConstraint(enum_check("domain", list(LIFE_DOMAINS)), name="domain"),
        CheckConstraint("achieved_on IS NULL OR dropped_on IS NULL", name="one_outcome"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    domain: Mapped[str] = mapped_column(String(16))
    _text: Mapped[str] = mapped_column("text", EncryptedText())
    text = Encrypted()
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    achieved_on: Mapped[date | None] = mapped_column(Date)
    dropped_on: Mapped[date | None] = mapped_column(Date)

    plan: Mapped[Plan] = relationship(back_populates="goals")

    @property
    def running(self) -> bool:
        return self.achieved_on is None and self.dropped_on is None


class PlanEvaluation(UUIDPrimaryKey, db.Model):
    """An evaluation moment: when it was held, what it concluded (encrypted), and when the
    next one is. Its text is the plan's own content, read through the gate like the plan."""

    __tablename__ = "plan_evaluation"
    __table_args__ = (CheckConstraint("next_evaluation > held_on", name="next_after_held"),)

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    held_on: Mapped[date] = mapped_column(Date)
    _summary: Mapped[str] = mapped_column("summary", EncryptedText())
    summary = Encrypted()
    next_evaluation: Mapped[date] = mapped_column(Date)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan: Mapped[Plan] = relationship(back_populates="evaluations")


class NetworkMember(UUIDPrimaryKey, db.Model):
    """Who sits at the kitchen table: informal (family, friends, neighbours, volunteers) or
    a professional of an organisation, each with their role in the plan."""

    __tablename__ = "plan_network"
    __table_args__ = (
        CheckConstraint(enum_check("kind", list(NETWORK_KINDS)), name="kind"),
        CheckConstraint("kind = 'informeel' OR organisation_id IS NOT NULL", name="professional_org"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    _name: Mapped[str] = mapped_column("name", EncryptedText())
    name = Encrypted()
    _role: Mapped[str | None] = mapped_column("role", EncryptedText())
    role = Encrypted()
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    plan: Mapped[Plan] = relationship(back_populates="network")


class PlanAction(UUIDPrimaryKey, db.Model):
    """A SMART action: what, done-when, one owner, the goal it serves, a due date, the
    family's agreement, acceptance by the owner, status and progress."""

    __tablename__ = "plan_action"
    __table_args__ = (
        CheckConstraint(enum_check("status", list(ACTION_STATES)), name="status"),
        CheckConstraint("failure_reason IS NULL OR " + enum_check("failure_reason", list(FAILURE_REASONS)),
                        name="failure_reason"),
        CheckConstraint("(status = 'niet_gelukt') = (failure_reason IS NOT NULL)", name="failure_when_failed"),
        CheckConstraint("(owner_user_id IS NULL) <> (owner_member_id IS NULL)", name="one_owner"),
        CheckConstraint("agreed_by IS NULL OR " + enum_check("agreed_by", list(AGREEMENT_GIVERS)), name="agreed_by"),
    )

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    goal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_goal.id"), index=True)
    _what: Mapped[str] = mapped_column("what", EncryptedText())
    what = Encrypted()
    _done_when: Mapped[str] = mapped_column("done_when", EncryptedText())
    done_when = Encrypted()
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    owner_member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_network.id"))
    # The owner's organisation (a professional's) — Mijn acties lists an organisation's actions.
    owner_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    due: Mapped[date] = mapped_column(Date, index=True)
    agreed_by: Mapped[str | None] = mapped_column(String(20))
    agreed_on: Mapped[date | None] = mapped_column(Date)
    accepted_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    # Counted, never reset: pushing a due date is a stagnation signal (issue 6).
    due_changes: Mapped[int] = mapped_column(Integer, default=0)
    # Judged by the plan operations from the writer's own text, when it is written, so that
    # the stagnation scan reads flags and links, never texts. For a "gereed" action: did its
    # completion note cover the "klaar als" criterion (None: not done, or done before this
    # was recorded)? For a new action: the older action of the same goal and owner it
    # re-creates (similar text), which the scan joins to one line of work once that failed.
    criterion_met: Mapped[bool | None] = mapped_column(Boolean)
    continues_action_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("plan_action.id", ondelete="SET NULL"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))  # who wrote it
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    plan: Mapped[Plan] = relationship(back_populates="actions")
    goal: Mapped[PlanGoal] = relationship()
    owner_user = relationship("User", foreign_keys=[owner_user_id])
    owner_member: Mapped[NetworkMember | None] = relationship()
    updates: Mapped[list[ActionUpdate]] = relationship(back_populates="action", order_by="ActionUpdate.created_at")


class ActionUpdate(UUIDPrimaryKey, db.Model):
    __tablename__ = "plan_action_update"

    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_action.id"), index=True)
    _text: Mapped[str] = mapped_column("text", EncryptedText())
    text = Encrypted()
    written_on: Mapped[date] = mapped_column(Date)
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    action: Mapped[PlanAction] = relationship(back_populates="updates")


class PlanHistory(UUIDPrimaryKey, db.Model):
    """Every change to a plan or action: who, when, what (old and new values, encrypted),
    shown to those who may see the plan."""

    __tablename__ = "plan_history"

    plan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan.id"), index=True)
    action_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_action.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    kind: Mapped[str] = mapped_column(String(40))
    _changes: Mapped[str] = mapped_column("changes", EncryptedText())
    changes = Encrypted(as_json=True)
