"""Retention (issue 7 item 4): periods from the covenant, a dry run that changes nothing, an
approved run that removes exactly what expired (a day earlier nothing), keeps anonymised
statistics and writes a proof entry with hashed ids, leaves other families alone and the
audit chain verifiable. Time travel by passing ``today``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from escalation.models import Escalation
from meetings.models import AgendaItem, Decision, Letter, Meeting, MeetingEvent, Overleg, Section
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Family, FamilyMember, Involvement, Note, Organisation, Person, User
from netwerk.models.plans import Plan, PlanGoal, PlanHistory
from netwerk.operations.families import PersonData, compose_family, register_person
from netwerk.operations.involvements import InvolvementData, end_involvement, register_involvement
from netwerk.operations.notes import add_note
from netwerk.operations.plans import add_goal, close_plan, start_plan
from privacy.audit import blind, verify_chain
from privacy.jobs import retention_dry_run
from privacy.models import AuditEntry, CovenantVersion, RetentionAnchor, RetentionRun, RetentionStatistic
from privacy.operations import (
    CovenantError,
    CovenantSpec,
    PartySpec,
    RetentionSpec,
    VersionHeader,
    create_changed_version,
    create_covenant_version,
    spec_from_version,
)
from privacy.register import build_register
from privacy.retention import Period, RetentionError, add_months, execute_run, period_for, propose, sweep
from tests.conftest import post_form
from tests.factories import CATEGORIES, PURPOSES, SYSTEM, make_org, make_user
from tests.helpers import html, logged_in
from tests.privacy.test_covenant_ui import submit

START = date(2024, 1, 10)  # the family's story happens in early 2024
ENDED = date(2024, 3, 1)  # the last involvement of family A ends
NOTE_TEXT = "Zorgen over de nachtrust van het kind"
PERIODS = [
    RetentionSpec("betrokkenheid", 12, grounds="een jaar na het einde"),
    RetentionSpec("notitie", 24, grounds="twee jaar"),
    RetentionSpec("notitie", 12, category="gezondheid", grounds="bijzonder gegeven"),
    RetentionSpec("plan", 24),
    RetentionSpec("agendapunt", 24),
    RetentionSpec("persoon", 24),
]


def test_period_lookup_and_month_arithmetic():
    periods = [Period("notitie", "*", "*", 24), Period("notitie", "gezondheid", "*", 12),
               Period("agendapunt", "*", "strafrechtelijke_aanpak", 36)]
    assert period_for(periods, "notitie", category="gezondheid").months == 12
    assert period_for(periods, "notitie", category="zorgen").months == 24
    assert period_for(periods, "agendapunt", purpose="signalering") is None  # no period: never removed
    assert period_for(periods, "plan") is None
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 3, 31), 11) == date(2024, 2, 29)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2024, 11, 15), 14) == date(2026, 1, 15)


@dataclass
class World:
    cjg: Organisation
    police: Organisation
    worker: User  # CJG, coordinator of family A's plan
    officer: User  # police, involved with family B
    child: Person  # family A: involved until ENDED
    parent: Person  # family A: never involved
    family: Family
    plan: Plan
    item: AgendaItem
    meeting: Meeting
    other_child: Person  # family B: still involved
    other_family: Family
    other_item: AgendaItem  # family B on the same (old) meeting


def _person(first: str, born: date, on: date) -> Person:
    return register_person(PersonData(first, "Testpersoon", born), SYSTEM, on, confirmed_new=True)


def _involve(person: Person, user: User, on: date) -> Involvement:
    return register_involvement(person, InvolvementData(user.organisation_id, user.name, user.email, on),
                                actor_for(user), on)


def _agenda(meeting: Meeting, section: Section, family: Family, position: int, user: User) -> AgendaItem:
    item = AgendaItem(meeting_id=meeting.id, section_id=section.id, family_id=family.id, position=position,
                      reasons=["nieuw_signaal"])
    db.session.add(item)
    db.session.flush()
    db.session.add_all([Decision(agenda_item_id=item.id, kind="geen_actie", decided_by_user_id=user.id),
                        MeetingEvent(meeting_id=meeting.id, kind="item_started", item_id=item.id)])
    return item


@pytest.fixture
def world(app) -> World:
    cjg, police = make_org("CJG Ret", "cjg"), make_org("Politie Ret", "politie", "veiligheid")
    spec = CovenantSpec(version="ret-1", title="Bewaarconvenant", valid_from=date(2023, 1, 1), valid_until=None,
                        purposes=PURPOSES, categories=CATEGORIES,
                        parties=[PartySpec(o.id, o.org_type, date(2023, 1, 1)) for o in (cjg, police)],
                        retention=PERIODS)
    create_covenant_version(spec, SYSTEM)
    worker, officer = make_user(org=cjg, name="Wim Werker"), make_user(org=police, name="Pia Politie")
    child, parent = _person("Anna", date(2012, 5, 1), START), _person("Bert", date(1980, 2, 2), START)
    family = compose_family([(parent, "ouder"), (child, "kind")], SYSTEM)
    involvement = _involve(child, worker, START)
    add_note(child, worker, "zorgen", NOTE_TEXT, actor_for(worker), date(2024, 2, 1))
    add_note(child, worker, "gezondheid", "Astma", actor_for(worker), date(2024, 2, 1))
    plan = start_plan(family, worker, actor_for(worker), date(2024, 2, 1))
    add_goal(plan, "opvoeding", "Rust in huis", worker, actor_for(worker))
    close_plan(plan, reason="Doelen bereikt", lapse_open=True, actor=actor_for(worker), today=ENDED)
    end_involvement(involvement, actor_for(worker), ENDED)
    other_child = _person("Cas", date(2011, 7, 7), START)
    other_family = compose_family([(other_child, "kind")], SYSTEM)
    _involve(other_child, officer, START)
    add_note(other_child, officer, "zorgen", "Spijbelt", actor_for(officer), date(2024, 2, 1))
    overleg = Overleg(name="Overleg Ret", kind="signaleringsoverleg", every_weeks=2, first_date=date(2024, 1, 2),
                      start_time=time(14), duration_minutes=60, place="Zaal 1", organisation_id=cjg.id)
    db.session.add(overleg)
    db.session.flush()
    section = Section(overleg_id=overleg.id, name="Preventief", purpose="signalering", position=1)
    meeting = Meeting(overleg_id=overleg.id, date=date(2024, 2, 15), start_time=time(14), duration_minutes=60,
                      place="Zaal 1", status="gesloten")
    db.session.add_all([section, meeting])
    db.session.flush()
    item, other_item = _agenda(meeting, section, family, 1, worker), _agenda(meeting, section, other_family, 2, worker)
    db.session.add(Letter(agenda_item_id=item.id, person_id=parent.id))
    db.session.commit()
    return World(cjg, police, worker, officer, child, parent, family, plan, item, meeting, other_child,
                 other_family, other_item)


class Ids:
    def __init__(self, world: World) -> None:
        self.cjg = world.cjg.id
        for name in ("child", "parent", "family", "plan", "item", "meeting", "other_child", "other_family",
                     "other_item"):
            setattr(self, name, getattr(world, name).id)


def _count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _snapshot() -> tuple[int, ...]:
    return tuple(_count(m) for m in (Person, Family, FamilyMember, Involvement, Note, Plan, PlanGoal, PlanHistory,
                                     AgendaItem, Decision, Letter, MeetingEvent, RetentionStatistic))


def test_expiry_day_by_day_removes_exactly_what_the_rules_say(world, app):
    w = Ids(world)  # plain ids: the objects themselves are gone after a run
    # The day before anything expires: the dry run is empty and stores nothing.
    assert sweep(ENDED + timedelta(days=365) - timedelta(days=1)).counts() == {}
    assert propose(date(2025, 2, 28), SYSTEM) is None

    # One year after the end: the health note and the involvement expire; nothing else.
    day1 = date(2025, 3, 1)
    before = _snapshot()
    run = propose(day1, SYSTEM)
    db.session.commit()
    assert run.counts == {"notitie": 1, "betrokkenheid": 1}
    lines = str(run.proposal["lines"])
    assert "(gezondheid)" in lines and "Astma" not in lines and NOTE_TEXT not in lines
    assert _snapshot() == before  # the dry run changed nothing
    assert propose(day1, SYSTEM).id == run.id  # idempotent on the same day
    assert execute_run(run, SYSTEM, day1) == {"notitie": 1, "betrokkenheid": 1}
    db.session.commit()
    assert [n.category for n in db.session.scalars(select(Note).where(Note.person_id == w.child))] == ["zorgen"]
    assert _count(Involvement, Involvement.person_id == w.child) == 0
    assert db.session.get(RetentionAnchor, w.child).last_involvement_end == ENDED
    with pytest.raises(RetentionError, match="al uitgevoerd"):
        execute_run(run, SYSTEM, day1)

    # A day before the two-year mark only the agenda item (meeting + 24 months) has expired.
    assert sweep(date(2026, 2, 28)).counts() == {"agendapunt": 2}

    # Two years after the end: family A's records go; family B (still involved) stays, and its
    # agenda item of the same old meeting goes, by its own rule. An escalation (another
    # package's table, with its own retention) still names household A: the household row is
    # held back, named in the dry run, instead of breaking the escalation's foreign key.
    escalation = Escalation(overleg_id=world.meeting.overleg_id, household_id=w.family, source="handmatig")
    db.session.add(escalation)
    db.session.commit()
    day2 = date(2026, 3, 1)
    run2 = propose(day2, SYSTEM)
    db.session.commit()
    assert run2.counts == {"agendapunt": 2, "plan": 1, "notitie": 1, "persoon": 2, "_held": 1}
    assert [(kind, table) for kind, _, table in run2.proposal["held"]] == [("gezin", "escalation")]
    assert db.session.get(RetentionRun, run.id).proposal == {}  # the ids are gone from the executed run
    removed = execute_run(run2, SYSTEM, day2)
    db.session.commit()
    assert removed == {k: v for k, v in run2.counts.items() if k != "_held"}
    assert db.session.get(Family, w.family) and _count(FamilyMember, FamilyMember.family_id == w.family) == 0
    db.session.delete(db.session.get(Escalation, escalation.id))  # once the escalation is gone, so is the household
    db.session.commit()
    assert sweep(day2).counts() == {"gezin": 1}
    execute_run(propose(day2, SYSTEM), SYSTEM, day2)
    db.session.commit()
    for model, key in ((Person, w.child), (Person, w.parent), (Family, w.family), (Plan, w.plan),
                       (AgendaItem, w.item), (AgendaItem, w.other_item)):
        assert db.session.get(model, key) is None
    assert _count(PlanGoal) == _count(PlanHistory) == _count(Letter) == _count(Decision) == _count(MeetingEvent) == 0
    assert db.session.get(Meeting, w.meeting) is not None  # the meeting itself is no one's data
    assert db.session.get(Person, w.other_child) is not None and db.session.get(Family, w.other_family)
    assert _count(Note, Note.person_id == w.other_child) == 1
    assert _count(Involvement, Involvement.person_id == w.other_child) == 1
    assert sweep(day2).counts() == {}  # nothing left to do: idempotent

    # Statistics: counts per kind, category, purpose, organisation and month, nothing more.
    stats = {(s.kind, s.category, s.purpose, s.organisation_id, s.month): s.removed
             for s in db.session.scalars(select(RetentionStatistic))}
    assert stats[("notitie", "gezondheid", "", w.cjg, date(2024, 2, 1))] == 1
    assert stats[("agendapunt", "", "signalering", w.cjg, date(2024, 2, 1))] == 2
    assert sum(v for k, v in stats.items() if k[0] == "persoon" and k[3] is None) == 2
    assert sum(v for k, v in stats.items() if k[0] == "gezin") == 1

    # The proof: one entry per run, hashed ids, the rules and the covenant version; no content.
    proofs = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.executed")
                                .order_by(AuditEntry.seq)).all()
    assert [p.object_id for p in proofs][:2] == [str(run.id), str(run2.id)] and len(proofs) == 3
    last = proofs[1]
    assert last.covenant_version == "ret-1" and last.meta["removed"] == removed
    assert blind("person", w.child) in last.meta["ids"]["persoon"] and blind("person", w.child) in last.subject_ids
    assert "persoon/*/*:24" in last.meta["rules"] and "plan/*/*:24" in last.meta["rules"]
    assert str(w.child) not in str(last.meta) and NOTE_TEXT not in str(last.meta)
    assert db.session.get(RetentionRun, run2.id).audit_seq == last.seq
    assert blind("family", w.family) in proofs[2].meta["ids"]["gezin"]
    assert verify_chain().ok


def test_covenant_versions_carry_their_periods_and_the_register_shows_them(world, app):
    base = db.session.scalar(select(CovenantVersion).where(CovenantVersion.version == "ret-1"))
    register = build_register(date(2024, 6, 1))
    lines = [(r.kind, r.scope, r.term, r.grounds) for r in register.retention_lines]
    assert ("Notities", "categorie Gezondheid", "12 maanden nadat de laatste betrokkenheid bij de persoon is "
            "geëindigd", "bijzonder gegeven") in lines
    assert "Notities: 12 maanden" in register.retention_of_category("gezondheid")
    assert "Registraties van betrokkenheid: 12 maanden" in register.retention_of_category("betrokkenheid")
    assert register.retention_of_category("wonen") == "Notities: 24 maanden nadat de laatste betrokkenheid bij de " \
        "persoon is geëindigd"

    header = VersionHeader("ret-2", "Bewaarconvenant", date.today(), None)
    bad = [RetentionSpec("betrokkenheid", 12, category="zorgen")]
    entries = _count(AuditEntry)
    with pytest.raises(CovenantError, match="kan niet per categorie"):
        create_changed_version(base, header, SYSTEM, today=date.today(), retention=bad)
    with pytest.raises(CovenantError, match="1 tot en met 1200"):
        create_changed_version(base, header, SYSTEM, today=date.today(), retention=[RetentionSpec("plan", 0)])
    db.session.rollback()
    assert _count(AuditEntry) == entries and _count(CovenantVersion) == 1

    shorter = [*PERIODS[:3], RetentionSpec("plan", 6)]
    new = create_changed_version(base, header, SYSTEM, today=date.today(), retention=shorter)
    assert spec_from_version(new).retention == shorter
    assert spec_from_version(base).retention == PERIODS  # the old version keeps its own
    # another kind of change copies the periods along
    later = create_changed_version(new, VersionHeader("ret-3", "Anders", date.today(), None), SYSTEM,
                                   today=date.today())
    assert spec_from_version(later).retention == shorter


def test_the_officer_reviews_the_dry_run_and_must_confirm(world, app):
    w = Ids(world)
    officer = make_user("privacy", totp=True)
    client = app.test_client()
    logged_in(client, officer)
    page = "/privacy/bewaartermijnen"
    assert post_form(client, page + "/proefrun", {}, token_from=page).status_code == 302
    shown = html(client.get(page))
    assert "Anna" not in shown and NOTE_TEXT not in shown and "Astma" not in shown  # pseudonyms, no content
    assert "A.T. (2012)" in shown and "Goedkeuren en uitvoeren" in shown
    run = db.session.scalar(select(RetentionRun).where(RetentionRun.status == "voorstel"))
    assert retention_dry_run() == run.id  # the daily job finds the same proposal: idempotent
    before = _snapshot()
    refused = post_form(client, f"{page}/proefrun/{run.id}/uitvoeren", {}, token_from=page, follow_redirects=True)
    assert "Vink aan dat u de proefrun hebt bekeken" in html(refused) and _snapshot() == before
    done = post_form(client, f"{page}/proefrun/{run.id}/uitvoeren", {"bevestigd": "ja"}, token_from=page,
                     follow_redirects=True)
    assert "Uitgevoerd:" in html(done)
    db.session.expire_all()
    assert db.session.get(Person, w.child) is None and db.session.get(Person, w.other_child)
    assert client.get(page + "/proefrun/999/uitvoeren").status_code == 405
    # the periods are edited as a new covenant version; a bad row is refused in Dutch
    editor = page + "/nieuwe-versie"
    bad = submit(client, editor, fields={"termijn-1-categorie": "zorgen"})  # row 1: betrokkenheid
    assert bad.status_code == 422 and "kan niet per categorie" in html(bad)
    fields = {"termijn-4-maanden": "36", "termijn-7-soort": "agendapunt", "termijn-7-doel": "strafrechtelijke_aanpak",
              "termijn-7-maanden": "48", "termijn-7-toelichting": "Veiligheidshuis", "termijn-5-maanden": ""}
    assert submit(client, editor, fields=fields).status_code == 302
    new = db.session.scalar(select(CovenantVersion).order_by(CovenantVersion.id.desc()).limit(1))
    periods = {(p.kind, p.category, p.purpose): p.months for p in spec_from_version(new).retention}
    assert periods[("plan", "*", "*")] == 36 and periods[("agendapunt", "*", "strafrechtelijke_aanpak")] == 48
    assert ("agendapunt", "*", "*") not in periods and len(periods) == len(PERIODS)
    # a participant has no business here
    participant = app.test_client()
    logged_in(participant, world.worker)
    assert participant.get(page).status_code == 403 and participant.get("/privacy/verzoeken").status_code == 403
    assert verify_chain().ok
