"""The demo region's overleggen: Hét Overleg of the Veiligheidshuis (three sections whose
tables differ) and the Katwijk signaleringsoverleg, with this year's and next year's dates,
and the De Vries household on the next agenda. Idempotent: an existing overleg is kept."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from meetings import operations as ops
from meetings.models import AgendaItem, Meeting, Overleg
from netwerk.db import db
from netwerk.demo import DOMAIN, demo_household
from netwerk.models import Organisation, User
from privacy.audit import Actor

# (name, kind, chair account, every N weeks, start, minutes, place, sections:
#  (section name, purpose, organisation short names))
OVERLEGGEN = [
    ("Hét Overleg Alphen (demo)", "procesoverleg", "voorzitter", 2, time(13, 30), 180,
     "Veiligheidshuis Hollands Midden, vergaderzaal 1", [
         ("Preventief", "signalering", ("cjg-alphen", "jongerenwerk", "leerplicht", "politie")),
         ("Strafrecht onder 18", "strafrechtelijke_aanpak", ("politie", "raad", "cjg-alphen", "vhh")),
         ("Nazorg detentie", "nazorg", ("reclassering", "politie", "alphen", "vhh")),
     ]),
    ("Signaleringsoverleg Katwijk (demo)", "signaleringsoverleg", "voorzitter.katwijk", 6, time(9, 30), 120,
     "Gemeentehuis Katwijk", [
         ("Signalen", "signalering", ("cjg-katwijk", "politie", "leerplicht", "katwijk")),
     ]),
]


def _first_date(today: date, every_weeks: int) -> date:
    """A working day one period back, so the demo has a past meeting and coming ones."""
    day = today - timedelta(weeks=every_weeks)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return day


def create_demo_overleggen(today: date) -> int:
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User).where(User.email.like(f"%@{DOMAIN}")))}
    orgs = {o.email.split("@")[1].split(".")[0]: o for o in db.session.scalars(select(Organisation))
            if o.email and o.email.endswith(DOMAIN)}
    made = 0
    for name, kind, chair, weeks, start, minutes, place, sections in OVERLEGGEN:
        if db.session.scalar(select(Overleg.id).where(Overleg.name == name)):
            continue
        actor = Actor(user_id=users[chair].id, org_id=users[chair].organisation_id, role="voorzitter")
        first, *more = [ops.SectionSpec(s, purpose, tuple(orgs[o].id for o in members))
                        for s, purpose, members in sections]
        overleg = ops.create_overleg(ops.OverlegSpec(
            name=name, kind=kind, every_weeks=weeks, first_date=_first_date(today, weeks), start_time=start,
            duration_minutes=minutes, place=place, chair_ids=(users[chair].id,),
            secretary_id=users["secretaris"].id, sections=(first,)), actor, today)
        for section in more:
            ops.add_section(overleg, section, users[chair], actor, today)
        for year in (today.year, today.year + 1):
            ops.plan_year(overleg, year, actor, today)
        made += 1
    _demo_agenda(users, today)
    return made


def _demo_agenda(users: dict[str, User], today: date) -> None:
    """The De Vries household on the next Hét Overleg, in Preventief, put there by the CJG."""
    family = demo_household()
    overleg = db.session.scalar(select(Overleg).where(Overleg.name == OVERLEGGEN[0][0]))
    if family is None or overleg is None:
        return
    meeting = db.session.scalar(select(Meeting).where(Meeting.overleg_id == overleg.id, Meeting.date >= today)
                                .order_by(Meeting.date).limit(1))
    if meeting is None or db.session.scalar(select(AgendaItem.id).where(AgendaItem.family_id == family.id)):
        return
    cjg = users["cjg-alphen.1"]
    item = ops.add_to_agenda(meeting, overleg.sections[0], family, cjg,
                             Actor(user_id=cjg.id, org_id=cjg.organisation_id, role="deelnemer"))
    ops.make_letters(item, today)  # now rather than by the job: the demo shows them at once
