"""Reporting an involvement ("betrokkenheid melden") and adding household members: both
start by identifying a person, which is where existence could leak. Every attempt is
counted per user; past the hourly limit the user is refused and the audit entry flagged.

Identification never shows more than a pseudonym: a known BSN with matching name and
birth date joins the existing person silently (the user learns only what a match then
tells them); the same name and birth date without BSN is a choice between pseudonyms.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TypeVar

from flask import current_app
from sqlalchemy import func, select

from netwerk.db import db
from netwerk.models import RELATIONS, Family, FamilyMember, Involvement, Person, PersonLookup
from netwerk.operations.common import OperationError
from netwerk.operations.families import (
    DuplicatePerson,
    PersonData,
    compose_family,
    person_by_bsn,
    register_person,
    same_name_and_birth,
    subject_of,
)
from netwerk.operations.involvements import InvolvementData, match_household, register_involvement
from netwerk.validators import bsn_valid, normalise_bsn
from privacy.audit import Actor, blind, record

NEW_PERSON = "nieuw"
T = TypeVar("T")
TOO_MANY = ("U heeft in korte tijd veel personen opgezocht. Probeer het later opnieuw; "
            "de privacy officer is op de hoogte gebracht.")


def _start_lookup(actor: Actor, now: datetime) -> PersonLookup | None:
    """Count this identification attempt, or refuse it past the hourly limit (the refusal
    and its flagged audit entry are kept: the caller commits after an OperationError)."""
    if actor.user_id is None:
        return None  # the system itself (demo seeding, imports) is not throttled
    limit = current_app.config["LOOKUP_LIMIT_PER_HOUR"]
    recent = db.session.scalar(select(func.count()).select_from(PersonLookup).where(
        PersonLookup.user_id == actor.user_id, PersonLookup.at > now - timedelta(hours=1),
        PersonLookup.outcome != "te_veel"))
    if recent >= limit:
        db.session.add(PersonLookup(user_id=actor.user_id, outcome="te_veel", at=now))
        record("person.lookup_throttled", actor=actor, outcome="denied", summary="too many person look-ups",
               meta={"flag": "review", "attempts_last_hour": recent})
        raise OperationError(TOO_MANY, code="te_veel_zoekacties")
    lookup = PersonLookup(user_id=actor.user_id, outcome="nieuw", at=now)
    db.session.add(lookup)
    db.session.flush()
    return lookup


def _identify(data: PersonData, actor: Actor, now: datetime, choice: str | None) -> tuple[Person, str]:
    today = now.date()
    bsn = normalise_bsn(data.bsn) if data.bsn else None
    if bsn is not None and not bsn_valid(bsn):
        raise OperationError("Dit BSN is ongeldig (het voldoet niet aan de elfproef).", field="bsn")
    if data.birth_date > today:
        raise OperationError("De geboortedatum ligt in de toekomst.", field="birth_date")
    known = person_by_bsn(bsn) if bsn else None
    if known is not None:
        if not _same_identity(known, data):
            return _identity_conflict(data, known, actor, today), "geweigerd"
        return known, "bekend_bsn"
    # Without a known BSN: people with the same name and birth date and no BSN of their own
    # may be the same person (someone with another BSN is certainly someone else).
    candidates = [p for p in same_name_and_birth(data) if p.bsn_index is None]
    if candidates and choice != NEW_PERSON:
        chosen = next((p for p in candidates if choice and str(p.id) == choice), None)
        if chosen is None:
            raise DuplicatePerson("Er is al iemand met deze naam en geboortedatum. Is dit dezelfde persoon?",
                                  candidates)
        if bsn:
            chosen.bsn, chosen.bsn_index = bsn, blind("bsn", bsn)
        return chosen, "kandidaten"
    return register_person(data, actor, today, confirmed_new=True), "nieuw"


def _identity_conflict(data: PersonData, known: Person, actor: Actor, today: date) -> Person:
    """A known BSN with another name or birth date. Saying so would confirm to anyone that
    the BSN is registered, so the answer looks like an unknown BSN: a new person without
    the BSN (no match, nothing disclosed), and a flag for the privacy officer to sort out."""
    person = register_person(replace(data, bsn=None), actor, today, confirmed_new=True)
    record("person.identity_conflict", actor=actor, outcome="denied", summary="BSN known with other details",
           subjects=[subject_of(person), subject_of(known)], object_type="person", object_id=person.id,
           meta={"flag": "review"})
    return person


def _same_identity(person: Person, data: PersonData) -> bool:
    return (person.birth_date == data.birth_date and person.first_name.casefold() == data.first_name.casefold()
            and person.last_name.casefold() == data.last_name.casefold())


def _identified(data: PersonData, actor: Actor, now: datetime, choice: str | None,
                then: Callable[[Person], T]) -> T:
    """Identify the person and run ``then`` with them inside a savepoint: a refusal undoes
    both, while the look-up stays counted."""
    lookup = _start_lookup(actor, now)
    outcome = "geweigerd"
    try:
        with db.session.begin_nested():
            person, found = _identify(data, actor, now, choice)
            result = then(person)
        outcome = found
    except DuplicatePerson:
        outcome = "kandidaten"
        raise
    finally:
        if lookup is not None:
            lookup.outcome = outcome
    return result


def identify_person(data: PersonData, actor: Actor, now: datetime, choice: str | None = None) -> Person:
    """The person ``data`` describes: existing (by BSN, or chosen among same-name
    candidates) or newly registered. Raises :class:`DuplicatePerson` (pseudonyms only)
    when a choice is needed, and refuses a BSN whose holder has other details."""
    return _identified(data, actor, now, choice, lambda person: person)


def report_involvement(identity: PersonData, involvement: InvolvementData, actor: Actor, now: datetime,
                       choice: str | None = None) -> Involvement:
    """Identify the person and register the organisation's involvement with them."""
    return _identified(identity, actor, now, choice,
                       lambda person: register_involvement(person, involvement, actor, now.date()))


def add_household_member(anchor: Person, anchor_relation: str, identity: PersonData, relation: str,
                         actor: Actor, now: datetime, choice: str | None = None) -> Family:
    """Add a person to ``anchor``'s household (composing one if there is none) and look
    for family matches the new relation creates."""
    return _identified(identity, actor, now, choice,
                       lambda member: _join_household(anchor, anchor_relation, member, relation, actor, now))


def _join_household(anchor: Person, anchor_relation: str, member: Person, relation: str, actor: Actor,
                    now: datetime) -> Family:
    if member.id == anchor.id:
        raise OperationError("Dit is dezelfde persoon.")
    family = family_of(anchor.id)
    if family is None:
        family = compose_family([(anchor, anchor_relation), (member, relation)], actor)
    else:
        if any(m.person_id == member.id for m in family.members):
            raise OperationError("Deze persoon hoort al bij het gezin.")
        if relation not in RELATIONS:
            raise OperationError("Kies een relatie.", field="relation")
        family.members.append(FamilyMember(person=member, relation=relation))
        db.session.flush()
        # Adding someone already known shows the adder who else is involved with them:
        # the privacy officer reviews such additions.
        known = member.created_at < now
        record("family.member_added", actor=actor, summary="family member added", object_type="family",
               object_id=family.id, subjects=[blind("family", family.id), subject_of(member)],
               meta={"relation": relation, "existing_person": known} | ({"flag": "review"} if known else {}))
    match_household(family, actor, now.date())
    return family


def family_of(person_id: uuid.UUID) -> Family | None:
    return db.session.scalar(select(Family).join(FamilyMember).where(FamilyMember.person_id == person_id))

