"""Who may see and run which overleg, and which sections a person is admitted to.

A person is admitted to a section when their organisation is one of its parties; the
chairs and the secretary of the overleg are admitted to every section (they run the whole
meeting). What they may *read* there is still decided by the privacy gate, per item.
"""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select

from meetings.models import Overleg, OverlegMember, Section, SectionParty
from netwerk.db import db
from netwerk.models import User


def roles_in(user: User, overleg: Overleg) -> set[str]:
    return {m.role for m in overleg.members if m.user_id == user.id}


def manages(user: User, overleg: Overleg) -> bool:
    """A chair or the secretary of this overleg (and still in that role)."""
    return bool(user.active and roles_in(user, overleg) & user.roles & {"voorzitter", "secretaris"})


def admitted_section_ids(user: User, overleg: Overleg) -> set[uuid.UUID]:
    if manages(user, overleg):
        return {s.id for s in overleg.sections}
    return {s.id for s in overleg.sections if user.organisation_id in s.organisation_ids}


def overleggen_of(user: User) -> list[Overleg]:
    """The overleggen the user runs or whose sections their organisation takes part in."""
    party = select(Section.overleg_id).join(SectionParty).where(SectionParty.organisation_id == user.organisation_id)
    member = select(OverlegMember.overleg_id).where(OverlegMember.user_id == user.id)
    return list(db.session.scalars(
        select(Overleg).where(or_(Overleg.id.in_(party), Overleg.id.in_(member))).order_by(Overleg.name)))


def sees(user: User, overleg: Overleg) -> bool:
    return bool(admitted_section_ids(user, overleg))
