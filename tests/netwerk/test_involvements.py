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
from privacy.models import AuditEntry, CovenantVersion
from privacy.operations import CovenantError, CovenantSpec, create_covenant_version
from tests.factories import CATEGORIES, PURPOSES, SYSTEM, make_org, make_user

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
    daily = [path for path, _ in jobqueue.PERIODIC]  # the expiry job and the action reminders
    assert "netwerk.jobs.expire_involvements" in daily
    assert jobqueue.enqueue_periodic(now) == daily
    assert jobqueue.enqueue_periodic(now + 60) == []
    assert jobqueue.enqueue_periodic(now + 86_400) == daily
    assert jobqueue.drain(app) == 2 * len(daily)


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


# --- limits set by the covenant in force on the registration day ------------------------------

REGISTERED = date(2026, 3, 10)


def covenant_with_limits(max_years=None, age_limit=None, version="limits", valid_from=date(2026, 1, 1),
                         valid_until=None):
    spec = CovenantSpec(version=version, title="Convenant", valid_from=valid_from, valid_until=valid_until,
                        purposes=PURPOSES, categories=CATEGORIES, involvement_max_years=max_years,
                        involvement_age_limit=age_limit)
    covenant = create_covenant_version(spec, SYSTEM)
    db.session.commit()
    return covenant


def register_on(who, day, org=None):
    org = org or make_org()
    data = ops.InvolvementData(organisation_id=org.id, contact_name=f"Contact {org.name}",
                               contact_email=f"contact@{org.id.hex[:8]}.example.test", start_date=day)
    involvement = ops.register_involvement(who, data, SYSTEM, day)
    db.session.commit()
    return involvement


@pytest.mark.parametrize(("max_years", "age_limit", "young_expires", "older_expires"), [
    # shorter than the configuration's 2 years and 23rd birthday
    (1, 18, date(2027, 3, 10), date(2026, 9, 1)),
    # longer: the covenant's limits replace the configuration's, they are not a ceiling below it
    (5, 27, date(2031, 3, 10), date(2031, 3, 10)),
])
def test_the_covenants_involvement_limits_apply(app, max_years, age_limit, young_expires, older_expires):
    covenant_with_limits(max_years, age_limit)
    young, older = person(born=date(2014, 5, 1)), person("Bo", born=date(2008, 9, 1))
    assert register_on(young, REGISTERED).expires_on == young_expires
    assert register_on(older, REGISTERED).expires_on == older_expires


def test_the_covenants_age_limit_allows_what_the_configurations_refuses(app):
    adult = person("Sam", born=date(2002, 1, 1))  # 24 on the registration day: past the 23rd birthday
    with pytest.raises(ops.OperationError, match="leeftijdsgrens"):
        register_on(adult, REGISTERED)
    db.session.rollback()
    covenant_with_limits(5, 27)
    assert register_on(adult, REGISTERED).expires_on == date(2029, 1, 1)  # the 27th birthday


@pytest.mark.parametrize(("max_years", "age_limit", "young_expires", "older_expires"), [
    (None, None, date(2029, 3, 10), date(2026, 12, 1)),  # both from the configuration
    (1, None, date(2027, 3, 10), date(2026, 12, 1)),  # the age limit from the configuration (23)
    (None, 18, date(2029, 3, 10), date(2026, 9, 1)),  # the years from the configuration (3 here)
])
def test_the_configuration_applies_where_the_covenant_sets_no_limit(app, monkeypatch, max_years, age_limit,
                                                                    young_expires, older_expires):
    monkeypatch.setitem(app.config, "INVOLVEMENT_MAX_YEARS", 3)  # read from the configuration, not fixed
    covenant_with_limits(max_years, age_limit)
    young = person(born=date(2014, 5, 1))
    older = person("Bo", born=date(2003, 12, 1) if age_limit is None else date(2008, 9, 1))
    assert register_on(young, REGISTERED).expires_on == young_expires
    assert register_on(older, REGISTERED).expires_on == older_expires


def test_the_covenant_in_force_on_the_registration_day_sets_the_limit(app):
    covenant_with_limits(1, version="2026-1", valid_until=date(2026, 6, 30))
    covenant_with_limits(4, version="2026-2", valid_from=date(2026, 7, 1))
    noor = person()
    before_any = register_on(noor, date(2025, 12, 1))  # no covenant yet: the configuration's 2 years
    under_first = register_on(noor, REGISTERED)
    under_second = register_on(noor, date(2026, 8, 1))
    assert [i.expires_on for i in (before_any, under_first, under_second)] == [
        date(2027, 12, 1), date(2027, 3, 10), date(2030, 8, 1)]


@pytest.mark.parametrize(("limits", "message"), [
    ({"max_years": 0}, "1 tot 10 jaar"),
    ({"max_years": 11}, "1 tot 10 jaar"),
    ({"age_limit": 11}, "tussen 12 en 30 jaar"),
    ({"age_limit": 31}, "tussen 12 en 30 jaar"),
])
def test_involvement_limits_out_of_range_are_refused_and_write_nothing(app, limits, message):
    before = (count(CovenantVersion), count(AuditEntry))
    with pytest.raises(CovenantError, match=message):
        covenant_with_limits(**limits)
    db.session.rollback()
    assert (count(CovenantVersion), count(AuditEntry)) == before


@pytest.mark.parametrize("limits", [{"max_years": 1, "age_limit": 12}, {"max_years": 10, "age_limit": 30}])
def test_involvement_limits_on_the_bounds_are_accepted(app, limits):
    covenant = covenant_with_limits(**limits)
    assert (covenant.involvement_max_years, covenant.involvement_age_limit) == (
        limits["max_years"], limits["age_limit"])


def test_the_expiry_job_ends_an_involvement_at_the_covenants_shorter_limit(app):
    noor, bo = person(born=date(2014, 5, 1)), person("Bo", born=date(2008, 9, 1))
    under_config = register_on(noor, date(2025, 12, 1))  # before the covenant: expires 2027-12-01
    covenant_with_limits(1, 18)
    one_year = register_on(noor, REGISTERED)  # expires 2027-03-10 instead of 2028-03-10
    eighteen = register_on(bo, REGISTERED)  # expires on Bo's 18th birthday instead of the 23rd

    def status(involvement):
        db.session.expire_all()
        return db.session.get(Involvement, involvement.id).status

    assert ops.expire_involvements(date(2026, 8, 31), SYSTEM) == 0
    assert ops.expire_involvements(date(2026, 9, 1), SYSTEM) == 1
    db.session.commit()
    assert [status(i) for i in (under_config, one_year, eighteen)] == ["actief", "actief", "verlopen"]
    assert ops.expire_involvements(date(2027, 3, 9), SYSTEM) == 0
    assert ops.expire_involvements(date(2027, 3, 10), SYSTEM) == 1
    db.session.commit()
    assert [status(i) for i in (under_config, one_year, eighteen)] == ["actief", "verlopen", "verlopen"]
    assert ops.expire_involvements(date(2027, 12, 1), SYSTEM) == 1  # the configuration's two years
    db.session.commit()
    expired = db.session.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "involvement.expired")
                                 .order_by(AuditEntry.seq)).all()
    assert expired == [str(eighteen.id), str(one_year.id), str(under_config.id)]
