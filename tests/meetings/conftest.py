"""The meetings tests' region: a covenant, organisations, a chair and a secretary of the
Veiligheidshuis, and a participant per organisation; an overleg with two sections whose
tables differ (CJG and school in "Preventief", CJG and police in "Strafrecht onder 18")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import pytest

from meetings import operations as ops
from meetings.models import Overleg
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Organisation, User
from tests.factories import make_covenant, make_org, make_user

TODAY = date(2026, 11, 23)


@dataclass
class Region:
    cjg: Organisation
    police: Organisation
    school: Organisation
    outside: Organisation  # a covenant party in no section
    stranger: Organisation  # not a covenant party
    chair: User
    secretary: User
    youth_worker: User  # CJG, in both sections
    officer: User  # police, only in "strafrecht"
    teacher: User  # school, only in "preventief"
    outsider: User


@pytest.fixture
def region(app) -> Region:
    cjg, police = make_org("CJG Test", "cjg"), make_org("Politie Test", "politie", "veiligheid")
    school, outside = make_org("School Test", "leerplicht", "onderwijs"), make_org("Jongerenwerk Test", "jongerenwerk")
    stranger = make_org("Vreemd Test", "overig")
    vh = make_org("Veiligheidshuis Test", "veiligheidshuis", "veiligheid")
    make_covenant(cjg, police, school, outside, vh)
    return Region(cjg, police, school, outside, stranger,
                  make_user("voorzitter", org=vh, totp=True, name="Vera Voorzitter"),
                  make_user("secretaris", org=vh, name="Sem Secretaris"),
                  make_user(org=cjg, name="Jan Jeugdwerker"), make_user(org=police, name="Paula Politie"),
                  make_user(org=school, name="Lotte Leraar"), make_user(org=outside, name="Otto Buiten"))


def spec(r: Region, **changes: object) -> ops.OverlegSpec:
    base = dict(
        name="Hét Overleg Test", kind="procesoverleg", every_weeks=2, first_date=date(2026, 1, 6),
        start_time=time(13, 30), duration_minutes=180, place="Veiligheidshuis, zaal 2",
        chair_ids=(r.chair.id,), secretary_id=r.secretary.id,
        sections=(ops.SectionSpec("Preventief", "signalering", (r.cjg.id, r.school.id)),),
    )
    return ops.OverlegSpec(**(base | changes))


def make_overleg(r: Region) -> Overleg:
    overleg = ops.create_overleg(spec(r), actor_for(r.chair), TODAY)
    ops.add_section(overleg, ops.SectionSpec("Strafrecht onder 18", "procesregie", (r.cjg.id, r.police.id)),
                    r.chair, actor_for(r.chair), TODAY)
    db.session.commit()
    return overleg


