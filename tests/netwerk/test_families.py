"""Persons and families: encrypted identity, pseudonyms, the BSN elfproef and blind index,
duplicate detection, household composition, and stepped consent feeding the gate."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Family, Person
from netwerk.validators import bsn_valid, pseudonym
from privacy.audit import blind
from privacy.models import AuditEntry, Consent
from privacy.operations import ConsentSpec, withdraw_consent
from privacy.policy import decide
from tests.factories import SYSTEM, allow, make_covenant, make_user

TODAY = date.today()
VALID_BSN = "111222333"  # passes the elfproef


def person(first="Jesse", last="de Boer", born=date(2012, 3, 4), **extra) -> Person:
    found = ops.register_person(ops.PersonData(first, last, born, **extra), SYSTEM, TODAY)
    db.session.commit()
    return found


@pytest.mark.parametrize(("bsn", "valid"), [
    ("111222333", True), ("123456782", True), ("12345678", False), ("012345678", False), ("012345672", True),
    ("123456789", False), ("000000000", False), ("12345678a", False), ("١٢٣٤٥٦٧٨٢", False), ("1234567820", False),
])
def test_elfproef(bsn, valid):
    assert bsn_valid(bsn) is valid


@pytest.mark.parametrize(("first", "last", "expected"), [
    ("Jesse", "de Boer", "J.B. (2009)"), ("anna", "van der Berg", "A.B. (2009)"), ("Ömer", "Yılmaz", "Ö.Y. (2009)"),
])
def test_pseudonym_is_initials_and_birth_year(first, last, expected):
    assert pseudonym(first, last, 2009) == expected


def test_identity_is_encrypted_and_lists_show_the_pseudonym(app):
    p = person(bsn=VALID_BSN, address="Dorpsstraat 1, Katwijk")
    row = db.session.execute(text("SELECT first_name, last_name, birth_date, bsn, address, pseudonym "
                                  "FROM person")).one()
    assert all(value.startswith("nw1:") for value in row[:5])
    assert not any(secret in " ".join(row[:5]) for secret in ("Jesse", "Boer", "2012-03-04", VALID_BSN, "Dorp"))
    assert row.pseudonym == "J.B. (2012)"
    db.session.expire_all()
    again = db.session.get(Person, p.id)
    assert (again.first_name, again.last_name, again.birth_date, again.bsn) == (
        "Jesse", "de Boer", date(2012, 3, 4), VALID_BSN)


def test_a_known_bsn_gives_the_existing_person(app):
    first = person(bsn=VALID_BSN)
    with pytest.raises(ops.DuplicatePerson) as info:
        ops.register_person(ops.PersonData("Anders", "Iemand", date(2001, 1, 1), bsn=VALID_BSN), SYSTEM, TODAY)
    assert [c.id for c in info.value.candidates] == [first.id]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1


def test_the_duplicate_check_decrypts_only_people_born_that_day(app, monkeypatch):
    first = person()
    for day in range(1, 6):  # same birth year, other days: must not be loaded and decrypted
        person(f"Ander{day}", born=date(2012, 1, day))
    loaded = []
    monkeypatch.setattr(Person, "birth_date", property(lambda p: loaded.append(p.id) or date.fromisoformat(
        p.birth_date_iso)))
    with pytest.raises(ops.DuplicatePerson) as info:
        ops.register_person(ops.PersonData("Jesse", "de Boer", date(2012, 3, 4)), SYSTEM, TODAY)
    assert [c.id for c in info.value.candidates] == [first.id]
    assert set(loaded) <= {first.id}


def test_same_name_and_birth_date_without_bsn_asks_for_a_choice(app):
    first = person()
    with pytest.raises(ops.DuplicatePerson) as info:
        ops.register_person(ops.PersonData("jesse", "DE BOER", date(2012, 3, 4)), SYSTEM, TODAY)
    assert [c.id for c in info.value.candidates] == [first.id]
    db.session.rollback()
    other = ops.register_person(ops.PersonData("Jesse", "de Boer", date(2012, 3, 4)), SYSTEM, TODAY,
                                confirmed_new=True)
    db.session.commit()
    assert other.id != first.id


@pytest.mark.parametrize(("change", "message"), [
    ({"bsn": "123456789"}, "elfproef"),
    ({"born": TODAY + timedelta(days=1)}, "toekomst"),
])
def test_bad_person_data_is_refused_and_writes_nothing(app, change, message):
    audit_before = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(ops.OperationError, match=message):
        person(**change)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Person)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audit_before


def test_a_family_is_composed_and_audited_with_blinded_subjects(app):
    mother, child = person("Sara", "Bakker", date(1985, 5, 5)), person()
    family = ops.compose_family([(mother, "ouder"), (child, "kind")], SYSTEM)
    db.session.commit()
    assert family.pseudonym == "Gezin J.B. (2012)"
    assert {m.relation for m in db.session.get(Family, family.id).members} == {"ouder", "kind"}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "family.composed")).one()
    assert ops.subject_of(child) in entry.subject_ids
    assert "Jesse" not in str(entry.meta) and "Bakker" not in str(entry.summary)


@pytest.mark.parametrize(("members", "message"), [
    ("none", "minstens één"), ("twice", "twee keer"), ("bad-relation", "Onbekende relatie"),
])
def test_bad_families_are_refused(app, members, message):
    child = person()
    given = {"none": [], "twice": [(child, "kind"), (child, "kind")], "bad-relation": [(child, "oom")]}[members]
    with pytest.raises(ops.OperationError, match=message):
        ops.compose_family(given, SYSTEM)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Family)) == 0


@pytest.mark.parametrize(("born_years_ago", "given_by", "ok"), [
    (10, "ouder", True), (10, "jongere", False), (13, "ouder_en_jongere", True), (13, "ouder", False),
    (13, "jongere", False), (17, "jongere", True), (17, "ouder_en_jongere", True), (17, "ouder", False),
])
def test_who_gives_consent_depends_on_age(app, born_years_ago, given_by, ok):
    youth = person(born=date(TODAY.year - born_years_ago, 1, 1))
    spec = ConsentSpec("contact", given_by, "mondeling", TODAY)
    if ok:
        ops.record_consent(youth, spec, SYSTEM, TODAY)
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Consent)) == 1
    else:
        with pytest.raises(ops.OperationError, match="instemming"):
            ops.record_consent(youth, spec, SYSTEM, TODAY)


def test_consent_opens_the_gate_and_withdrawal_closes_it_at_once(app):
    viewer = make_user("deelnemer")
    make_covenant(viewer.organisation, rules=[allow(viewer.organisation, consent_step="gezamenlijk_gesprek")])
    youth = person(born=date(TODAY.year - 17, 1, 1))
    subjects = [ops.subject_of(youth), blind("family", "gezin-1")]

    def ask(on=TODAY):
        return decide(actor_for(viewer, "deelnemer"), subjects=subjects, category="zorgen",
                      purpose="signalering", on=on)

    assert ask().reason == "consent_missing"
    ops.record_consent(youth, ConsentSpec("gezamenlijk_gesprek", "jongere", "schriftelijk",
                                          TODAY - timedelta(days=5)), SYSTEM, TODAY)
    assert ask().allowed
    assert ask(on=TODAY - timedelta(days=6)).reason == "consent_missing"  # before it was given
    consent = db.session.scalar(select(Consent))
    withdraw_consent(consent, TODAY, SYSTEM)
    assert ask().reason == "consent_missing"
    assert ask(on=TODAY - timedelta(days=1)).allowed  # history stays as it was


def test_sharing_consent_names_one_organisation(app):
    viewer, other = make_user("deelnemer"), make_user("deelnemer")
    rule_for = [allow(o.organisation, consent_step="delen_met_organisatie") for o in (viewer, other)]
    make_covenant(viewer.organisation, other.organisation, rules=rule_for)
    youth = person(born=date(TODAY.year - 17, 1, 1))
    ops.record_consent(youth, ConsentSpec("delen_met_organisatie", "jongere", "schriftelijk", TODAY,
                                          viewer.organisation_id), SYSTEM, TODAY)

    def ask(user):
        return decide(actor_for(user, "deelnemer"), subjects=[ops.subject_of(youth)], category="zorgen",
                      purpose="signalering")

    assert ask(viewer).allowed
    assert ask(other).reason == "consent_missing"
