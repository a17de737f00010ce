"""The involvement registry ("that, not what"): registering that an organisation is
involved with a person, detecting client and family matches, telling both contacts, and
letting registrations expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from netwerk.db import db
from netwerk.mail import queue_mail
from netwerk.models import FamilyMember, Involvement, Match, Notification, Organisation, Person, User
from netwerk.operations.common import OperationError
from netwerk.operations.families import subject_of
from netwerk.validators import contact_name_valid, phone_valid
from privacy.audit import Actor, record
from privacy.queries import covenant_in_force

CHILD_RELATIONS = ("kind", "broer_zus")


@dataclass(frozen=True)
class InvolvementData:
    organisation_id: object
    contact_name: str
    contact_email: str
    start_date: date
    contact_phone: str | None = None
    end_date: date | None = None


def expiry_date(person: Person, registered_on: date) -> date:
    """At most two years after registration, on the 23rd birthday, at death. The covenant
    in force may set other limits; the configuration's apply where it does not."""
    cfg = current_app.config
    covenant = covenant_in_force(registered_on)
    max_years = (covenant and covenant.involvement_max_years) or cfg["INVOLVEMENT_MAX_YEARS"]
    age_limit = (covenant and covenant.involvement_age_limit) or cfg["INVOLVEMENT_AGE_LIMIT"]
    limits = [_add_years(registered_on, max_years), _add_years(person.birth_date, age_limit)]
    if person.date_of_death:
        limits.append(person.date_of_death)
    return min(limits)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def register_involvement(person: Person, data: InvolvementData, actor: Actor, today: date) -> Involvement:
    org = db.session.get(Organisation, data.organisation_id)
    if org is None or not org.active:
        raise OperationError("Kies een actieve organisatie.", field="organisation_id")
    if not contact_name_valid(data.contact_name):
        raise OperationError("Vul alleen de naam van de contactpersoon in "
                             "(letters, cijfers en spaties; 2 tot 100 tekens).", field="contact_name")
    if data.contact_phone and not phone_valid(data.contact_phone):
        raise OperationError("Vul een telefoonnummer in (cijfers, spaties, streepjes, haakjes en +).",
                             field="contact_phone")
    if data.start_date > today:
        raise OperationError("De startdatum ligt in de toekomst.", field="start_date")
    if data.start_date < person.birth_date:
        raise OperationError("De startdatum ligt vóór de geboortedatum.", field="start_date")
    if data.end_date is not None and data.end_date < data.start_date:
        raise OperationError("De einddatum ligt vóór de startdatum.", field="end_date")
    if person.date_of_death is not None and person.date_of_death <= today:
        raise OperationError("Deze persoon is overleden; een betrokkenheid kan niet meer worden geregistreerd.")
    if db.session.scalar(select(Involvement.id).where(
            Involvement.person_id == person.id, Involvement.organisation_id == org.id,
            Involvement.status == "actief")) is not None:
        raise OperationError("Uw organisatie staat al als betrokken geregistreerd bij deze persoon.")
    expires = expiry_date(person, today)
    if expires <= today:
        raise OperationError("Voor deze persoon kan geen betrokkenheid meer worden geregistreerd (leeftijdsgrens).")
    involvement = Involvement(person_id=person.id, organisation_id=org.id, contact_name=data.contact_name,
                              contact_phone=data.contact_phone, contact_email=data.contact_email.lower(),
                              start_date=data.start_date, end_date=data.end_date, expires_on=expires,
                              registered_by_user_id=actor.user_id)
    db.session.add(involvement)
    db.session.flush()
    record("involvement.registered", actor=actor, summary="involvement registered", subjects=[subject_of(person)],
           object_type="involvement", object_id=involvement.id, categories=["betrokkenheid"])
    for other, kind in _matches_for(person, org.id):
        _create_match(other, involvement, kind, actor, today)
    return involvement


def _matches_for(person: Person, org_id: object) -> list[tuple[Involvement, str]]:
    others = db.session.scalars(select(Involvement).where(
        Involvement.person_id == person.id, Involvement.status == "actief",
        Involvement.organisation_id != org_id)).all()
    found = [(o, "client") for o in others]
    if person.safety_flag:
        return found  # a safety flag stops family matching
    # One match per other organisation: none that already has a client match, and one family
    # match however many of the siblings it is involved with.
    matched = {o.organisation_id for o in others}
    siblings = [s.id for s in _siblings(person)]
    for other in db.session.scalars(select(Involvement).where(
            Involvement.person_id.in_(siblings), Involvement.status == "actief",
            Involvement.organisation_id != org_id).order_by(Involvement.registered_at)):
        if other.organisation_id not in matched:
            matched.add(other.organisation_id)
            found.append((other, "gezin"))
    return found


def _siblings(person: Person) -> list[Person]:
    """Children of the same household that has a parent in it, without a safety flag."""
    families = select(FamilyMember.family_id).where(
        FamilyMember.person_id == person.id, FamilyMember.relation.in_(CHILD_RELATIONS))
    with_parent = select(FamilyMember.family_id).where(FamilyMember.relation == "ouder")
    return list(db.session.scalars(
        select(Person).join(FamilyMember, FamilyMember.person_id == Person.id)
        .where(FamilyMember.family_id.in_(families), FamilyMember.family_id.in_(with_parent),
               FamilyMember.relation.in_(CHILD_RELATIONS), Person.id != person.id, Person.safety_flag.is_(False))
        .distinct()))


def _create_match(first: Involvement, second: Involvement, kind: str, actor: Actor, today: date) -> Match:
    days = current_app.config["MATCH_RESPONSE_DAYS"]
    match = Match(kind=kind, first_id=first.id, second_id=second.id, respond_by=today + timedelta(days=days))
    db.session.add(match)
    db.session.flush()
    record("involvement.matched", actor=actor, summary=f"{kind} match", object_type="match", object_id=match.id,
           categories=["betrokkenheid"], meta={"kind": kind})
    for involvement in (first, second):
        _notify(involvement, match)
    return match


def _notify(involvement: Involvement, match: Match) -> None:
    link = f"/matches/{match.id}"
    queue_mail("involvement_match", involvement.contact_email, involvement.contact_name, link,
               dedupe_key=f"match:{match.id}:{involvement.id}")
    # Only an account of the registering organisation is its contact: a mistyped or foreign
    # address must not put another organisation's notice in someone's list.
    user_id = db.session.scalar(select(User.id).where(func.lower(User.email) == involvement.contact_email,
                                                      User.organisation_id == involvement.organisation_id))
    if user_id is not None:
        db.session.add(Notification(user_id=user_id, kind="involvement_match", link=link))


def expire_involvements(today: date, actor: Actor) -> int:
    """End every active involvement whose end date has passed or that reached its expiry
    (two years, the 23rd birthday, death). Idempotent: a second run finds nothing."""
    # A death recorded after registration did not shorten ``expires_on``: check it here.
    died = select(Person.id).where(Person.date_of_death <= today)
    due = db.session.scalars(select(Involvement).where(
        Involvement.status == "actief",
        or_(Involvement.expires_on <= today, Involvement.end_date < today, Involvement.person_id.in_(died)))).all()
    for involvement in due:
        ended = involvement.end_date is not None and involvement.end_date < today
        involvement.status = "beeindigd" if ended else "verlopen"
        record("involvement.expired", actor=actor, summary="involvement ended by schedule",
               object_type="involvement", object_id=involvement.id, categories=["betrokkenheid"],
               meta={"status": involvement.status})
    return len(due)



def match_household(family: object, actor: Actor, today: date) -> list[Match]:
    """Family matches a (re)composed household creates between involvements that already
    existed: one per pair of organisations, none where a match exists in either order."""
    created = []
    for member in family.members:  # type: ignore[attr-defined]
        for involvement in db.session.scalars(select(Involvement).where(
                Involvement.person_id == member.person_id, Involvement.status == "actief")):
            for other, kind in _matches_for(member.person, involvement.organisation_id):
                if kind == "gezin" and not _matched(involvement, other):
                    created.append(_create_match(other, involvement, kind, actor, today))
    return created


def _matched(a: Involvement, b: Involvement) -> bool:
    """Whether the two organisations already have a match about this household."""
    orgs = {a.organisation_id, b.organisation_id}
    persons = {a.person_id, b.person_id}
    for match in db.session.scalars(select(Match).where(or_(
            Match.first_id.in_([a.id, b.id]), Match.second_id.in_([a.id, b.id])))):
        if {match.first.organisation_id, match.second.organisation_id} == orgs and \
                {match.first.person_id, match.second.person_id} & persons:
            return True
    return False


def end_involvement(involvement: Involvement, actor: Actor, today: date) -> None:
    """The organisation ends its own registration (the work is done)."""
    if involvement.organisation_id != actor.org_id:
        raise OperationError("Alleen de eigen organisatie beëindigt haar betrokkenheid.")
    if involvement.status != "actief":
        raise OperationError("Deze betrokkenheid is al beëindigd.")
    involvement.status = "beeindigd"
    involvement.end_date = max(today, involvement.start_date)
    record("involvement.ended", actor=actor, summary="involvement ended", object_type="involvement",
           object_id=involvement.id, subjects=[subject_of(involvement.person)], categories=["betrokkenheid"])


@dataclass(frozen=True)
class Acknowledgement:
    contact_made_on: date | None
    regievoerder_org_id: object | None
    afgestemd_on: date | None


def match_party(match: Match, org_id: object) -> bool:
    return org_id in (match.first.organisation_id, match.second.organisation_id)


def acknowledge_match(match: Match, ack: Acknowledgement, actor: Actor, today: date) -> None:
    """Either contact records: contact made, who leads (regievoerder), afgestemd."""
    if not match_party(match, actor.org_id):
        raise OperationError("Alleen de twee betrokken organisaties leggen de afstemming vast.")
    created = match.created_at.date()
    for field, day in (("contact_made_on", ack.contact_made_on), ("afgestemd_on", ack.afgestemd_on)):
        if day is not None and day > today:
            raise OperationError("Deze datum ligt in de toekomst.", field=field)
        if day is not None and day < created:
            raise OperationError("Deze datum ligt vóór de match.", field=field)
    if ack.regievoerder_org_id is not None and not match_party(match, ack.regievoerder_org_id):
        raise OperationError("De regievoerder is een van de twee betrokken organisaties.",
                             field="regievoerder_org_id")
    if ack.afgestemd_on is not None and ack.contact_made_on is None:
        raise OperationError("Leg eerst vast wanneer er contact is geweest.", field="contact_made_on")
    if ack.afgestemd_on is not None and ack.contact_made_on is not None and ack.afgestemd_on < ack.contact_made_on:
        raise OperationError("Afgestemd kan niet vóór het eerste contact.", field="afgestemd_on")
    if ack.afgestemd_on is not None and ack.regievoerder_org_id is None:
        raise OperationError("Kies wie de regie voert voordat u afgestemd vastlegt.", field="regievoerder_org_id")
    match.contact_made_on, match.afgestemd_on = ack.contact_made_on, ack.afgestemd_on
    match.regievoerder_org_id = ack.regievoerder_org_id  # type: ignore[assignment]
    record("match.acknowledged", actor=actor, summary="match acknowledgement recorded", object_type="match",
           object_id=match.id, categories=["betrokkenheid"],
           meta={"contact_made": ack.contact_made_on is not None, "afgestemd": ack.afgestemd_on is not None,
                 "regievoerder": str(ack.regievoerder_org_id) if ack.regievoerder_org_id else None})


def mark_notifications_read(user: User, now: object, link: str | None = None) -> int:
    """Mark the user's unread notices (all, or those for ``link``) as read."""
    stmt = select(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if link is not None:
        stmt = stmt.where(Notification.link == link)
    notices = db.session.scalars(stmt).all()
    for notice in notices:
        notice.read_at = now  # type: ignore[assignment]
    return len(notices)
