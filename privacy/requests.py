"""Requests for erasure (AVG art. 17) and rectification (art. 16) as a workflow: a privacy
officer registers the request for a person, decides it (toegewezen, gedeeltelijk, afgewezen)
with a reason, and carries it out. Erasure goes through the retention path
(:func:`privacy.retention.erase`) with its proof entry; rectification becomes a task for
each organisation that owns data about the person, which corrects its own records: the
privacy officer neither sees nor edits content.

The answer is due within one month of receipt (AVG art. 12(3)); the screens show the date.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from netwerk.db import UUIDPrimaryKey, db, enum_check, utcnow
from netwerk.models import Involvement, Note, Notification, Organisation, Person, User
from netwerk.operations.families import person_by_bsn
from netwerk.validators import bsn_valid, normalise_bsn
from privacy.audit import Actor, blind, record
from privacy.encryption import Encrypted, EncryptedText
from privacy.models import ERASURE_SCOPES, REQUEST_KINDS, REQUEST_STATES, TASK_STATES
from privacy.retention import RetentionError, add_months, erase

KIND_LABELS = {"wissen": "Wissen (art. 17 AVG)", "rectificatie": "Rectificatie (art. 16 AVG)"}
DECISION_LABELS = {"toegewezen": "Toegewezen", "gedeeltelijk": "Gedeeltelijk toegewezen", "afgewezen": "Afgewezen"}
STATE_LABELS = {"ontvangen": "Ontvangen, nog niet beslist", **DECISION_LABELS}
SCOPE_LABELS = {"alles": "Alles over deze persoon", "notities": "Alleen de notities over deze persoon"}
TASK_LABELS = {"open": "Open", "gecorrigeerd": "Gecorrigeerd", "niet_nodig": "Niet nodig: gegevens kloppen"}
MAX_ASKED = 2000
MAX_REQUESTER = 200
MAX_REASON = 2000


class RightsRequest(UUIDPrimaryKey, db.Model):
    """A data subject's request. Who asked, what is asked and the reason of the decision are
    encrypted; the person link is cleared when the person is erased (the pseudonym stays,
    so the request can still be accounted for)."""

    __tablename__ = "rights_request"
    __table_args__ = (
        CheckConstraint(enum_check("kind", REQUEST_KINDS), name="kind"),
        CheckConstraint(enum_check("status", REQUEST_STATES), name="status"),
        CheckConstraint("scope IS NULL OR " + enum_check("scope", ERASURE_SCOPES), name="scope"),
        CheckConstraint("status = 'ontvangen' OR decided_by_user_id IS NOT NULL", name="decided_by"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("person.id"), index=True)
    person_pseudonym: Mapped[str] = mapped_column(String(20))
    received_on: Mapped[date] = mapped_column(Date)
    respond_by: Mapped[date] = mapped_column(Date)
    _requester: Mapped[str] = mapped_column("requester", EncryptedText())
    requester = Encrypted()
    _asked: Mapped[str] = mapped_column("asked", EncryptedText())
    asked = Encrypted()
    status: Mapped[str] = mapped_column(String(16), default="ontvangen")
    scope: Mapped[str | None] = mapped_column(String(16))
    _decision_reason: Mapped[str | None] = mapped_column("decision_reason", EncryptedText())
    decision_reason = Encrypted()
    registered_by_user_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_user_id: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime | None]
    carried_out_at: Mapped[datetime | None]
    carried_out_by_user_id: Mapped[uuid.UUID | None]

    tasks: Mapped[list[RectificationTask]] = relationship(back_populates="request",
                                                          order_by="RectificationTask.created_at")

    def overdue(self, today: date) -> bool:
        return self.carried_out_at is None and self.status != "afgewezen" and today > self.respond_by

    @property
    def finished(self) -> bool:
        return self.status == "afgewezen" or self.carried_out_at is not None


class RectificationTask(UUIDPrimaryKey, db.Model):
    """A granted rectification, routed to an organisation that owns data about the person:
    it corrects its own records; the privacy officer sees only whether that was done."""

    __tablename__ = "rectification_task"
    __table_args__ = (
        UniqueConstraint("request_id", "organisation_id"),
        CheckConstraint(enum_check("status", TASK_STATES), name="status"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rights_request.id"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisation.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
    done_by_user_id: Mapped[uuid.UUID | None]

    request: Mapped[RightsRequest] = relationship(back_populates="tasks")
    organisation: Mapped[Organisation] = relationship()


class RequestError(Exception):
    """A refused step, with a Dutch message (and the form field it concerns); nothing written."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _text(value: str | None, field: str, limit: int, missing: str) -> str:
    value = (value or "").strip()
    if not value:
        raise RequestError(missing, field)
    if len(value) > limit:
        raise RequestError(f"Hoogstens {limit} tekens.", field)
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise RequestError("De tekst bevat ongeldige tekens.", field)
    return value


def _subject(request: RightsRequest) -> list[str]:
    return [blind("person", request.person_id)] if request.person_id else []


NOT_FOUND = "Deze persoon is niet gevonden. Zoek op BSN of gebruik het persoonsnummer uit het auditlog."


def audit_miss(actor: Actor) -> None:
    """A registration for a person who is not found is a look-up too: audited (no BSN)."""
    record("rights.request_person_not_found", actor=actor, outcome="failure",
           summary="data subject request: person not found")


@dataclass(frozen=True)
class NewRequest:
    kind: str
    received_on: date | None
    requester: str
    asked: str


def register(person: Person | None, data: NewRequest, actor: Actor, today: date) -> RightsRequest:
    # Everything else is checked before whether the person exists: otherwise the answer to a
    # half-filled form would tell, unaudited, whether a BSN is known (a miss is audited by
    # the view, see ``audit_miss``).
    if data.kind not in REQUEST_KINDS:
        raise RequestError("Kies wissen of rectificatie.", "soort")
    if data.received_on is None:
        raise RequestError("Vul de datum van ontvangst in.", "ontvangen_op")
    if data.received_on > today:
        raise RequestError("De datum van ontvangst ligt in de toekomst.", "ontvangen_op")
    requester = _text(data.requester, "verzoeker", MAX_REQUESTER, "Vul in wie het verzoek deed.")
    asked = _text(data.asked, "gevraagd", MAX_ASKED, "Beschrijf wat er gevraagd wordt.")
    if person is None:
        raise RequestError(NOT_FOUND, "persoon")
    request = RightsRequest(kind=data.kind, person_id=person.id, person_pseudonym=person.pseudonym,
                            received_on=data.received_on, respond_by=add_months(data.received_on, 1),
                            registered_by_user_id=actor.user_id)
    request.requester, request.asked = requester, asked
    db.session.add(request)
    db.session.flush()
    record("rights.request_registered", actor=actor, summary="data subject request registered",
           subjects=_subject(request), object_type="rights_request", object_id=request.id,
           meta={"kind": data.kind, "received_on": data.received_on.isoformat()})
    return request


def decide(request: RightsRequest, decision: str, reason: str, actor: Actor) -> None:
    """Toegewezen, gedeeltelijk or afgewezen, always with a reason; once. For erasure the
    decision fixes the scope: everything, or (gedeeltelijk) the notes only."""
    if request.status != "ontvangen":
        raise RequestError("Over dit verzoek is al beslist; een beslissing wordt niet overschreven.")
    if decision not in DECISION_LABELS:
        raise RequestError("Kies toegewezen, gedeeltelijk toegewezen of afgewezen.", "beslissing")
    reason = _text(reason, "reden", MAX_REASON, "Geef de reden van de beslissing; die is verplicht.")
    request.status, request.decision_reason = decision, reason
    request.decided_by_user_id, request.decided_at = actor.user_id, utcnow()
    if request.kind == "wissen" and decision != "afgewezen":
        request.scope = "alles" if decision == "toegewezen" else "notities"
    db.session.flush()
    record("rights.request_decided", actor=actor, summary="data subject request decided",
           subjects=_subject(request), object_type="rights_request", object_id=request.id,
           meta={"kind": request.kind, "decision": decision, "scope": request.scope})


def owners(person_id: uuid.UUID | None) -> list[Organisation]:
    """The organisations that hold data about the person: involved now or before, or
    author of a note. Their names only ("that", not "what")."""
    if person_id is None:
        return []
    ids = select(Involvement.organisation_id).where(Involvement.person_id == person_id).union(
        select(Note.organisation_id).where(Note.person_id == person_id))
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids)).order_by(Organisation.name)))


def _may_carry_out(request: RightsRequest) -> None:
    if request.status == "ontvangen":
        raise RequestError("Beslis eerst over het verzoek.")
    if request.status == "afgewezen":
        raise RequestError("Een afgewezen verzoek wordt niet uitgevoerd.")
    if request.carried_out_at is not None:
        raise RequestError("Dit verzoek is al uitgevoerd.")


def carry_out_erasure(request: RightsRequest, actor: Actor) -> dict[str, int]:
    _may_carry_out(request)
    if request.kind != "wissen":
        raise RequestError("Dit is geen verzoek om te wissen.")
    if request.person_id is None:
        raise RequestError("Deze persoon bestaat niet meer; er is niets te wissen.")
    try:
        removed = erase(request.person_id, request.scope or "notities", actor, request.id)
    except RetentionError as exc:
        raise RequestError(exc.message) from None
    request = db.session.get(RightsRequest, request.id)  # the erasure expired the session
    request.carried_out_at, request.carried_out_by_user_id = utcnow(), actor.user_id
    db.session.flush()
    return removed


def route_rectification(request: RightsRequest, organisation_ids: list[uuid.UUID],
                        actor: Actor) -> list[RectificationTask]:
    """A task for each chosen organisation that holds data about the person, and a notice
    (a link, no content) to its members."""
    _may_carry_out(request)
    if request.kind != "rectificatie":
        raise RequestError("Dit is geen verzoek om rectificatie.")
    allowed = {o.id for o in owners(request.person_id)}
    if not organisation_ids:
        raise RequestError("Kies de organisatie(s) die de gegevens moeten corrigeren.", "organisaties")
    if not set(organisation_ids) <= allowed:
        raise RequestError("Kies alleen organisaties die gegevens over deze persoon hebben.", "organisaties")
    tasks = [RectificationTask(request_id=request.id, organisation_id=org_id) for org_id in organisation_ids]
    db.session.add_all(tasks)
    db.session.flush()
    for task in tasks:
        for user_id in db.session.scalars(select(User.id).where(User.organisation_id == task.organisation_id,
                                                                 User.active.is_(True))):
            db.session.add(Notification(user_id=user_id, kind="rectification_task",
                                        link=f"/correcties/{task.id}"))
    request.carried_out_at, request.carried_out_by_user_id = utcnow(), actor.user_id
    db.session.flush()
    record("rights.rectification_routed", actor=actor, summary="rectification routed to data owners",
           subjects=_subject(request), object_type="rights_request", object_id=request.id,
           meta={"organisations": sorted(str(i) for i in organisation_ids)})
    return tasks


def task_viewed(task: RectificationTask, actor: Actor) -> None:
    """The task shows the person's own words (what they ask to correct) to the owning
    organisation: each showing is audited, naming the person, like any other disclosure."""
    record("rights.rectification_task_viewed", actor=actor, summary="rectification task viewed",
           subjects=_subject(task.request), object_type="rectification_task", object_id=task.id,
           meta={"request": str(task.request_id)})


def complete_task(task: RectificationTask, outcome: str, actor: Actor) -> None:
    """The owning organisation reports that it corrected its records (or that they were right)."""
    if task.organisation_id != actor.org_id:
        raise RequestError("Alleen de organisatie van deze taak handelt haar af.")
    if task.status != "open":
        raise RequestError("Deze taak is al afgehandeld.")
    if outcome not in ("gecorrigeerd", "niet_nodig"):
        raise RequestError("Kies gecorrigeerd of niet nodig.", "uitkomst")
    task.status, task.done_at, task.done_by_user_id = outcome, utcnow(), actor.user_id
    db.session.flush()
    record("rights.rectification_done", actor=actor, summary="rectification task completed",
           subjects=_subject(task.request), object_type="rectification_task", object_id=task.id,
           meta={"outcome": outcome})


def open_tasks_of(organisation_id: uuid.UUID) -> list[RectificationTask]:
    return list(db.session.scalars(select(RectificationTask).where(
        RectificationTask.organisation_id == organisation_id, RectificationTask.status == "open")
        .order_by(RectificationTask.created_at)))


def listing() -> list[RightsRequest]:
    """Open requests first (by due date), then the finished ones, newest first."""
    rows = db.session.scalars(select(RightsRequest).order_by(RightsRequest.respond_by)).all()
    return [r for r in rows if not r.finished] + sorted((r for r in rows if r.finished),
                                                        key=lambda r: r.created_at, reverse=True)


def find_person(value: str) -> Person | None:
    """A person by BSN (blind index) or by the id the audit explorer links to."""
    value = (value or "").strip()
    if value.replace(" ", "").replace(".", "").isdigit():
        bsn = normalise_bsn(value)
        return person_by_bsn(bsn) if bsn_valid(bsn) else None
    try:
        return db.session.get(Person, uuid.UUID(value))
    except ValueError:
        return None

