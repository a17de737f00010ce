"""Persons, families, involvements, matches and notes: the same queries and operations as
their HTML pages; content only through the privacy gate."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from flask import Response, abort, current_app
from flask_login import current_user
from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

from netwerk import access, queries
from netwerk import operations as ops
from netwerk.api.core import StrictModel, endpoint, respond
from netwerk.content import notes_for
from netwerk.db import db, utcnow
from netwerk.errors import api_error
from netwerk.models import RELATIONS, Involvement, Match
from netwerk.web import load_or_404, own_person, visible_family, visible_person, work_actor
from privacy.models import CONSENT_FORMS, CONSENT_GIVERS, CONSENT_STEPS, Consent
from privacy.operations import ConsentSpec

# --- persons, families, involvements, matches, notes ---------------------------------------
# Request models are strict: no unknown fields (an involvement has no place for a reason or
# any other free text), dates only as "YYYY-MM-DD" strings, booleans only as true/false.

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # PostgreSQL refuses NUL in text; a 500 is not an answer
WORK = "persons.work"


def _iso_day(value: Any) -> Any:
    # pydantic would also take a number (seconds since 1970) or a timestamp for a date.
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise PydanticCustomError("datum", "Vul een datum in als JJJJ-MM-DD.")
    return value.strip()


def _bsn_shape(value: str) -> str:
    digits = value.replace(" ", "").replace(".", "")
    if not (digits.isascii() and digits.isdigit() and len(digits) in (8, 9)):
        raise PydanticCustomError("bsn", "Een BSN bestaat uit 9 cijfers.")
    return digits  # the elfproef is the operation's


def _email(value: str) -> str:
    cfg = current_app.config
    try:
        validate_email(value, check_deliverability=False, test_environment=bool(cfg["DEMO_MODE"] or cfg["TESTING"]))
    except EmailNotValidError as exc:
        raise PydanticCustomError("email", "Vul een geldig e-mailadres in.") from exc
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
Flag = Annotated[bool, Strict()]


def line(max_length: int, min_length: int = 1) -> Any:
    """A required single line of text."""
    return Field(min_length=min_length, max_length=max_length, pattern=NO_CONTROL)


def optional_line(max_length: int) -> Any:
    return Field(default=None, max_length=max_length, pattern=NO_CONTROL)


Relation = Literal["betrokken", "gezin"]


class PersonsQuery(StrictModel):
    q: str = Field(default="", max_length=100, pattern=NO_CONTROL,
                   description="Pseudoniem of geboortejaar; bij eigen betrokkenheid ook naam of BSN")


class NotesQuery(StrictModel):
    purpose: str = Field(default="", max_length=40, pattern=r"^[a-z0-9_]*$",
                         description="Doel uit de context; leeg: het eerste doel dat de context geeft")


class PersonIn(StrictModel):
    first_name: str = line(100)
    last_name: str = line(100)
    birth_date: Day
    bsn: Annotated[str, AfterValidator(_bsn_shape)] | None = Field(default=None, max_length=20)
    municipality: str | None = optional_line(100)
    address: str | None = optional_line(300)
    safety_flag: Flag = False


class InvolvementIn(StrictModel):
    person: PersonIn
    contact_name: str = line(200, 2)
    contact_phone: str | None = optional_line(40)
    contact_email: Annotated[str, AfterValidator(_email)] = Field(max_length=254)
    start_date: Day
    end_date: Day | None = None
    choice: str | None = Field(default=None, max_length=40, pattern=r"^[0-9a-zA-Z-]*$",
                               description='Na een 409: de id van de bedoelde persoon, of "nieuw"')


class NoteIn(StrictModel):
    category: str = line(40)
    text: str  # the operation refuses empty, too long (10 000) and control characters, in Dutch


class EmergencyIn(StrictModel):
    purpose: str = line(40)
    reason: str = Field(pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")  # the operation asks for 20 to 500


class ConsentIn(StrictModel):
    step: Literal[CONSENT_STEPS]
    given_by: Literal[CONSENT_GIVERS]
    form: Literal[CONSENT_FORMS]
    given_on: Day
    organisation_id: uuid.UUID | None = None


class AcknowledgementIn(StrictModel):
    """The whole state of the match's coordination (what is left out is cleared)."""

    contact_made_on: Day | None = None
    regievoerder_org_id: uuid.UUID | None = None
    afgestemd_on: Day | None = None


class OrganisationRef(StrictModel):
    id: str
    name: str


class PersonRef(StrictModel):
    id: str
    pseudonym: str


class PersonSummary(StrictModel):
    id: str
    pseudonym: str
    birth_year: int
    relation: Relation


class PersonList(StrictModel):
    persons: list[PersonSummary]


class InvolvementOut(StrictModel):
    id: str
    organisation: OrganisationRef
    contact_name: str
    contact_phone: str | None
    contact_email: str
    start_date: date
    status: str


class PersonDetail(StrictModel):
    id: str
    pseudonym: str
    birth_year: int
    relation: Relation
    # Only where the caller's organisation is itself involved ("betrokken"):
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    municipality: str | None
    address: str | None  # never under a safety flag
    safety_flag: bool | None
    involvements: list[InvolvementOut]
    family_id: str | None
    match_ids: list[str]


class Created(StrictModel):
    id: str


class InvolvementCreated(StrictModel):
    id: str
    person_id: str


class DuplicateBody(StrictModel):
    code: Literal["mogelijk_dubbel"]
    message: str
    candidates: list[PersonRef]


class DuplicateResponse(StrictModel):
    error: DuplicateBody


class NoteOut(StrictModel):
    id: str
    category: str
    organisation: str
    written_on: date
    text: str


class NotesResponse(StrictModel):
    purpose: str | None
    context: str | None  # where the purpose comes from: "match", "noodtoegang", ...
    notes: list[NoteOut]
    withheld: list[str]  # "that" lines: which organisation has information, and whom to call


class EmergencyCreated(StrictModel):
    purpose: str
    expires_at: datetime


class FamilyMemberOut(StrictModel):
    id: str
    pseudonym: str
    birth_year: int
    family_relation: Literal[tuple(RELATIONS)]
    relation: Relation
    involvements: list[InvolvementOut]


class FamilyOut(StrictModel):
    id: str
    pseudonym: str
    members: list[FamilyMemberOut]


class MatchPartyOut(StrictModel):
    involvement_id: str
    organisation: OrganisationRef
    person: PersonRef
    contact_name: str
    contact_phone: str | None
    contact_email: str


class MatchOut(StrictModel):
    id: str
    kind: Literal["client", "gezin"]
    respond_by: date
    contact_made_on: date | None
    regievoerder_org_id: str | None
    afgestemd_on: date | None
    parties: list[MatchPartyOut]


class MatchList(StrictModel):
    matches: list[MatchOut]


def _refused(exc: ops.OperationError, fields: dict[str, str] | None = None) -> Response:
    """An operation's refusal as a 422, on the request field it names (``fields``, if given,
    maps the operation's field names to the request's; a name missing there is not one)."""
    field = getattr(exc, "field", None)
    if field is not None and fields is not None:
        field = fields.get(field)
    code = getattr(exc, "code", None)
    return api_error(422, exc.message, None if code in (None, "ongeldig") else code,
                     [{"field": field, "message": exc.message}] if field else None)


def _org_ref(i: Involvement) -> OrganisationRef:
    return OrganisationRef(id=str(i.organisation_id), name=i.organisation.name)


def _involvement_out(i: Involvement) -> InvolvementOut:
    return InvolvementOut(id=str(i.id), organisation=_org_ref(i), contact_name=i.contact_name,
                          contact_phone=i.contact_phone, contact_email=i.contact_email, start_date=i.start_date,
                          status=i.status)


def _match_out(match: Match) -> MatchOut:
    return MatchOut(
        id=str(match.id), kind=match.kind, respond_by=match.respond_by, contact_made_on=match.contact_made_on,
        regievoerder_org_id=str(match.regievoerder_org_id) if match.regievoerder_org_id else None,
        afgestemd_on=match.afgestemd_on,
        parties=[MatchPartyOut(involvement_id=str(i.id),
                               organisation=_org_ref(i),
                               person=PersonRef(id=str(i.person_id), pseudonym=i.person.pseudonym),
                               contact_name=i.contact_name, contact_phone=i.contact_phone,
                               contact_email=i.contact_email) for i in (match.first, match.second)])


@endpoint("/persons", "GET", "Personen die uw organisatie mag kennen (eigen betrokkenheid of via het gezin)",
          query_model=PersonsQuery, response_model=PersonList, permission=WORK)
def list_persons(query: PersonsQuery) -> Response:
    rows = queries.visible_persons(current_user.organisation_id, query.q)
    return respond(PersonList(persons=[
        PersonSummary(id=str(r.person.id), pseudonym=r.person.pseudonym, birth_year=r.person.birth_year,
                      relation=r.relation) for r in rows]))


IDENTITY_FIELDS = {name: f"person.{name}" for name in PersonIn.model_fields}
REPORT_FIELDS = IDENTITY_FIELDS | {name: name for name in InvolvementIn.model_fields if name != "person"}


@endpoint("/involvements", "POST", "Meld dat uw organisatie betrokken is bij een persoon (geen reden, geen inhoud)",
          request_model=InvolvementIn, response_model=InvolvementCreated, status=201, permission=WORK,
          errors=(429,), error_models=((409, DuplicateResponse),))
def report_involvement(body: InvolvementIn) -> Response:
    p = body.person
    identity = ops.PersonData(first_name=p.first_name, last_name=p.last_name, birth_date=p.birth_date, bsn=p.bsn,
                              municipality=p.municipality or None, address=p.address or None,
                              safety_flag=p.safety_flag)
    data = ops.InvolvementData(current_user.organisation_id, body.contact_name, body.contact_email, body.start_date,
                               body.contact_phone or None, body.end_date)
    try:
        involvement = ops.report_involvement(identity, data, work_actor(), utcnow(), body.choice or None)
    except ops.DuplicatePerson as exc:
        db.session.commit()  # the look-up stays counted; the savepoint has undone the rest
        return respond(DuplicateResponse(error=DuplicateBody(code="mogelijk_dubbel", message=exc.message, candidates=[
            PersonRef(id=str(c.id), pseudonym=c.pseudonym) for c in exc.candidates])), 409)
    except ops.OperationError as exc:
        db.session.commit()  # as above; a throttle refusal keeps its flagged audit entry
        if exc.code == "te_veel_zoekacties":
            return api_error(429, exc.message, exc.code)
        return _refused(exc, REPORT_FIELDS)
    db.session.commit()
    return respond(InvolvementCreated(id=str(involvement.id), person_id=str(involvement.person_id)), 201)


@endpoint("/persons/{person_id}", "GET", "Een persoon op het niveau van dat: wie is betrokken en wie belt u",
          response_model=PersonDetail, permission=WORK)
def show_person(person_id: str) -> Response:
    person, relation = visible_person(person_id)
    own = relation == "betrokken"
    family, _ = queries.household(person.id, current_user.organisation_id)
    return respond(PersonDetail(
        id=str(person.id), pseudonym=person.pseudonym, birth_year=person.birth_year, relation=relation,
        first_name=person.first_name if own else None, last_name=person.last_name if own else None,
        birth_date=person.birth_date if own else None, municipality=person.municipality if own else None,
        address=person.address if own and not person.safety_flag else None,
        safety_flag=person.safety_flag if own else None,
        involvements=[_involvement_out(i) for i in queries.involvements_of([person.id])],
        family_id=str(family.id) if family else None,
        match_ids=[str(m.id) for m in queries.matches_of_org(current_user.organisation_id, person.id)]))


NO_CONTEXT = ("Voor dit doel geeft de context (plan, overleg of match) u geen toegang tot deze persoon. "
              "Heeft u de informatie toch nodig, vraag dan noodtoegang aan (POST …/emergency-access).")


@endpoint("/persons/{person_id}/notes", "GET",
          "De inhoud over een persoon, zoals het convenant die u voor het doel toont",
          query_model=NotesQuery, response_model=NotesResponse, permission=WORK)
def read_notes(person_id: str, query: NotesQuery) -> Response:
    person, _ = visible_person(person_id)
    actor = work_actor()
    chosen = access.choose_purpose(access.purposes_for(actor, person.id, utcnow()), query.purpose or None)
    if query.purpose and chosen is None:
        return api_error(403, NO_CONTEXT, "doel_zonder_context")
    view = notes_for(actor, person, chosen.purpose if chosen else None, chosen.source if chosen else None)
    db.session.commit()  # the gate's audit entries
    return respond(NotesResponse(
        purpose=view.purpose, context=chosen.source if chosen else None, withheld=view.withheld,
        notes=[NoteOut(id=str(n.id), category=n.category, organisation=n.organisation,
                       written_on=date.fromisoformat(n.written_on), text=n.text) for n in view.notes]))


@endpoint("/persons/{person_id}/notes", "POST",
          "Leg een notitie vast bij een persoon bij wie uw organisatie betrokken is",
          request_model=NoteIn, response_model=Created, status=201, permission=WORK)
def add_note(person_id: str, body: NoteIn) -> Response:
    person = own_person(person_id)
    try:
        note = ops.add_note(person, current_user, body.category, body.text, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return respond(Created(id=str(note.id)), 201)


@endpoint("/persons/{person_id}/emergency-access", "POST",
          "Noodtoegang: kies een doel met een reden; de privacy officer beoordeelt dit",
          request_model=EmergencyIn, response_model=EmergencyCreated, status=201, permission=WORK)
def emergency_access(person_id: str, body: EmergencyIn) -> Response:
    person, _ = visible_person(person_id)
    try:
        claim = ops.claim_purpose(person, body.purpose, body.reason, work_actor(), utcnow())
    except ops.OperationError as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return respond(EmergencyCreated(purpose=claim.purpose, expires_at=claim.expires_at), 201)


@endpoint("/persons/{person_id}/consents", "POST", "Leg een stap van instemming vast",
          request_model=ConsentIn, response_model=Created, status=201, permission=WORK)
def record_consent(person_id: str, body: ConsentIn) -> Response:
    person = own_person(person_id)
    if body.step == "delen_met_organisatie" and str(body.organisation_id) not in {
            c.value for c in queries.organisation_choices()}:
        message = "Kies de organisatie waarmee gedeeld mag worden."
        return api_error(422, message, details=[{"field": "organisation_id", "message": message}])
    spec = ConsentSpec(step=body.step, given_by=body.given_by, form=body.form, given_on=body.given_on,
                       organisation_id=body.organisation_id)
    try:
        consent = ops.record_consent(person, spec, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        return _refused(exc)
    consent_id = consent.id
    db.session.commit()
    return respond(Created(id=str(consent_id)), 201)


@endpoint("/persons/{person_id}/consents/{consent_id}/withdrawal", "POST",
          "Trek een instemming in; dit geldt direct voor elke volgende beslissing", status=204,
          permission=WORK, errors=(409, 422))
def withdraw(person_id: str, consent_id: str) -> Response | tuple[str, int]:
    person = own_person(person_id)
    valid = consent_id.isascii() and consent_id.isdigit() and len(consent_id) < 10  # else: no such row
    row = db.session.get(Consent, int(consent_id)) if valid else None
    if row is None or row.person_id != person.id:
        abort(404)
    if row.withdrawn_on is not None:
        return api_error(409, "Deze instemming is al ingetrokken.", "al_ingetrokken")
    try:
        ops.withdraw_person_consent(row, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return "", 204


@endpoint("/families/{family_id}", "GET", "Een gezin: de leden die uw organisatie mag kennen en wie betrokken is",
          response_model=FamilyOut, permission=WORK)
def show_family(family_id: str) -> Response:
    family = visible_family(family_id)
    org_id = current_user.organisation_id
    members = queries.visible_members(family, org_id)
    own = set(db.session.scalars(access.involved_person_ids(org_id)))
    involvements = queries.involvements_of([m.person.id for m in members])
    return respond(FamilyOut(id=str(family.id), pseudonym=family.pseudonym, members=[
        FamilyMemberOut(id=str(m.person.id), pseudonym=m.person.pseudonym, birth_year=m.person.birth_year,
                        family_relation=m.relation, relation="betrokken" if m.person.id in own else "gezin",
                        involvements=[_involvement_out(i) for i in involvements if i.person_id == m.person.id])
        for m in members]))


@endpoint("/matches", "GET", "De matches van uw organisatie", response_model=MatchList, permission=WORK)
def list_matches() -> Response:
    return respond(MatchList(matches=[_match_out(m) for m in queries.matches_of_org(current_user.organisation_id)]))


def _mine(match_id: str) -> Match:
    match = load_or_404(Match, match_id)
    if not ops.match_party(match, current_user.organisation_id):
        abort(404)
    return match


@endpoint("/matches/{match_id}", "GET", "Een match: wie belt wie, en de stand van de afstemming",
          response_model=MatchOut, permission=WORK)
def show_match(match_id: str) -> Response:
    match = _mine(match_id)
    if ops.mark_notifications_read(current_user, utcnow(), f"/matches/{match.id}"):
        db.session.commit()
    return respond(_match_out(match))


@endpoint("/matches/{match_id}/acknowledgement", "POST",
          "Leg de afstemming vast: contact gehad, regievoerder, afgestemd (de hele stand)",
          request_model=AcknowledgementIn, response_model=MatchOut, permission=WORK)
def acknowledge(match_id: str, body: AcknowledgementIn) -> Response:
    match = _mine(match_id)
    ack = ops.Acknowledgement(body.contact_made_on, body.regievoerder_org_id, body.afgestemd_on)
    try:
        ops.acknowledge_match(match, ack, work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        return _refused(exc)
    db.session.commit()
    return respond(_match_out(match))

