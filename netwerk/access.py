"""Who may see which person at the "that" level, and which purposes the context gives a
viewer for a person's content.

A person exists, for a user, only if the user's organisation has an active involvement
with them or with a member of their household; for everyone else a person's page, search
hit or API answer looks exactly like one that does not exist (no "1 result" oracle).

Content needs a purpose. Contexts give one: a match the viewer's organisation is party to
(signalering) and the family's plan the viewer's organisation is on (procesregie); a
meeting section they attend will add its own provider through :func:`context_provider`.
Without context the viewer may choose a purpose with a reason — emergency access
(noodtoegang), flagged for review.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

from netwerk.db import db
from netwerk.models import (
    CoordinatorTerm,
    FamilyMember,
    Involvement,
    Match,
    NetworkMember,
    Person,
    Plan,
    PlanAction,
    PurposeClaim,
    User,
)
from netwerk.policy import PERMISSIONS
from privacy.audit import Actor

WORK_ROLES = PERMISSIONS["persons.work"]


@dataclass(frozen=True)
class PurposeContext:
    purpose: str
    source: str  # "match", "noodtoegang"; later "plan", "overleg"
    label: str  # Dutch, shown next to the content
    emergency: bool = False


ContextProvider = Callable[[Actor, uuid.UUID, datetime], list[PurposeContext]]
_PROVIDERS: list[ContextProvider] = []


def context_provider(provider: ContextProvider) -> ContextProvider:
    """Register a source of purposes (a plan, a meeting section, ...)."""
    _PROVIDERS.append(provider)
    return provider


def work_role(user: User) -> str | None:
    """The role a user acts in when working on persons: content is never read as beheerder."""
    return next((role for role in ("deelnemer", "voorzitter", "secretaris") if role in user.roles), None)


# --- the "that" layer: which persons a viewer's organisation may know of ------------------

def involved_person_ids(org_id: uuid.UUID) -> Select:
    return select(Involvement.person_id).where(Involvement.organisation_id == org_id,
                                               Involvement.status == "actief")


def household_person_ids(org_id: uuid.UUID) -> Select:
    """Members of a household in which the organisation is involved with someone. A person
    with the safety flag is not reached through their household."""
    mine, other = aliased(FamilyMember), aliased(FamilyMember)
    return (select(other.person_id)
            .join(mine, mine.family_id == other.family_id)
            .join(Person, Person.id == other.person_id)
            .where(mine.person_id.in_(involved_person_ids(org_id)), Person.safety_flag.is_(False)))


def person_relation(org_id: uuid.UUID | None, person_id: uuid.UUID) -> str | None:
    """"betrokken" (own involvement), "gezin" (through the household) or None (unknown)."""
    if org_id is None:
        return None
    if db.session.scalar(involved_person_ids(org_id).where(Involvement.person_id == person_id).limit(1)):
        return "betrokken"
    if db.session.scalar(select(FamilyMember.person_id).where(
            FamilyMember.person_id == person_id, FamilyMember.person_id.in_(household_person_ids(org_id))).limit(1)):
        return "gezin"
    return None


def visible_person_ids(org_id: uuid.UUID) -> Select:
    return involved_person_ids(org_id).union(household_person_ids(org_id))


def related_person_ids(org_id: uuid.UUID | None, person_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Of ``person_ids``, those the organisation has a :func:`person_relation` with, in one
    statement (a screen of many households asks once, not per person)."""
    wanted = list(person_ids)
    if org_id is None or not wanted:
        return set()
    known = visible_person_ids(org_id).subquery()
    return set(db.session.scalars(select(known.c.person_id).where(known.c.person_id.in_(wanted)).distinct()))


# --- purposes from context -----------------------------------------------------------------

def purposes_for(viewer: Actor, person_id: uuid.UUID, now: datetime) -> list[PurposeContext]:
    """Every purpose the viewer has for this person's content, context before emergency,
    one per purpose."""
    found: dict[str, PurposeContext] = {}
    for provider in _PROVIDERS:
        for context in provider(viewer, person_id, now):
            if context.purpose not in found or (found[context.purpose].emergency and not context.emergency):
                found[context.purpose] = context
    return sorted(found.values(), key=lambda c: (c.emergency, c.purpose))


def choose_purpose(contexts: Iterable[PurposeContext], requested: str | None) -> PurposeContext | None:
    """The context for ``requested``, or the first one when nothing was asked; None when the
    viewer asked for a purpose the context does not give (they must claim it)."""
    contexts = list(contexts)
    if requested:
        return next((c for c in contexts if c.purpose == requested), None)
    return contexts[0] if contexts else None


@context_provider
def _match_context(viewer: Actor, person_id: uuid.UUID, now: datetime) -> list[PurposeContext]:
    """A match on this person (or their household) the viewer's organisation is party to:
    the two contacts coordinate, which is the signalering purpose."""
    if viewer.org_id is None:
        return []
    mine, theirs = aliased(Involvement), aliased(Involvement)
    # Both registrations must still be active: a match whose other side has ended gives
    # no purpose any more.
    hit = db.session.scalar(
        select(Match.id)
        .join(mine, or_(mine.id == Match.first_id, mine.id == Match.second_id))
        .join(theirs, or_(theirs.id == Match.first_id, theirs.id == Match.second_id))
        .where(mine.id != theirs.id, mine.organisation_id == viewer.org_id, mine.status == "actief",
               theirs.status == "actief", or_(mine.person_id == person_id, theirs.person_id == person_id))
        .limit(1))
    return [PurposeContext("signalering", "match", "Match in de verwijsindex")] if hit else []


@context_provider
def _claimed_context(viewer: Actor, person_id: uuid.UUID, now: datetime) -> list[PurposeContext]:
    if viewer.user_id is None:
        return []
    claims = db.session.scalars(select(PurposeClaim).where(
        PurposeClaim.user_id == viewer.user_id, PurposeClaim.person_id == person_id,
        PurposeClaim.expires_at > now))
    return [PurposeContext(c.purpose, "noodtoegang", "Noodtoegang (wordt beoordeeld)", emergency=True)
            for c in claims]


@context_provider
def _plan_context(viewer: Actor, person_id: uuid.UUID, now: datetime) -> list[PurposeContext]:
    """Being on the family's plan — its zorgcoördinator, a professional at the kitchen
    table, or the owner of one of its actions — gives the procesregie purpose."""
    if viewer.org_id is None:
        return []
    plans = (select(Plan.id).join(FamilyMember, FamilyMember.family_id == Plan.family_id)
             .where(FamilyMember.person_id == person_id, Plan.status != "afgesloten"))
    on_plan = or_(
        Plan.id.in_(select(CoordinatorTerm.plan_id).where(CoordinatorTerm.organisation_id == viewer.org_id,
                                                          CoordinatorTerm.end_on.is_(None))),
        Plan.id.in_(select(NetworkMember.plan_id).where(NetworkMember.organisation_id == viewer.org_id)),
        Plan.id.in_(select(PlanAction.plan_id).where(PlanAction.owner_org_id == viewer.org_id)),
    )
    hit = db.session.scalar(select(Plan.id).where(Plan.id.in_(plans), on_plan).limit(1))
    return [PurposeContext("procesregie", "plan", "Betrokken bij het plan van het gezin")] if hit else []


def family_purposes(viewer: Actor, person_ids: Iterable[uuid.UUID], now: datetime) -> list[PurposeContext]:
    """The purposes for a household's plan. A context from the household (the plan, a match)
    counts from any member; an emergency claim is made for one person, so it counts for
    the whole household only when the viewer claimed that purpose for every member."""
    per_person = [purposes_for(viewer, person_id, now) for person_id in person_ids]
    found: dict[str, PurposeContext] = {}
    for contexts in per_person:
        for context in contexts:
            if not context.emergency and (context.purpose not in found or found[context.purpose].emergency):
                found[context.purpose] = context
    claimed = [{c.purpose for c in contexts if c.emergency} for contexts in per_person]
    for purpose in set.intersection(*claimed) if claimed else set():
        found.setdefault(purpose, PurposeContext(purpose, "noodtoegang", "Noodtoegang (wordt beoordeeld)", True))
    return sorted(found.values(), key=lambda c: (c.emergency, c.purpose))
