"""The involvement registry: registrations hold no content, a second organisation on the
same person is a client match, on a sibling a family match (not under a safety flag),
both contacts are told with a link only, and registrations expire on schedule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from netwerk import jobqueue
from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import Involvement, Match, Notification, OutboxMail
from privacy.models import AuditEntry
from tests.factories import SYSTEM, make_org, make_user

TODAY = date.today()


def person(first="Noor", born=date(2012, 3, 4), **extra):
    found = ops.register_person(ops.PersonData(first, "Jansen", born, **extra), SYSTEM, TODAY, confirmed_new=True)
    db.session.commit()
    return found


def involve(who, org, email=None, start=TODAY - timedelta(days=3), **extra):
    data = ops.InvolvementData(organisation_id=org.id, contact_name=f"Contact {org.name}",
                               contact_email=email or f"contact@{org.id.hex[:8]}.example.test",
                               start_date=start, **extra)
    involvement = ops.register_involvement(who, data, SYSTEM, TODAY)
    db.session.commit()
    return involvement


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_registration_has_no_place_for_a_reason():
    assert not {"reason", "reden", "notes", "toelichting", "description"} & set(Involvement.__table__.columns.keys())


def test_second_organisation_on_the_same_person_is_a_client_match(app):
    noor = person()
    police, cjg = make_org(org_type="politie", domain="veiligheid"), make_org(org_type="cjg")
    colleague = make_user("deelnemer", org=cjg, email="wijkcoach@example.test")
    first = involve(noor, police)
    assert count(Match) == 0
    second = involve(noor, cjg, email="wijkcoach@example.test")
    match = db.session.scalar(select(Match))
    assert (match.kind, match.first_id, match.second_id) == ("client", first.id, second.id)
    assert match.respond_by == TODAY + timedelta(days=app.config["MATCH_RESPONSE_DAYS"])
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "involvement_match")).all()
    assert sorted(m.recipient for m in mails) == sorted([first.contact_email, "wijkcoach@example.test"])
    for mail in mails:
        assert f"/matches/{match.id}" in mail.body
        assert "Noor" not in mail.body and "Jansen" not in mail.body and noor.pseudonym not in mail.body
    notice = db.session.scalar(select(Notification))
    assert (notice.user_id, notice.link) == (colleague.id, f"/matches/{match.id}")
    queued = set(jobqueue.get_queue().get_job_ids())
    assert {f"mail-{m.id}" for m in mails} <= queued  # both mails leave through the job queue


def test_a_sibling_with_a_shared_parent_is_a_family_match(app):
    mother, noor, sem = person("Sara", date(1985, 1, 1)), person(), person("Sem", date(2014, 6, 1))
    ops.compose_family([(mother, "ouder"), (noor, "kind"), (sem, "kind")], SYSTEM)
    db.session.commit()
    involve(noor, make_org(org_type="leerplicht", domain="onderwijs"))
    involve(sem, make_org(org_type="jongerenwerk"))
    assert db.session.scalar(select(Match.kind)) == "gezin"


def test_a_safety_flag_stops_family_matching(app):
    mother, noor = person("Sara", date(1985, 1, 1)), person(safety_flag=True)
    sem = person("Sem", date(2014, 6, 1))
    ops.compose_family([(mother, "ouder"), (noor, "kind"), (sem, "kind")], SYSTEM)
    db.session.commit()
    involve(noor, make_org(org_type="leerplicht", domain="onderwijs"))
    involve(sem, make_org(org_type="jongerenwerk"))
    assert count(Match) == 0


def test_siblings_without_a_parent_in_the_household_do_not_match(app):
    noor, sem = person(), person("Sem", date(2014, 6, 1))
    ops.compose_family([(noor, "kind"), (sem, "broer_zus")], SYSTEM)
    db.session.commit()
    involve(noor, make_org())
    involve(sem, make_org())
    assert count(Match) == 0


@pytest.mark.parametrize(("change", "message"), [
    ({"start": TODAY + timedelta(days=1)}, "toekomst"),
    ({"end_date": TODAY - timedelta(days=10)}, "vóór de startdatum"),
])
def test_bad_registrations_are_refused_and_write_nothing(app, change, message):
    noor, org = person(), make_org()
    audit_before = count(AuditEntry)
    with pytest.raises(ops.OperationError, match=message):
        involve(noor, org, **change)
    db.session.rollback()
    assert (count(Involvement), count(AuditEntry)) == (0, audit_before)


def test_one_active_registration_per_organisation_and_person(app):
    noor, org = person(), make_org()
    involve(noor, org)
    with pytest.raises(ops.OperationError, match="al als betrokken"):
        involve(noor, org)


def test_expiry_is_two_years_or_the_23rd_birthday_whichever_comes_first(app):
    young, older = person(born=date(TODAY.year - 12, 5, 1)), person("Bo", born=date(TODAY.year - 22, 1, 1))
    two_years = TODAY.replace(year=TODAY.year + 2, day=28 if (TODAY.month, TODAY.day) == (2, 29) else TODAY.day)
    assert involve(young, make_org()).expires_on == two_years
    assert involve(older, make_org()).expires_on == date(TODAY.year + 1, 1, 1)


def test_the_expiry_job_ends_due_registrations_once(app):
    noor = person()
    ended = involve(noor, make_org(), end_date=TODAY - timedelta(days=1), start=TODAY - timedelta(days=5))
    running = involve(noor, make_org())
    later = TODAY + timedelta(days=800)
    assert ops.expire_involvements(TODAY, SYSTEM) == 1
    assert ops.expire_involvements(TODAY, SYSTEM) == 0  # idempotent
    assert ops.expire_involvements(later, SYSTEM) == 1
    db.session.commit()
    db.session.expire_all()
    assert (db.session.get(Involvement, ended.id).status, db.session.get(Involvement, running.id).status) == (
        "beeindigd", "verlopen")


def test_the_daily_job_is_queued_once_per_day_however_often_it_ticks(app):
    now = 1_900_000_000.0
    assert jobqueue.enqueue_periodic(now) == ["netwerk.jobs.expire_involvements"]
    assert jobqueue.enqueue_periodic(now + 60) == []
    assert jobqueue.enqueue_periodic(now + 86_400) == ["netwerk.jobs.expire_involvements"]
    assert jobqueue.drain(app) == 2


def test_a_death_recorded_after_registration_ends_the_registration(app):
    noor = person()
    running = involve(noor, make_org())
    noor.date_of_death = TODAY - timedelta(days=1)  # recorded later than the registration
    db.session.commit()
    assert ops.expire_involvements(TODAY, SYSTEM) == 1
    db.session.commit()
    assert db.session.get(Involvement, running.id).status == "verlopen"


def test_an_organisation_already_matched_on_the_person_gets_no_second_family_match(app):
    mother, noor, sem = person("Sara", date(1985, 1, 1)), person(), person("Sem", date(2014, 6, 1))
    ops.compose_family([(mother, "ouder"), (noor, "kind"), (sem, "kind")], SYSTEM)
    db.session.commit()
    school = make_org(org_type="leerplicht", domain="onderwijs")
    involve(noor, school)
    involve(sem, school)  # the same organisation on both children: no match with itself
    involve(noor, make_org(org_type="jongerenwerk"))  # a second organisation on Noor
    assert db.session.scalars(select(Match.kind)).all() == ["client"]  # not also a family match
