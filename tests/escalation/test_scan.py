"""The scan: it proposes once (a second scan adds nothing), a disabled rule stays quiet,
explanations carry numbers and no content, a second run while one holds the lock does
nothing, the daily job scans a day once, and the CLI runs it on demand."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select, text

from escalation import operations as ops
from escalation import scan as scan_mod
from escalation.models import Escalation, EscalationStep, ScanAction
from escalation.operations import proposals as bulk
from escalation.rules import Firing
from netwerk.db import db
from netwerk.jobqueue import PERIODIC, run_job
from netwerk.models import Notification, OutboxMail, Person
from privacy.audit import blind
from privacy.models import AuditEntry
from tests.escalation.conftest import TODAY, World, at
from tests.escalation.rules_fixtures import meeting, on_agenda, proposals, scan_on, set_rule
from tests.escalation.test_views import client_for
from tests.helpers import html
from tests.netwerk.test_plans import DONE_WHEN, GOAL, WHAT, family_with


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_proposes_once_respects_a_disabled_rule_and_explains_without_content(world: World) -> None:
    w = world
    on_agenda(w, meeting(w, TODAY + timedelta(days=1)))
    db.session.commit()
    late = w.action.due + timedelta(days=15)
    set_rule(w, "action_overdue", enabled=False)
    first = scan_on(late)
    assert proposals(w, "action_overdue") == [] and "action_overdue" not in first.per_rule
    assert first.proposed >= 1  # other rules did fire (the match of the family's two partners)
    set_rule(w, "action_overdue", enabled=True)
    second = scan_on(late)
    assert second.proposed == 1 and proposals(w, "action_overdue")[0].status == "voorgesteld"
    escalations, steps = _count(Escalation), _count(EscalationStep)
    third = scan_on(late)
    assert third.proposed == third.firings == 0 and third.already_open == _count(Escalation) > 0
    assert (_count(Escalation), _count(EscalationStep)) == (escalations, steps)
    names = [p.first_name for p in db.session.scalars(select(Person))] + [w.family.pseudonym, w.officer.name]
    for esc in db.session.scalars(select(Escalation)):
        assert esc.explanation and esc.source == "regel" and esc.ask is None
        for content in (WHAT, DONE_WHEN, GOAL, *names, "Noor", "huisarts", "slapen"):
            assert content not in esc.explanation, (content, esc.explanation)


def test_a_second_run_does_nothing_while_the_lock_is_held(world: World, backend) -> None:
    w = world
    on_agenda(w, meeting(w, TODAY + timedelta(days=1)))
    day = at(w.action.due + timedelta(days=15))
    db.session.commit()  # SQLite: every transaction takes the write lock; the claim needs it
    if backend.name == "postgresql":
        holder = db.engine.connect()
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": scan_mod.LOCK_KEY})
        assert scan_mod.run_daily_scan(day.isoformat()) == "busy"
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": scan_mod.LOCK_KEY})
        holder.close()
    else:
        assert scan_mod._claim("crashed-run", day)  # a run that died holding its claim
        assert scan_mod.run_daily_scan(day.isoformat()) == "busy"
        day += scan_mod.CLAIM_FOR + timedelta(minutes=1)  # its claim expires
    assert _count(ScanAction) == 0 and _count(Escalation) == 0  # the busy run did nothing at all
    assert ("escalation.jobs.run_daily_scan", timedelta(days=1)) in PERIODIC
    assert run_job("escalation.jobs.run_daily_scan", day.isoformat()) == "ok"
    made = _count(Escalation)
    assert made >= 1 and _count(ScanAction) == 1
    assert scan_mod.run_daily_scan(day.isoformat()) == "done"  # the day was scanned
    runner = backend.app.test_cli_runner()
    out = runner.invoke(args=["escalation", "scan", "--date", (day + timedelta(days=1)).date().isoformat()])
    assert out.exit_code == 0 and "0 nieuwe voorstellen" in out.output, out.output
    bad = runner.invoke(args=["escalation", "scan", "--date", "gisteren"])
    assert bad.exit_code == 2 and "JJJJ-MM-DD" in bad.output
    assert _count(Escalation) == made


def test_proposals_are_made_in_bulk_each_audited_and_the_raisers_told_once_per_run(app, world: World) -> None:
    w = world
    on_agenda(w, meeting(w, TODAY + timedelta(days=1)))
    db.session.commit()
    late = w.action.due + timedelta(days=15)
    set_rule(w, "action_overdue", enabled=False)
    first = scan_on(late)
    made = list(db.session.scalars(select(Escalation)))
    assert first.proposed == len(made) >= 1
    for esc in made:  # each proposal has its own step and its own audit entry, naming the family
        assert [s.kind for s in esc.steps] == ["voorgesteld"]
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == str(esc.id))).all()
        assert [e.action for e in entries] == ["escalation.proposed"]
        assert blind("family", w.family.id) in entries[0].subject_ids
    link = ops.board_link(w.overleg.id)
    notices = db.session.scalars(select(Notification).where(Notification.kind == "escalation_proposals")).all()
    assert sorted(n.user_id for n in notices) == sorted([w.chair.id, w.coordinator.id])
    assert {n.link for n in notices} == {link}
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "escalation_proposals")).all()
    assert sorted(m.recipient for m in mails) == sorted([w.chair.email, w.coordinator.email])
    assert all(link in m.body and w.family.pseudonym not in m.body for m in mails)
    board = html(client_for(app, w.chair).get(link))  # the link shows the overleg's proposals
    assert w.family.pseudonym in board and "Voorgesteld" in board
    # A second run on the same day that proposes more: a new notice, no second mail.
    set_rule(w, "action_overdue", enabled=True)
    again = scan_mod.scan(at(late), None)
    db.session.commit()
    assert again.proposed == 1
    assert _count(Notification) == len(notices) + 2 and _count(OutboxMail) == len(mails) + _other_mails(mails)


def _other_mails(mails: list) -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMail).where(
        OutboxMail.kind != "escalation_proposals")) or 0


def test_a_firing_naming_another_familys_action_is_refused_and_writes_nothing(world: World) -> None:
    w = world
    other = family_with(w.cjg)
    before = (_count(Escalation), _count(AuditEntry), _count(Notification))
    firings = [Firing("action_overdue", other.id, "Een actie is te laat.", (str(w.action.id),)),
               Firing("action_overdue", uuid.uuid4(), "Een actie is te laat."),
               Firing("geen_regel", w.family.id, "Onbekend.")]
    assert ops.propose_found(w.overleg, firings, at(TODAY)) == (0, 3)
    assert (_count(Escalation), _count(AuditEntry), _count(Notification)) == before


def test_a_proposal_made_meanwhile_makes_the_batch_fall_back_to_one_by_one(world: World, monkeypatch) -> None:
    """The open-proposal check and the insert are not one step: a proposal made in
    between (by hand, by another run) hits the unique index. The batch then goes one by
    one, which leaves the existing proposal alone and still proposes the rest."""
    w = world
    other = family_with(w.cjg)
    existing = w.propose(now=at(TODAY))  # open, for (family, action_overdue)
    monkeypatch.setattr(bulk, "_without_open", lambda _overleg, firings: firings)  # as if it were made later
    firings = [Firing("action_overdue", w.family.id, "Een actie is te laat.", (str(w.action.id),)),
               Firing("action_overdue", other.id, "Een actie is te laat.")]
    assert ops.propose_found(w.overleg, firings, at(TODAY)) == (1, 0)
    db.session.commit()
    assert sorted(str(e.household_id) for e in db.session.scalars(select(Escalation))) == sorted(
        [str(w.family.id), str(other.id)])
    assert db.session.get(Escalation, existing.id).status == "voorgesteld"
