"""Standing meetings (overleggen) with their sections (onderdelen), the meetings of a year,
attendance per person per section, guests with their confidentiality statement, and the
per-user calendar feed.

Which organisations sit at the table, and for which covenant purpose, is a property of a
*section*: in Hét Overleg the partners change per section, so admission to anything of a
meeting (agenda, projector, besluitenlijst) is decided per section.

Meeting times are local (Europe/Amsterdam) wall-clock times: a fortnightly 14:00 meeting
stays at 14:00 across the change to and from summer time.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from netwerk.db import UUIDPrimaryKey, db, enum_check, utcnow
from privacy.encryption import Encrypted, EncryptedText
from privacy.models import JSONDoc

TIMEZONE = "Europe/Amsterdam"
OVERLEG_KINDS: dict[str, str] = {
    "signaleringsoverleg": "Signaleringsoverleg",
    "procesoverleg": "Procesoverleg Veiligheidshuis",
    "cjg_overleg": "CJG-overleg",
    "mpg_overleg": "MPG-overleg",
    "anders": "Ander overleg",
}
OVERLEG_ROLES: dict[str, str] = {"voorzitter": "Voorzitter", "secretaris": "Secretaris"}
MEETING_STATES: dict[str, str] = {"gepland": "Gepland", "voorbereid": "Voorbereid", "live": "Live",
                                  "gesloten": "Gesloten"}
ATTENDANCE_STATES: dict[str, str] = {"aanwezig": "Aanwezig", "afwezig": "Afwezig", "afgemeld": "Afgemeld",
                                     "later": "Komt later"}
WEEKDAYS: dict[int, str] = {0: "maandag", 1: "dinsdag", 2: "woensdag", 3: "donderdag", 4: "vrijdag"}
# Why a family is on the agenda: structured, never free content.
AGENDA_REASONS: dict[str, str] = {
    "nieuw_signaal": "Nieuw signaal",
    "doorgeschoven": "Vorige keer niet afgerond",
    "acties_te_laat": "Acties over de datum",
    "acties_binnenkort": "Acties bijna op datum",
    "evaluatie": "Evaluatiedatum bereikt",
    "match_open": "Match nog niet afgestemd",
    "escalatie": "Open escalatie",
    "terug_op_agenda": "Afgesproken: terug op de agenda",
}
ITEM_STATES: dict[str, str] = {"gepland": "Gepland", "besproken": "Besproken", "doorgeschoven": "Doorgeschoven"}
# Informing the family: a letter from the municipality, unless deferred (with a reason and
# a date to look again) or discussed anonymously (a recorded choice, never a default).
INFORM_STATES: dict[str, str] = {
    "te_versturen": "Brief wordt voorbereid",
    "klaar": "Brief klaar om te versturen",
    "verstuurd": "Brief verstuurd",
    "geen_ontvanger": "Geen ontvanger met adres",
    "uitgesteld": "Informeren uitgesteld",
    "anoniem": "Anoniem besproken",
}
INFORMED_STATES = ("verstuurd", "anoniem")  # the chair's "informed or consciously not"
# The chair's structured decisions on an item (detail: a date or a person where it needs one).
DECISION_KINDS: dict[str, str] = {
    "plan_starten": "1gezin1plan starten",
    "zorgcoordinator": "Zorgcoördinator aanwijzen",
    "opschalen": "Opschalen",
    "afschalen": "Afschalen / afsluiten",
    "terug_op_agenda": "Terug op de agenda",
    "ouders_informeren": "Ouders informeren",
    "geen_actie": "Geen verdere actie van het overleg",
}


class Overleg(UUIDPrimaryKey, db.Model):
    """A standing meeting: its kind, rhythm (every N weeks on a weekday, from a first date),
    time and place. Its chairs and secretary are :class:`OverlegMember` rows."""

    __tablename__ = "overleg"
    __table_args__ = (
        CheckConstraint(enum_check("kind", list(OVERLEG_KINDS)), name="kind"),
        CheckConstraint("every_weeks BETWEEN 1 AND 12", name="every_weeks"),
        CheckConstraint("duration_minutes BETWEEN 15 AND 480", name="duration_minutes"),
    )

    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    every_weeks: Mapped[int] = mapped_column(Integer)
    first_date: Mapped[date] = mapped_column(Date)  # fixes the weekday and the week parity
    start_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))  # the host
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sections: Mapped[list[Section]] = relationship(back_populates="overleg", order_by="Section.position",
                                                   cascade="all, delete-orphan")
    members: Mapped[list[OverlegMember]] = relationship(cascade="all, delete-orphan")

    @property
    def weekday(self) -> int:
        return self.first_date.weekday()

    @property
    def purposes(self) -> list[str]:
        """The covenant purposes the overleg serves: those of its sections, in order."""
        return list(dict.fromkeys(s.purpose for s in self.sections))


class OverlegMember(db.Model):
    """A chair or the secretary of an overleg."""

    __tablename__ = "overleg_member"
    __table_args__ = (CheckConstraint(enum_check("role", list(OVERLEG_ROLES)), name="role"),)

    overleg_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class Section(UUIDPrimaryKey, db.Model):
    """An onderdeel of an overleg, e.g. "strafrecht onder 18": its purpose and its parties."""

    __tablename__ = "overleg_section"
    __table_args__ = (UniqueConstraint("overleg_id", "name"),)

    overleg_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    purpose: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer)

    overleg: Mapped[Overleg] = relationship(back_populates="sections")
    parties: Mapped[list[SectionParty]] = relationship(cascade="all, delete-orphan")

    @property
    def organisation_ids(self) -> set[uuid.UUID]:
        return {p.organisation_id for p in self.parties}


class SectionParty(db.Model):
    __tablename__ = "overleg_section_party"

    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg_section.id"), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), primary_key=True,
                                                       index=True)


class Meeting(UUIDPrimaryKey, db.Model):
    """One sitting of an overleg on a date. Time and place are copied from the overleg when
    the year is planned, so moving one meeting does not move the others."""

    __tablename__ = "meeting"
    __table_args__ = (
        UniqueConstraint("overleg_id", "date"),
        CheckConstraint(enum_check("status", list(MEETING_STATES)), name="status"),
    )

    overleg_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg.id"), index=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    start_time: Mapped[time] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    place: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="gepland")
    version: Mapped[int] = mapped_column(Integer, default=1)  # the chair's console checks it: one chair acts
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Live state: the item on the wall (an id, not a foreign key: items and meetings refer
    # to each other), since when, and whether the projector is blanked.
    current_item_id: Mapped[uuid.UUID | None]
    item_started_at: Mapped[datetime | None]
    live_since: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    blanked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set at closing once the actions as they stood are kept (``ActionAtClose``): the
    # besluitenlijst then reads those, even when none stood or retention removed them.
    actions_kept: Mapped[bool] = mapped_column(Boolean, default=False)

    overleg: Mapped[Overleg] = relationship()


class Attendance(db.Model):
    """Whether a person is at the table for a section of a meeting."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (CheckConstraint(enum_check("status", list(ATTENDANCE_STATES)), name="status"),)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), primary_key=True)
    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg_section.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))


class Guest(UUIDPrimaryKey, db.Model):
    """Someone at the table without an account (an intern, a visiting professional): admitted
    to one section only after signing the confidentiality statement."""

    __tablename__ = "meeting_guest"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg_section.id"))
    name: Mapped[str] = mapped_column(String(200))
    organisation_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200))
    statement_signed_on: Mapped[date] = mapped_column(Date)
    recorded_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class CalendarFeed(db.Model):
    """A user's secret iCalendar address. Calendar apps cannot log in, so the address is the
    credential: only its hash is stored, it can be replaced at any time, and the feed holds
    meeting names, times and places — never a family."""

    __tablename__ = "calendar_feed"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class AgendaItem(UUIDPrimaryKey, db.Model):
    """A family on a meeting's agenda in one section, with the structured reasons it is
    there and the state of informing the family."""

    __tablename__ = "agenda_item"
    __table_args__ = (
        UniqueConstraint("meeting_id", "family_id"),
        CheckConstraint(enum_check("status", list(ITEM_STATES)), name="status"),
        CheckConstraint(enum_check("inform_state", list(INFORM_STATES)), name="inform_state"),
        CheckConstraint("planned_minutes BETWEEN 1 AND 90", name="planned_minutes"),
    )

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    section_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("overleg_section.id"))
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("family.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    decision_needed: Mapped[bool] = mapped_column(Boolean, default=True)
    planned_minutes: Mapped[int] = mapped_column(Integer, default=15)
    status: Mapped[str] = mapped_column(String(16), default="gepland")
    used_seconds: Mapped[int] = mapped_column(Integer, default=0)
    carried_from_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_item.id"))
    added_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    inform_state: Mapped[str] = mapped_column(String(16), default="te_versturen")
    _inform_reason: Mapped[str | None] = mapped_column("inform_reason", EncryptedText())
    inform_reason = Encrypted()  # why deferred or anonymous, in the secretary's words
    inform_review_on: Mapped[date | None] = mapped_column(Date)

    meeting: Mapped[Meeting] = relationship()
    section: Mapped[Section] = relationship()


class Letter(UUIDPrimaryKey, db.Model):
    """One letter to one member of the household about one agenda item. The PDF is made
    when it is opened (names and address are read then, and audited), not stored."""

    __tablename__ = "family_letter"
    __table_args__ = (
        UniqueConstraint("agenda_item_id", "person_id"),
        CheckConstraint(enum_check("status", ["klaar", "verstuurd"]), name="status"),
    )

    agenda_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agenda_item.id"), index=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(16), default="klaar")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_on: Mapped[date | None] = mapped_column(Date)
    sent_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))


class MeetingEvent(db.Model):
    """The meeting's ordered event log: what changed, by id only. Live screens receive these
    after commit (and replay them after a reconnect) for the sections they are admitted
    to, then fetch their view through the privacy gate."""

    __tablename__ = "meeting_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    section_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("overleg_section.id"))  # None: every section
    kind: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agenda_item.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(UUIDPrimaryKey, db.Model):
    """A structured decision on an agenda item, recorded live by the chair."""

    __tablename__ = "meeting_decision"
    __table_args__ = (CheckConstraint(enum_check("kind", list(DECISION_KINDS)), name="kind"),)

    agenda_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agenda_item.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    on_date: Mapped[date | None] = mapped_column(Date)  # "terug op de agenda op <datum>"
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))  # the zorgcoördinator
    decided_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionAtClose(db.Model):
    """An action as it stood when the meeting closed: the besluitenlijst is the record of
    that meeting, so later progress or a new owner does not rewrite it. Status, due date
    and the owner as named on the list ("that"); what the action says is read through the
    gate when the list is opened. Removed with the agenda item (retention: the household
    was discussed here) or with the action."""

    __tablename__ = "meeting_action_at_close"

    agenda_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agenda_item.id", ondelete="CASCADE"),
                                                      primary_key=True)
    action_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("plan_action.id", ondelete="CASCADE"),
                                                 primary_key=True, index=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    due: Mapped[date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(300))  # "name (organisation)", or the informal owner's label
    new: Mapped[bool] = mapped_column(Boolean, default=False)  # agreed during the meeting


class ProjectorLink(UUIDPrimaryKey, db.Model):
    """The beamer PC signs in with a meeting-scoped, short-lived secret link (no personal
    account on a shared PC); the chair can revoke it. Only the hash is stored."""

    __tablename__ = "projector_link"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
