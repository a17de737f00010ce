"""The scan: it proposes once (a second scan adds nothing), a disabled rule stays quiet,
explanations carry numbers and no content, a second run while one holds the lock does
nothing, the daily job scans a day once, and the CLI runs it on demand."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from escalation import scan as scan_mod
from escalation.models import Escalation, EscalationStep, ScanAction
from netwerk.db import db
from netwerk.jobqueue import PERIODIC, run_job
from netwerk.models import Person
from tests.escalation.conftest import TODAY, World, at
from tests.escalation.rules_fixtures import meeting, on_agenda, proposals, scan_on, set_rule
from tests.netwerk.test_plans import DONE_WHEN, GOAL, WHAT


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
