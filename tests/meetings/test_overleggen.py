"""Overleggen (issue 5, part 1): setting one up with sections whose parties differ, planning
a year's dates around public holidays, attendance and guests per section, who sees what,
and the personal iCalendar feed."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from meetings import operations as ops
from meetings.ical import calendar, fold
from meetings.models import Attendance, Guest, Meeting, Overleg, Section
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.operations.common import OperationError
from privacy.models import AuditEntry
from tests.conftest import post_form
from tests.helpers import html, path_of
from tests.meetings.conftest import Region, make_overleg, spec
from tests.netwerk.test_person_views import client_for

TODAY = date(2026, 11, 23)


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- setting up an overleg --------------------------------------------------------------------

def test_a_chair_sets_up_an_overleg_with_its_first_section_on_screen(app, region):
    client = client_for(app, region.chair)
    response = post_form(client, "/overleggen/nieuw", {
        "name": "Signaleringsoverleg Katwijk", "kind": "signaleringsoverleg", "every_weeks": "6",
        "first_date": "2026-12-01", "start_time": "09:30", "duration_minutes": "120", "place": "Gemeentehuis",
        "chairs": [str(region.chair.id)], "secretary": str(region.secretary.id),
        "section_name": "Preventief", "section_purpose": "signalering",
        "section_parties": [str(region.cjg.id), str(region.school.id)],
    })
    assert response.status_code == 302, html(response)[:3000]
    overleg = db.session.scalar(select(Overleg))
    assert path_of(response) == f"/overleggen/{overleg.id}"
    assert (overleg.kind, overleg.every_weeks, overleg.weekday, overleg.start_time) == (
        "signaleringsoverleg", 6, 1, time(9, 30))
    [section] = overleg.sections
    assert (section.name, section.purpose, section.organisation_ids) == (
        "Preventief", "signalering", {region.cjg.id, region.school.id})
    assert {(m.user_id, m.role) for m in overleg.members} == {
        (region.chair.id, "voorzitter"), (region.secretary.id, "secretaris")}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meetings.overleg_created"))
    page = html(client.get(response.headers["Location"]))
    assert "Preventief" in page and "elke 6 weken op dinsdag, 09:30" in page


def test_a_deelnemer_cannot_set_up_an_overleg(app, region):
    client = client_for(app, region.youth_worker)
    assert client.get("/overleggen/nieuw").status_code == 403


@pytest.mark.parametrize(("changes", "message"), [
    ({"first_date": date(2026, 1, 10)}, "werkdag"),
    ({"every_weeks": 0}, "1 tot 12 weken"),
    ({"duration_minutes": 5}, "15 minuten tot 8 uur"),
    ({"kind": "borrel"}, "soort overleg"),
    ({"name": "   "}, "naam"),
    ({"place": "x" * 201}, "hoogstens 200"),
    ({"chair_ids": ()}, "voorzitter"),
    ({"secretary_id": None}, "secretaris"),
    ({"sections": ()}, "1 tot 8 onderdelen"),
    ({"sections": (ops.SectionSpec("Preventief", "roddelen", ()),)}, "doel uit het convenant"),
    ({"sections": (ops.SectionSpec("Preventief", "signalering", ()),)}, "minstens twee organisaties"),
])
def test_bad_frames_are_refused_in_dutch_and_write_nothing(app, region, changes, message):
    with pytest.raises(OperationError, match=message):
        ops.create_overleg(spec(region, **changes), actor_for(region.chair), TODAY)
    db.session.rollback()
    assert (count(Overleg), count(Section)) == (0, 0)


def test_people_and_parties_must_fit_their_roles(app, region):
    cases = [
        (spec(region, chair_ids=(region.youth_worker.id,)), "voorzitter"),  # a deelnemer is no chair
        (spec(region, secretary_id=region.chair.id), "secretaris"),
        (spec(region, chair_ids=(uuid.uuid4(),)), "voorzitter"),
        (spec(region, sections=(ops.SectionSpec("A", "signalering", (region.cjg.id, region.stranger.id)),)),
         "partijen van het convenant"),
    ]
    for bad, message in cases:
        with pytest.raises(OperationError, match=message):
            ops.create_overleg(bad, actor_for(region.chair), TODAY)
        db.session.rollback()
    make_overleg(region)
    with pytest.raises(OperationError, match="al een overleg met deze naam"):
        ops.create_overleg(spec(region, name="hét overleg TEST"), actor_for(region.chair), TODAY)


def test_the_form_shows_a_refusal_on_its_field(app, region):
    client = client_for(app, region.chair)
    response = post_form(client, "/overleggen/nieuw", {
        "name": "X overleg", "kind": "anders", "every_weeks": "2", "first_date": "2026-12-05",
        "start_time": "09:30", "duration_minutes": "60", "place": "Hier", "chairs": [str(region.chair.id)],
        "secretary": str(region.secretary.id), "section_name": "A", "section_purpose": "signalering",
        "section_parties": [str(region.cjg.id), str(region.school.id)],
    })
    assert response.status_code == 422 and "Kies voor de eerste datum een werkdag" in html(response)
    assert count(Overleg) == 0


def test_sections_are_added_by_the_chair_only_with_unique_names(app, region):
    overleg = make_overleg(region)
    assert [s.name for s in overleg.sections] == ["Preventief", "Strafrecht onder 18"]
    with pytest.raises(OperationError, match="voorzitter of secretaris"):
        ops.add_section(overleg, ops.SectionSpec("Nazorg", "nazorg", (region.cjg.id, region.police.id)),
                        region.youth_worker, actor_for(region.youth_worker), TODAY)
    with pytest.raises(OperationError, match="al een onderdeel"):
        ops.add_section(overleg, ops.SectionSpec("preventief", "signalering", (region.cjg.id, region.police.id)),
                        region.chair, actor_for(region.chair), TODAY)


# --- the year's dates --------------------------------------------------------------------------

def test_a_year_is_planned_every_n_weeks_around_public_holidays_and_idempotently(app, region):
    overleg = make_overleg(region)  # every 2 weeks on Tuesday from 6 January 2026
    planned = ops.plan_year(overleg, 2026, actor_for(region.chair), TODAY)
    dates = sorted(m.date for m in planned.created)
    assert dates[0] == date(2026, 1, 6) and dates[-1] == date(2026, 12, 22)
    assert all((d - dates[0]).days % 14 == 0 for d in dates)  # every other Tuesday
    assert len(dates) + len(planned.skipped) == 26
    again = ops.plan_year(overleg, 2026, actor_for(region.chair), TODAY)
    assert (again.created, again.existing) == ([], len(dates))
    assert count(Meeting) == len(dates)


def test_holidays_are_skipped_and_named(app, region):
    overleg = ops.create_overleg(spec(region, every_weeks=1, first_date=date(2026, 1, 5)),
                                 actor_for(region.chair), TODAY)  # every Monday
    planned = ops.plan_year(overleg, 2026, actor_for(region.chair), TODAY)
    assert planned.skipped == [(date(2026, 4, 6), "Tweede Paasdag"), (date(2026, 4, 27), "Koningsdag"),
                               (date(2026, 5, 25), "Tweede Pinksterdag")]
    assert date(2026, 4, 27) not in {m.date for m in planned.created}


def test_the_rhythm_keeps_its_parity_across_years(app, region):
    overleg = make_overleg(region)
    first_2027 = ops.meeting_dates(overleg, 2027)[0]
    assert first_2027 == date(2027, 1, 5) and (first_2027 - overleg.first_date).days % 14 == 0
    assert ops.meeting_dates(overleg, 2025) == []


def test_planning_too_far_ahead_or_before_the_start_is_refused(app, region):
    overleg = make_overleg(region)
    for year in (2025, 2029):
        with pytest.raises(OperationError, match="Plan een jaar"):
            ops.plan_year(overleg, year, actor_for(region.chair), TODAY)


def test_only_a_chair_or_the_secretary_plans_on_screen(app, region):
    overleg = make_overleg(region)
    worker = client_for(app, region.youth_worker)
    url = f"/overleggen/{overleg.id}/jaarplanning"
    assert post_form(worker, url, {"year": "2026"}, token_from=f"/overleggen/{overleg.id}").status_code == 403
    secretary = client_for(app, region.secretary)
    response = post_form(secretary, url, {"year": "2026"}, token_from=f"/overleggen/{overleg.id}",
                         follow_redirects=True)
    assert "overleggen gepland" in html(response) and "Koningsdag" not in html(response)
    assert count(Meeting) > 20


# --- who sees which overleg and which sections ----------------------------------------------------

def test_an_overleg_exists_only_for_its_parties_and_runners(app, region):
    overleg = make_overleg(region)
    ops.plan_year(overleg, 2026, actor_for(region.chair), TODAY)
    db.session.commit()
    meeting = db.session.scalar(select(Meeting).order_by(Meeting.date).limit(1))
    outsider = client_for(app, region.outsider)
    assert "Hét Overleg Test" not in html(outsider.get("/overleggen"))
    for url in (f"/overleggen/{overleg.id}", f"/vergaderingen/{meeting.id}", f"/overleggen/{uuid.uuid4()}",
                "/overleggen/niet-een-id", f"/vergaderingen/{uuid.uuid4()}"):
        assert outsider.get(url).status_code == 404, url
    teacher = client_for(app, region.teacher)
    assert "Hét Overleg Test" in html(teacher.get("/overleggen"))


def test_a_participant_sees_only_the_sections_they_attend(app, region):
    overleg = make_overleg(region)
    ops.plan_year(overleg, 2026, actor_for(region.chair), TODAY)
    db.session.commit()
    meeting = db.session.scalar(select(Meeting).order_by(Meeting.date).limit(1))
    teacher_page = html(client_for(app, region.teacher).get(f"/vergaderingen/{meeting.id}"))
    assert "Preventief" in teacher_page and "Strafrecht onder 18" not in teacher_page
    assert "Paula Politie" not in teacher_page  # police sits only at the other section
    chair_page = html(client_for(app, region.chair).get(f"/vergaderingen/{meeting.id}"))
    assert "Preventief" in chair_page and "Strafrecht onder 18" in chair_page


# --- attendance and guests ------------------------------------------------------------------------

def planned_meeting(region: Region) -> tuple[Overleg, Meeting]:
    overleg = make_overleg(region)
    ops.plan_year(overleg, 2026, actor_for(region.chair), TODAY)
    db.session.commit()
    return overleg, db.session.scalar(select(Meeting).order_by(Meeting.date).limit(1))


def test_the_chair_records_attendance_per_section(app, region):
    overleg, meeting = planned_meeting(region)
    crime = overleg.sections[1]
    client = client_for(app, region.chair)
    url = f"/vergaderingen/{meeting.id}"
    response = post_form(client, f"{url}/aanwezigheid", {
        "section": str(crime.id), "user": str(region.officer.id), "status": "afgemeld"}, token_from=url)
    assert response.status_code == 302
    row = db.session.get(Attendance, (meeting.id, crime.id, region.officer.id))
    assert row.status == "afgemeld"
    post_form(client, f"{url}/aanwezigheid", {
        "section": str(crime.id), "user": str(region.officer.id), "status": "aanwezig"}, token_from=url)
    db.session.expire_all()
    assert db.session.get(Attendance, (meeting.id, crime.id, region.officer.id)).status == "aanwezig"
    assert count(Attendance) == 1


def test_attendance_is_refused_for_the_wrong_person_section_or_state(app, region):
    overleg, meeting = planned_meeting(region)
    prevention, crime = overleg.sections
    actor = actor_for(region.chair)
    with pytest.raises(OperationError, match="neemt niet deel"):
        ops.record_attendance(meeting, prevention, region.officer, "aanwezig", region.chair, actor)
    with pytest.raises(OperationError, match="voorzitter of secretaris"):
        ops.record_attendance(meeting, crime, region.officer, "aanwezig", region.youth_worker, actor)
    with pytest.raises(OperationError, match="Kies aanwezig"):
        ops.record_attendance(meeting, crime, region.officer, "misschien", region.chair, actor)
    meeting.status = "gesloten"
    with pytest.raises(OperationError, match="gesloten"):
        ops.record_attendance(meeting, crime, region.officer, "aanwezig", region.chair, actor)
    db.session.rollback()
    assert count(Attendance) == 0


def test_a_guest_needs_a_signed_confidentiality_statement(app, region):
    overleg, meeting = planned_meeting(region)
    client = client_for(app, region.secretary)
    url = f"/vergaderingen/{meeting.id}"
    data = {"guest_section": str(overleg.sections[0].id), "guest_name": "Stagiair Sam",
            "guest_organisation": "Hogeschool Leiden", "guest_role": "stagiair"}
    response = post_form(client, f"{url}/gasten", data, token_from=url)
    assert response.status_code == 422 and "geheimhoudingsverklaring" in html(response)
    assert count(Guest) == 0
    response = post_form(client, f"{url}/gasten", data | {"statement_signed": "y"}, token_from=url,
                         follow_redirects=True)
    assert "Stagiair Sam, stagiair (Hogeschool Leiden)" in html(response)
    # A participant of the other section does not see this section's guest.
    assert "Stagiair Sam" not in html(client_for(app, region.officer).get(url))


# --- the calendar feed ----------------------------------------------------------------------------

FEED_RE = re.compile(r'id="feed-address"[^>]*value="http://[^/]+(/agenda/[^"]+\.ics)"')


def test_a_personal_calendar_feed_lists_the_users_meetings_in_utc(app, region):
    planned_meeting(region)
    client = client_for(app, region.teacher)
    page = html(post_form(client, "/overleggen/agenda-abonnement", {}))
    address = FEED_RE.search(page).group(1)
    feed = app.test_client().get(address)  # calendar apps do not log in
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    body = feed.get_data(as_text=True)
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20260106T123000Z" in body  # 13:30 in Amsterdam in winter (UTC+1)
    july = next(m for m in db.session.scalars(select(Meeting)) if m.date.month == 7)
    assert f"DTSTART:{july.date:%Y%m%d}T113000Z" in body  # summer time (UTC+2)
    assert body.count("BEGIN:VEVENT") == count(Meeting) and "SUMMARY:Hét Overleg Test" in body
    assert "LOCATION:Veiligheidshuis\\, zaal 2" in body


def test_a_new_feed_address_ends_the_old_one(app, region):
    planned_meeting(region)
    client = client_for(app, region.teacher)
    first = FEED_RE.search(html(post_form(client, "/overleggen/agenda-abonnement", {}))).group(1)
    second = FEED_RE.search(html(post_form(client, "/overleggen/agenda-abonnement", {}))).group(1)
    anonymous = app.test_client()
    assert anonymous.get(first).status_code == 404 and anonymous.get(second).status_code == 200
    assert anonymous.get("/agenda/raden.ics").status_code == 404
    region.teacher.active = False
    db.session.commit()
    assert anonymous.get(second).status_code == 404


def test_the_feed_holds_only_the_users_overleggen(app, region):
    planned_meeting(region)
    client = client_for(app, region.outsider)
    address = FEED_RE.search(html(post_form(client, "/overleggen/agenda-abonnement", {}))).group(1)
    assert "BEGIN:VEVENT" not in app.test_client().get(address).get_data(as_text=True)


def test_ical_lines_are_folded_at_75_octets_without_splitting_characters():
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    parts = folded.split("\r\n ")
    assert all(len(p.encode()) <= 75 for p in parts) and "".join(parts) == line
    assert calendar([], "x;y,z", datetime(2026, 11, 23, 12, 0, tzinfo=UTC)).count("X-WR-CALNAME:x\\;y\\,z") == 1
