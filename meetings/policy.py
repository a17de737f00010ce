"""Who may see and run which overleg, and which sections a person is admitted to.

A person is admitted to a section when their organisation is one of its parties; the
chairs and the secretary of the overleg are admitted to every section (they run the whole
meeting). What they may *read* there is still decided by the privacy gate, per item.

Sitting at a section's table while the meeting is live — recorded present by the chair
or secretary — is a context in the gate's sense (:func:`_section_context`): it gives the
section's covenant purpose for the families on that section's agenda, on the meeting's
day, and nothing else — the covenant still decides per category and party whether that
purpose opens anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select

from meetings.models import TIMEZONE, AgendaItem, Attendance, Meeting, Overleg, OverlegMember, Section, SectionParty
from netwerk.access import PurposeContext, context_provider
from netwerk.db import db
from netwerk.models import FamilyMember, User, UserRole
from privacy.audit import Actor

PRESENT = ("aanwezig", "later")  # recorded at the table; no record is no purpose


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


@context_provider
def _section_context(viewer: Actor, person_id: uuid.UUID, now: datetime) -> list[PurposeContext]:
    """A live meeting's section gives its purpose to the people at its table, for the
    families on its agenda, on the meeting's own day: professionals recorded present (or
    coming later) for that section, and the overleg's chairs and secretary while they still
    hold that role. Never for an item discussed anonymously; a closed meeting gives nothing."""
    if viewer.user_id is None or viewer.org_id is None:
        return []
    present = select(Attendance.section_id).where(
        Attendance.meeting_id == Meeting.id, Attendance.user_id == viewer.user_id,
        Attendance.status.in_(PRESENT))
    runs = select(OverlegMember.overleg_id).join(
        UserRole, and_(UserRole.user_id == OverlegMember.user_id, UserRole.role == OverlegMember.role)).where(
        OverlegMember.user_id == viewer.user_id, OverlegMember.role.in_(("voorzitter", "secretaris")))
    today = now.astimezone(ZoneInfo(TIMEZONE)).date()
    rows = db.session.execute(
        select(Section.purpose, Section.name).distinct()
        .join(AgendaItem, AgendaItem.section_id == Section.id)
        .join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .join(FamilyMember, FamilyMember.family_id == AgendaItem.family_id)
        .where(FamilyMember.person_id == person_id, Meeting.status == "live", Meeting.date == today,
               AgendaItem.inform_state != "anoniem",
               or_(Section.id.in_(present), Section.overleg_id.in_(runs)))).all()
    return [PurposeContext(purpose, "overleg", f"Aan tafel bij {name} (overleg live)") for purpose, name in rows]
