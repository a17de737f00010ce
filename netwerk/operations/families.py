"""Operations on persons and families: registering a person (with the BSN, duplicate and
birth-date checks), composing a household, and recording stepped consent for a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select

from netwerk.db import db
from netwerk.models import RELATIONS, Family, FamilyMember, Person
from netwerk.operations.common import OperationError
from netwerk.validators import bsn_valid, normalise_bsn, pseudonym
from privacy.audit import Actor, blind, record
from privacy.models import Consent
from privacy.operations import ConsentSpec, CovenantError, add_consent, withdraw_consent


@dataclass(frozen=True)
class PersonData:
    first_name: str
    last_name: str
    birth_date: date
    bsn: str | None = None
    municipality: str | None = None
    address: str | None = None
    safety_flag: bool = False


class DuplicatePerson(OperationError):
    """The person may already exist; the caller shows ``candidates`` and lets the user choose."""

    def __init__(self, message: str, candidates: list[Person]) -> None:
        super().__init__(message, code="mogelijk_dubbel")
        self.candidates = candidates


def subject_of(person: Person) -> str:
    """How the audit log and the privacy gate name a person: blinded, never in clear."""
    return blind("person", person.id)


def same_name_and_birth(data: PersonData) -> list[Person]:
    # Names are encrypted, so candidates are narrowed by the blind index of the birth date
    # and compared after decryption. Rows from before that index (NULL) fall back to the year.
    same_day = db.session.scalars(select(Person).where(or_(
        Person.birth_date_index == blind("birth_date", data.birth_date.isoformat()),
        and_(Person.birth_date_index.is_(None), Person.birth_year == data.birth_date.year))))
    return [p for p in same_day if p.birth_date == data.birth_date
            and p.first_name.casefold() == data.first_name.casefold()
            and p.last_name.casefold() == data.last_name.casefold()]


def person_by_bsn(bsn: str) -> Person | None:
    """The person with this (normalised, valid) BSN, found through its blind index."""
    return db.session.scalar(select(Person).where(Person.bsn_index == blind("bsn", bsn)))


def register_person(data: PersonData, actor: Actor, today: date, confirmed_new: bool = False) -> Person:
    """Register a person. A BSN already known raises :class:`DuplicatePerson` with that
    person; the same name and birth date without a BSN does too, unless the user has
    looked at the candidates and confirmed this is someone else."""
    if data.birth_date > today:
        raise OperationError("De geboortedatum ligt in de toekomst.", field="birth_date")
    bsn = normalise_bsn(data.bsn) if data.bsn else None
    if bsn is not None and not bsn_valid(bsn):
        raise OperationError("Dit BSN is ongeldig (het voldoet niet aan de elfproef).", field="bsn")
    if bsn is not None:
        existing = person_by_bsn(bsn)
        if existing is not None:
            raise DuplicatePerson("Er is al een persoon met dit BSN.", [existing])
    elif not confirmed_new and (candidates := same_name_and_birth(data)):
        raise DuplicatePerson("Er is al iemand met deze naam en geboortedatum. Is dit dezelfde persoon?",
                              candidates)
    person = Person(pseudonym=pseudonym(data.first_name, data.last_name, data.birth_date.year),
                    birth_year=data.birth_date.year, municipality=data.municipality, safety_flag=data.safety_flag,
                    bsn_index=blind("bsn", bsn) if bsn else None,
                    birth_date_index=blind("birth_date", data.birth_date.isoformat()))
    person.first_name, person.last_name = data.first_name, data.last_name
    person.birth_date_iso = data.birth_date.isoformat()
    person.bsn, person.address = bsn, data.address
    db.session.add(person)
    db.session.flush()
    record("person.registered", actor=actor, summary="person registered", subjects=[subject_of(person)],
           object_type="person", object_id=person.id, categories=["contactgegevens"],
           meta={"with_bsn": bsn is not None, "safety_flag": data.safety_flag})
    return person


def compose_family(members: list[tuple[Person, str]], actor: Actor) -> Family:
    """A household of ``members`` with their relation (ouder, kind, broer_zus, anders)."""
    if not members:
        raise OperationError("Een gezin heeft minstens één lid.", field="members")
    if len({p.id for p, _ in members}) != len(members):
        raise OperationError("Iemand staat twee keer in het gezin.", field="members")
    unknown = {relation for _, relation in members} - set(RELATIONS)
    if unknown:
        raise OperationError("Onbekende relatie: " + ", ".join(sorted(unknown)) + ".", field="members")
    family = Family(pseudonym=family_pseudonym([p for p, r in members if r in ("kind", "broer_zus")]
                                               + [p for p, _ in members]))
    family.members = [FamilyMember(person=p, relation=r) for p, r in members]
    db.session.add(family)
    db.session.flush()
    record("family.composed", actor=actor, summary="family composed", object_type="family", object_id=family.id,
           subjects=[blind("family", family.id), *(subject_of(p) for p, _ in members)],
           meta={"members": len(members)})
    return family


def family_pseudonym(candidates: list[Person]) -> str:
    """Named after a member without the safety flag (children first): the name is shown to
    every organisation involved with anyone in the household."""
    anchor = next((p for p in candidates if not p.safety_flag), None)
    return f"Gezin {anchor.pseudonym}" if anchor else "Gezin (afgeschermd)"


def age_on(person: Person, on: date) -> int:
    born = person.birth_date
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _expected_giver(age: int) -> set[str]:
    # Under 12 the parents decide; from 12 to 15 the youth and the parents both; from 16
    # the youth alone (the parents may join, which is still valid).
    if age < 12:
        return {"ouder"}
    if age < 16:
        return {"ouder_en_jongere"}
    return {"jongere", "ouder_en_jongere"}


def record_consent(person: Person, spec: ConsentSpec, actor: Actor, today: date) -> Consent:
    """Record one consent step for ``person``, checking who may give it at their age."""
    if spec.given_on > today:
        raise OperationError("De datum van instemming ligt in de toekomst.", field="given_on")
    if spec.given_on < person.birth_date:
        raise OperationError("De datum van instemming ligt vóór de geboortedatum.", field="given_on")
    age = age_on(person, spec.given_on)
    if spec.given_by not in _expected_giver(age):
        who = {"ouder": "de ouder(s)", "ouder_en_jongere": "de jongere én de ouder(s)",
               "jongere": "de jongere"}[sorted(_expected_giver(age))[0]]
        raise OperationError(f"Op {age}-jarige leeftijd geeft {who} instemming.", field="given_by")
    try:
        return add_consent(subject_of(person), person.id, spec, actor)
    except CovenantError as exc:
        raise OperationError(exc.message) from exc


def withdraw_person_consent(consent: Consent, actor: Actor, today: date) -> None:
    """Withdraw a consent step; it applies to every decision from ``today`` on."""
    try:
        withdraw_consent(consent, today, actor)
    except CovenantError as exc:
        raise OperationError(exc.message) from exc
