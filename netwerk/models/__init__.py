"""Core tables: organisations (ketenpartners), accounts with their roles, login sessions,
API tokens, the mail outbox, and persons with their families (cliëntsysteem)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from netwerk.db import UUIDPrimaryKey, db, enum_check, utcnow
from privacy.encryption import Encrypted, EncryptedText

ORG_TYPES: dict[str, str] = {
    "gemeente": "Gemeente",
    "cjg": "CJG",
    "politie": "Politie",
    "jongerenwerk": "Jongerenwerk",
    "gi": "Gecertificeerde instelling / jeugdbescherming",
    "raad": "Raad voor de Kinderbescherming",
    "veilig_thuis": "Veilig Thuis",
    "reclassering": "Reclassering",
    "leerplicht": "Leerplicht",
    "ggd": "GGD",
    "ggz": "GGZ",
    "mee": "MEE",
    "school": "School / ZAT",
    "veiligheidshuis": "Veiligheidshuis",
    "woningcorporatie": "Woningcorporatie",
    "overig": "Overig",
}
ORG_DOMAINS: dict[str, str] = {
    "zorg": "Zorg",
    "veiligheid": "Veiligheid",
    "onderwijs": "Onderwijs",
    "bestuur": "Bestuur",
}
ROLES: dict[str, str] = {
    "beheerder": "Beheerder",
    "voorzitter": "Voorzitter",
    "secretaris": "Secretaris",
    "deelnemer": "Deelnemer",
    "privacy": "Privacy officer",
    "leidinggevende": "Leidinggevende",
    "bestuurder": "Bestuurder",
}
MAIL_STATES = ("queued", "sent", "kept_local", "failed")


class Organisation(UUIDPrimaryKey, db.Model):
    __tablename__ = "organisation"
    __table_args__ = (
        CheckConstraint(enum_check("org_type", list(ORG_TYPES)), name="org_type"),
        CheckConstraint(enum_check("domain", list(ORG_DOMAINS)), name="domain"),
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    org_type: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    @property
    def type_label(self) -> str:
        return ORG_TYPES[self.org_type]

    @property
    def domain_label(self) -> str:
        return ORG_DOMAINS[self.domain]


class User(UUIDPrimaryKey, db.Model):
    __tablename__ = "user_account"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    _totp_secret: Mapped[str | None] = mapped_column("totp_secret", EncryptedText())
    totp_secret = Encrypted()
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_timecode: Mapped[int | None] = mapped_column(Integer)
    # Demo accounts skip the two-factor requirement unless NETWERK_DEMO_2FA=1.
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    # flask-login protocol ------------------------------------------------------------
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    @property
    def primary_role(self) -> str:
        """The role audit entries name when the action does not pick one."""
        order = list(ROLES)
        return min(self.roles, key=order.index) if self.roles else "deelnemer"


class UserRole(db.Model):
    """A role grant: a row with constraints, created and revoked only by operations."""

    __tablename__ = "user_role"
    __table_args__ = (CheckConstraint(enum_check("role", list(ROLES)), name="role"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="role_rows")


class LoginSession(db.Model):
    """A server-side record of a browser session: logout and deactivation end it at once,
    whatever the cookie says."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    two_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)


TOKEN_KINDS = ("sessie", "persoonlijk")
# What a personal token may reach; a session token (password + second factor, hours) may
# reach everything its user may.
TOKEN_SCOPES: dict[str, str] = {
    "actions:read": "Acties lezen (Mijn acties)",
    "actions:write": "Acties toevoegen en bijwerken",
    "plan:read": "Plannen lezen",
    "escalations:read": "Escalaties lezen (het minimale pakket)",
    "escalations:write": "Besluiten op escalaties vastleggen",
}


class ApiToken(db.Model):
    """An issued JWT, by its ``jti``, so it can be revoked before it expires. Session tokens
    come from ``POST /auth/token``; personal tokens are created, named and scoped by their
    user in the profile."""

    __tablename__ = "api_token"
    __table_args__ = (CheckConstraint(enum_check("kind", TOKEN_KINDS), name="kind"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(16), default="sessie", server_default="sessie")
    name: Mapped[str | None] = mapped_column(String(80))
    scopes: Mapped[str | None] = mapped_column(String(200))  # space-separated; personal tokens only
    last_used_at: Mapped[datetime | None]

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset((self.scopes or "").split())

    def allows(self, scope: str) -> bool:
        return self.kind == "sessie" or scope in self.scope_set


class OutboxMail(UUIDPrimaryKey, db.Model):
    """Every e-mail Netwerk sends. Bodies come from fixed templates with a link and no
    case content; without SMTP the mail stays here for the demo beheerder to read."""

    __tablename__ = "outbox_mail"
    __table_args__ = (
        CheckConstraint(enum_check("state", MAIL_STATES), name="state"),
        UniqueConstraint("dedupe_key"),
    )

    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(300))


# --- persons and families (cliëntsysteem) ---------------------------------------------------

RELATIONS: dict[str, str] = {"ouder": "Ouder", "kind": "Kind", "broer_zus": "Broer of zus", "anders": "Anders"}


class Person(UUIDPrimaryKey, db.Model):
    """A person the network worries about, or a member of their household.

    Identifying fields are encrypted and bound to this row. What lists show is the
    pseudonym (initials and birth year), kept in clear so a list needs no decryption;
    the BSN is findable only by exact match, through its HMAC blind index.
    """

    __tablename__ = "person"
    __table_args__ = (
        CheckConstraint("birth_year BETWEEN 1900 AND 2200", name="birth_year"),
    )

    _first_name: Mapped[str] = mapped_column("first_name", EncryptedText())
    first_name = Encrypted()
    _last_name: Mapped[str] = mapped_column("last_name", EncryptedText())
    last_name = Encrypted()
    _birth_date_iso: Mapped[str] = mapped_column("birth_date", EncryptedText())
    birth_date_iso = Encrypted()
    _bsn: Mapped[str | None] = mapped_column("bsn", EncryptedText())
    bsn = Encrypted()
    bsn_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    _address: Mapped[str | None] = mapped_column("address", EncryptedText())
    address = Encrypted()
    pseudonym: Mapped[str] = mapped_column(String(20))
    birth_year: Mapped[int] = mapped_column(Integer)
    # HMAC of the birth date: the duplicate check decrypts only people born that day.
    birth_date_index: Mapped[str | None] = mapped_column(String(64), index=True)
    municipality: Mapped[str | None] = mapped_column(String(100))
    date_of_death: Mapped[date | None] = mapped_column(Date)
    # "Geheim adres / veiligheid": no address on any screen and no family matching.
    safety_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[FamilyMember]] = relationship(back_populates="person")

    @property
    def birth_date(self) -> date:
        return date.fromisoformat(self.birth_date_iso)


class Family(UUIDPrimaryKey, db.Model):
    """A household (cliëntsysteem): one plan, one zorgcoördinator, many members."""

    __tablename__ = "family"

    pseudonym: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[FamilyMember]] = relationship(back_populates="family", cascade="all, delete-orphan")


class FamilyMember(db.Model):
    __tablename__ = "family_member"
    __table_args__ = (CheckConstraint(enum_check("relation", list(RELATIONS)), name="relation"),)

    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("family.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), primary_key=True, index=True)
    relation: Mapped[str] = mapped_column(String(16))

    family: Mapped[Family] = relationship(back_populates="members")
    person: Mapped[Person] = relationship(back_populates="memberships")


# --- the involvement registry: "that, not what" ---------------------------------------------

INVOLVEMENT_STATES = ("actief", "beeindigd", "verlopen")
MATCH_KINDS = ("client", "gezin")


class Involvement(UUIDPrimaryKey, db.Model):
    """That an organisation is involved with a person, and whom to call. Deliberately no
    reason and no free text: the registry is the "that", never the "what"."""

    __tablename__ = "involvement"
    __table_args__ = (
        CheckConstraint(enum_check("status", INVOLVEMENT_STATES), name="status"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="period"),
    )

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str] = mapped_column(String(254))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="actief")
    registered_at: Mapped[datetime] = mapped_column(default=utcnow)
    registered_by_user_id: Mapped[uuid.UUID | None]

    person: Mapped[Person] = relationship()
    organisation: Mapped[Organisation] = relationship()


class Match(UUIDPrimaryKey, db.Model):
    """Two organisations involved with the same person (client) or with children of the same
    parent (gezin). Both contacts are told, then record contact, regievoerder and afstemming."""

    __tablename__ = "involvement_match"
    __table_args__ = (
        CheckConstraint(enum_check("kind", MATCH_KINDS), name="kind"),
        UniqueConstraint("first_id", "second_id"),
    )

    kind: Mapped[str] = mapped_column(String(8))
    first_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("involvement.id"), index=True)
    second_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("involvement.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    respond_by: Mapped[date] = mapped_column(Date)
    contact_made_on: Mapped[date | None] = mapped_column(Date)
    regievoerder_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisation.id"))
    afgestemd_on: Mapped[date | None] = mapped_column(Date)

    first: Mapped[Involvement] = relationship(foreign_keys=[first_id])
    second: Mapped[Involvement] = relationship(foreign_keys=[second_id])


class Notification(UUIDPrimaryKey, db.Model):
    """An in-app notice: a kind and a link, never content."""

    __tablename__ = "notification"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    link: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class Note(UUIDPrimaryKey, db.Model):
    """Content ("what") about a person: a data category, its author and owning organisation,
    and the text, encrypted. It is read only through ``netwerk.content`` (the privacy gate)."""

    __tablename__ = "note"

    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    author_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"))
    category: Mapped[str] = mapped_column(String(40))
    written_on: Mapped[date] = mapped_column(Date)
    _text: Mapped[str] = mapped_column("text", EncryptedText())
    text = Encrypted()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()


LOOKUP_OUTCOMES = ("nieuw", "bekend_bsn", "kandidaten", "geweigerd", "te_veel")


class PersonLookup(UUIDPrimaryKey, db.Model):
    """One attempt to identify a person (registering an involvement). Identification can
    reveal that someone is already known, so attempts are counted per user: past a limit
    they are refused and the audit entry is flagged for the privacy officer."""

    __tablename__ = "person_lookup"
    __table_args__ = (CheckConstraint(enum_check("outcome", LOOKUP_OUTCOMES), name="outcome"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(16))


# --- purposes chosen by the viewer (noodtoegang) -------------------------------------------

class PurposeClaim(UUIDPrimaryKey, db.Model):
    """A purpose a viewer chose for a person's content where no context (a plan they are
    on, a meeting section they attend, a match they are party to) gives one: emergency
    access. It lasts a short while, states a reason, and is flagged for the privacy
    officer's review; the gate still decides every category by the covenant."""

    __tablename__ = "purpose_claim"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"))
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("person.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    _reason: Mapped[str] = mapped_column("reason", EncryptedText())
    reason = Encrypted()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)


# The plan's tables live in their own module; importing them here registers them with the
# metadata and keeps ``from netwerk.models import ...`` the one place to import from.
from netwerk.models.plans import (  # noqa: E402
    ACTION_STATES,
    FAILURE_REASONS,
    LIFE_DOMAINS,
    NETWORK_KINDS,
    PLAN_STATES,
    ActionUpdate,
    CoordinatorTerm,
    NetworkMember,
    Plan,
    PlanAction,
    PlanConcern,
    PlanGoal,
    PlanHistory,
)

# Re-exported (everything defined above is importable as usual).
__all__ = ["ACTION_STATES", "FAILURE_REASONS", "LIFE_DOMAINS", "NETWORK_KINDS", "PLAN_STATES", "ActionUpdate",
           "CoordinatorTerm", "NetworkMember", "Plan", "PlanAction", "PlanConcern", "PlanGoal", "PlanHistory"]
