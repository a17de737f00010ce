"""Every state change of overleggen and meetings: validate, write, audit — in the caller's
transaction, so a refusal (:class:`OperationError`, a Dutch message) leaves nothing behind."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from sqlalchemy import func, select

from meetings.models import (
    ATTENDANCE_STATES,
    OVERLEG_KINDS,
    Attendance,
    CalendarFeed,
    Guest,
    Meeting,
    Overleg,
    OverlegMember,
    Section,
    SectionParty,
)
from meetings.policy import admitted_section_ids, manages
from netwerk.db import db, utcnow
from netwerk.models import User
from netwerk.operations.common import OperationError
from netwerk.workdays import holiday_name
from privacy.audit import Actor, record
from privacy.queries import covenant_in_force, labels, party_on

MAX_SECTIONS = 8
PLAN_YEARS_AHEAD = 2


@dataclass(frozen=True)
class SectionSpec:
    name: str
    purpose: str
    organisation_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class OverlegSpec:
    name: str
    kind: str
    every_weeks: int
    first_date: date
    start_time: time
    duration_minutes: int
    place: str
    chair_ids: tuple[uuid.UUID, ...]
    secretary_id: uuid.UUID | None
    sections: tuple[SectionSpec, ...] = field(default_factory=tuple)


def _text(value: str | None, label: str, limit: int, field_name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise OperationError(f"Vul {label} in.", field=field_name)
    if len(value) > limit or any(ord(ch) < 32 for ch in value):
        raise OperationError(f"Gebruik voor {label} hoogstens {limit} gewone tekens.", field=field_name)
    return value


def _frame(spec: OverlegSpec) -> None:
    if spec.kind not in OVERLEG_KINDS:
        raise OperationError("Kies een soort overleg uit de lijst.", field="kind")
    if not 1 <= spec.every_weeks <= 12:
        raise OperationError("Kies een ritme van 1 tot 12 weken.", field="every_weeks")
    if spec.first_date.weekday() > 4:
        raise OperationError("Kies voor de eerste datum een werkdag (maandag tot en met vrijdag).",
                             field="first_date")
    if not 15 <= spec.duration_minutes <= 480:
        raise OperationError("Een overleg duurt 15 minuten tot 8 uur.", field="duration_minutes")
    taken = db.session.scalar(select(func.count()).select_from(Overleg)
                              .where(func.lower(Overleg.name) == spec.name.strip().lower()))
    if taken:
        raise OperationError("Er is al een overleg met deze naam.", field="name")


def _people(spec: OverlegSpec) -> list[tuple[User, str]]:
    chairs = [db.session.get(User, uid) for uid in dict.fromkeys(spec.chair_ids)]
    if not chairs or any(u is None or not u.active or "voorzitter" not in u.roles for u in chairs):
        raise OperationError("Kies minstens één voorzitter (een actief account met de rol voorzitter).",
                             field="chairs")
    secretary = db.session.get(User, spec.secretary_id) if spec.secretary_id else None
    if secretary is None or not secretary.active or "secretaris" not in secretary.roles:
        raise OperationError("Kies een secretaris (een actief account met de rol secretaris).", field="secretary")
    return [(u, "voorzitter") for u in chairs] + [(secretary, "secretaris")]


def _sections(specs: tuple[SectionSpec, ...], today: date) -> list[SectionSpec]:
    covenant = covenant_in_force(today)
    if covenant is None:
        raise OperationError("Er is vandaag geen convenant van kracht; zonder convenant geen overleg.")
    purposes, _ = labels(covenant)
    if not 1 <= len(specs) <= MAX_SECTIONS:
        raise OperationError(f"Geef het overleg 1 tot {MAX_SECTIONS} onderdelen.", field="sections")
    names = [s.name.strip().lower() for s in specs]
    if len(set(names)) != len(names):
        raise OperationError("Twee onderdelen hebben dezelfde naam.", field="sections")
    checked = []
    for spec in specs:
        name = _text(spec.name, "de naam van het onderdeel", 120, "sections")
        if spec.purpose not in purposes:
            raise OperationError(f"Onderdeel {name}: kies een doel uit het convenant.", field="sections")
        orgs = tuple(dict.fromkeys(spec.organisation_ids))
        if len(orgs) < 2:
            raise OperationError(f"Onderdeel {name}: kies minstens twee organisaties.", field="sections")
        if any(party_on(covenant, org, today) is None for org in orgs):
            raise OperationError(f"Onderdeel {name}: alleen partijen van het convenant kunnen deelnemen.",
                                 field="sections")
        checked.append(SectionSpec(name, spec.purpose, orgs))
    return checked


def create_overleg(spec: OverlegSpec, actor: Actor, today: date) -> Overleg:
    """A standing meeting with its sections, chairs and secretary, hosted by the actor's
    organisation. Every section's organisations must be covenant parties today."""
    name = _text(spec.name, "een naam", 120, "name")
    place = _text(spec.place, "een plaats", 200, "place")
    _frame(spec)
    people = _people(spec)
    sections = _sections(spec.sections, today)
    overleg = Overleg(name=name, kind=spec.kind, every_weeks=spec.every_weeks, first_date=spec.first_date,
                      start_time=spec.start_time, duration_minutes=spec.duration_minutes, place=place,
                      organisation_id=actor.org_id)
    overleg.members = [OverlegMember(user_id=user.id, role=role) for user, role in people]
    overleg.sections = [
        Section(name=s.name, purpose=s.purpose, position=i,
                parties=[SectionParty(organisation_id=org) for org in s.organisation_ids])
        for i, s in enumerate(sections)
    ]
    db.session.add(overleg)
    db.session.flush()
    record("meetings.overleg_created", actor=actor, summary="overleg created", object_type="overleg",
           object_id=overleg.id, meta={"sections": len(sections), "kind": spec.kind})
    return overleg


def add_section(overleg: Overleg, spec: SectionSpec, by: User, actor: Actor, today: date) -> Section:
    """One more onderdeel, with its purpose and parties, at the end of the agenda."""
    if not manages(by, overleg):
        raise OperationError("Alleen de voorzitter of secretaris wijzigt het overleg.", code="geen_toegang")
    if len(overleg.sections) >= MAX_SECTIONS:
        raise OperationError(f"Een overleg heeft hoogstens {MAX_SECTIONS} onderdelen.", field="name")
    if spec.name.strip().lower() in {s.name.lower() for s in overleg.sections}:
        raise OperationError("Dit overleg heeft al een onderdeel met deze naam.", field="name")
    [checked] = _sections((spec,), today)
    section = Section(name=checked.name, purpose=checked.purpose, position=len(overleg.sections),
                      parties=[SectionParty(organisation_id=org) for org in checked.organisation_ids])
    overleg.sections.append(section)
    db.session.flush()
    record("meetings.section_added", actor=actor, summary="section added to overleg", object_type="overleg",
           object_id=overleg.id, meta={"section": str(section.id), "purpose": checked.purpose})
    return section


@dataclass
class PlannedYear:
    created: list[Meeting]
    existing: int
    skipped: list[tuple[date, str]]  # dates on a public holiday, with its name


def meeting_dates(overleg: Overleg, year: int) -> list[date]:
    """Every N weeks from the first date, within ``year``."""
    step = timedelta(weeks=overleg.every_weeks)
    day = overleg.first_date
    if day.year < year:
        periods = (date(year, 1, 1) - day).days // step.days
        day += step * periods
    dates = []
    while day.year <= year:
        if day.year == year and day >= overleg.first_date:
            dates.append(day)
        day += step
    return dates


def plan_year(overleg: Overleg, year: int, actor: Actor, today: date) -> PlannedYear:
    """Create the year's meetings (idempotent: existing dates stay as they are). Dates on a
    public holiday are not planned; they are reported so the secretary can pick another."""
    if not overleg.first_date.year <= year <= today.year + PLAN_YEARS_AHEAD:
        raise OperationError(f"Plan een jaar vanaf {overleg.first_date.year} tot en met "
                             f"{today.year + PLAN_YEARS_AHEAD}.", field="year")
    have = set(db.session.scalars(select(Meeting.date).where(Meeting.overleg_id == overleg.id)))
    result = PlannedYear([], 0, [])
    for day in meeting_dates(overleg, year):
        if day in have:
            result.existing += 1
        elif (holiday := holiday_name(day)) is not None:
            result.skipped.append((day, holiday))
        else:
            meeting = Meeting(overleg_id=overleg.id, date=day, start_time=overleg.start_time,
                              duration_minutes=overleg.duration_minutes, place=overleg.place)
            db.session.add(meeting)
            result.created.append(meeting)
    db.session.flush()
    record("meetings.year_planned", actor=actor, summary="meetings of a year planned", object_type="overleg",
           object_id=overleg.id, meta={"year": year, "created": len(result.created),
                                       "skipped": [d.isoformat() for d, _ in result.skipped]})
    return result


def _open_meeting(meeting: Meeting) -> None:
    if meeting.status == "gesloten":
        raise OperationError("Dit overleg is gesloten; de aanwezigheid ligt vast.")


def record_attendance(meeting: Meeting, section: Section, user: User, status: str, by: User,
                      actor: Actor) -> Attendance:
    """Record whether ``user`` is at the table for ``section`` — only a chair or the
    secretary records it, and only for someone admitted to that section."""
    _open_meeting(meeting)
    if not manages(by, meeting.overleg):
        raise OperationError("Alleen de voorzitter of secretaris legt de aanwezigheid vast.", code="geen_toegang")
    if section.overleg_id != meeting.overleg_id or section.id not in admitted_section_ids(user, meeting.overleg):
        raise OperationError("Deze persoon neemt niet deel aan dit onderdeel.", field="user")
    if status not in ATTENDANCE_STATES:
        raise OperationError("Kies aanwezig, afwezig, afgemeld of komt later.", field="status")
    row = db.session.get(Attendance, (meeting.id, section.id, user.id))
    if row is None:
        row = Attendance(meeting_id=meeting.id, section_id=section.id, user_id=user.id, status=status,
                         recorded_by_user_id=by.id)
        db.session.add(row)
    else:
        row.status, row.recorded_at, row.recorded_by_user_id = status, utcnow(), by.id
    record("meetings.attendance", actor=actor, summary="attendance recorded", object_type="meeting",
           object_id=meeting.id, meta={"section": str(section.id), "user": str(user.id), "status": status})
    return row


@dataclass(frozen=True)
class GuestSpec:
    name: str
    organisation_name: str
    role: str
    statement_signed: bool


def add_guest(meeting: Meeting, section: Section, spec: GuestSpec, by: User, actor: Actor, today: date) -> Guest:
    """A guest joins one section, and only with a signed confidentiality statement."""
    _open_meeting(meeting)
    if not manages(by, meeting.overleg):
        raise OperationError("Alleen de voorzitter of secretaris voegt gasten toe.", code="geen_toegang")
    if section.overleg_id != meeting.overleg_id:
        raise OperationError("Kies een onderdeel van dit overleg.", field="section")
    if not spec.statement_signed:
        raise OperationError("Een gast neemt pas deel na het tekenen van de geheimhoudingsverklaring.",
                             field="statement_signed")
    guest = Guest(meeting_id=meeting.id, section_id=section.id, name=_text(spec.name, "de naam", 200, "name"),
                  organisation_name=_text(spec.organisation_name, "de organisatie", 200, "organisation_name"),
                  role=_text(spec.role, "de rol", 200, "role"), statement_signed_on=today,
                  recorded_by_user_id=by.id)
    db.session.add(guest)
    db.session.flush()
    record("meetings.guest_added", actor=actor, summary="guest admitted with confidentiality statement",
           object_type="meeting", object_id=meeting.id, meta={"section": str(section.id), "guest": str(guest.id)})
    return guest


# --- the calendar feed ------------------------------------------------------------------------

def _feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_calendar_feed(user: User, actor: Actor) -> str:
    """A new secret feed address for ``user``; the previous one stops working at once."""
    token = secrets.token_urlsafe(32)
    feed = db.session.get(CalendarFeed, user.id)
    if feed is None:
        db.session.add(CalendarFeed(user_id=user.id, token_hash=_feed_hash(token)))
    else:
        feed.token_hash, feed.created_at, feed.last_used_at = _feed_hash(token), utcnow(), None
    record("meetings.calendar_feed_issued", actor=actor, summary="calendar feed address issued",
           object_type="calendar_feed")
    return token


def feed_owner(token: str) -> User | None:
    """The active user whose feed address this is (None for anything else)."""
    if not token or len(token) > 100:
        return None
    feed = db.session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == _feed_hash(token)))
    if feed is None:
        return None
    user = db.session.get(User, feed.user_id)
    if user is None or not user.active:
        return None
    feed.last_used_at = utcnow()
    return user
