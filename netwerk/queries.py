"""Read queries for screens, each loading what its screen shows in a fixed number of
statements (no lazy loads in templates)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from netwerk import access
from netwerk.db import db
from netwerk.models import (
    Family,
    FamilyMember,
    Involvement,
    Match,
    Notification,
    Organisation,
    OutboxMail,
    Person,
    User,
)
from privacy.models import Consent


def organisations(include_inactive: bool = True) -> list[Organisation]:
    stmt = select(Organisation).order_by(func.lower(Organisation.name))
    if not include_inactive:
        stmt = stmt.where(Organisation.active.is_(True))
    return list(db.session.scalars(stmt))


def organisation_choices(include: object = None) -> list[SelectChoice]:
    """Active organisations for a select, plus ``include`` (a user's current one)."""
    orgs = [o for o in organisations() if o.active or o.id == include]
    return [SelectChoice(str(o.id), o.name) for o in orgs]


def users_with_organisation() -> list[User]:
    stmt = (select(User).options(selectinload(User.role_rows))
            .order_by(func.lower(User.name)))
    return list(db.session.scalars(stmt).unique())


def outbox(limit: int = 200) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(limit)))


# --- persons, families, matches (the "that" layer) ----------------------------------------

@dataclass(frozen=True)
class PersonRow:
    person: Person
    relation: str  # "betrokken" or "gezin"


def visible_persons(org_id: uuid.UUID, query: str = "") -> list[PersonRow]:
    """Persons the organisation may know of, filtered by ``query`` (pseudonym, birth year,
    or — for its own involvements — name or exact BSN). Never searches anyone else, so an
    empty result and a non-existent person look the same."""
    own = set(db.session.scalars(access.involved_person_ids(org_id)))
    persons = db.session.scalars(select(Person).where(Person.id.in_(access.visible_person_ids(org_id)))).all()
    rows = [PersonRow(p, "betrokken" if p.id in own else "gezin") for p in persons]
    needle = " ".join(query.split()).casefold()
    if needle:
        rows = [r for r in rows if _matches(r, needle)]
    return sorted(rows, key=lambda r: (r.person.pseudonym.casefold(), r.person.birth_year, str(r.person.id)))


def _matches(row: PersonRow, needle: str) -> bool:
    person = row.person
    if needle in person.pseudonym.casefold() or needle == str(person.birth_year):
        return True
    if row.relation != "betrokken":
        return False
    name = f"{person.first_name} {person.last_name}".casefold()
    return needle in name or (person.bsn is not None and needle.replace(" ", "") == person.bsn)


def involvements_of(person_ids: list[uuid.UUID]) -> list[Involvement]:
    return list(db.session.scalars(
        select(Involvement).where(Involvement.person_id.in_(person_ids), Involvement.status == "actief")
        .options(selectinload(Involvement.organisation)).order_by(Involvement.start_date)))


def household(person_id: uuid.UUID, org_id: uuid.UUID) -> tuple[Family | None, list[PersonRow]]:
    """The person's household as the organisation may see it: members reached through the
    household with a safety flag stay out of sight."""
    family = db.session.scalar(select(Family).join(FamilyMember).where(FamilyMember.person_id == person_id)
                               .options(selectinload(Family.members).selectinload(FamilyMember.person)))
    if family is None:
        return None, []
    visible = set(db.session.scalars(access.visible_person_ids(org_id)))
    return family, [PersonRow(m.person, m.relation) for m in family.members if m.person_id in visible]


def consents_of(person_id: uuid.UUID) -> list[Consent]:
    return list(db.session.scalars(select(Consent).where(Consent.person_id == person_id)
                                   .order_by(Consent.given_on.desc(), Consent.id.desc())))


def matches_of_org(org_id: uuid.UUID, person_id: uuid.UUID | None = None) -> list[Match]:
    mine = select(Involvement.id).where(Involvement.organisation_id == org_id)
    stmt = (select(Match).where(or_(Match.first_id.in_(mine), Match.second_id.in_(mine)))
            .options(selectinload(Match.first).selectinload(Involvement.organisation),
                     selectinload(Match.first).selectinload(Involvement.person),
                     selectinload(Match.second).selectinload(Involvement.organisation),
                     selectinload(Match.second).selectinload(Involvement.person))
            .order_by(Match.created_at.desc()))
    matches = list(db.session.scalars(stmt))
    if person_id is not None:
        matches = [m for m in matches if person_id in (m.first.person_id, m.second.person_id)]
    return matches


def notifications_of(user_id: uuid.UUID, limit: int = 100) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user_id)
                                   .order_by(Notification.created_at.desc()).limit(limit)))


def unread_notifications(user_id: uuid.UUID) -> int:
    return db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0
