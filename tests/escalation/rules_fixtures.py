"""Helpers of the stagnation-rule tests: meetings and agenda items written as rows (the
scan reads them; how they are made is the meetings package's business and tested there),
and scans at a given day."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select

from escalation.models import Escalation, StagnationRule
from escalation.scan import ScanResult, run_scan
from meetings.models import AgendaItem, Attendance, Meeting
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import User
from netwerk.models.plans import PlanAction
from netwerk.operations import plans as plan_ops
from tests.escalation.conftest import World, at


def meeting(w: World, day: date, status: str = "gepland") -> Meeting:
    row = Meeting(overleg_id=w.overleg.id, date=day, start_time=time(13, 30), duration_minutes=180,
                  place="Veiligheidshuis", status=status)
    db.session.add(row)
    db.session.flush()
    return row


def on_agenda(w: World, m: Meeting, inform_state: str = "verstuurd", added: date | None = None) -> AgendaItem:
    item = AgendaItem(meeting_id=m.id, section_id=w.overleg.sections[0].id, family_id=w.family.id, position=0,
                      reasons=["nieuw_signaal"], inform_state=inform_state)
    if added is not None:
        item.added_at = at(added)
    db.session.add(item)
    db.session.flush()
    return item


def attend(m: Meeting, section_id, user: User, status: str, by: User) -> None:
    db.session.add(Attendance(meeting_id=m.id, section_id=section_id, user_id=user.id, status=status,
                              recorded_by_user_id=by.id))


def scan_on(day: date) -> ScanResult:
    return run_scan(at(day))


def proposals(w: World, code: str) -> list[Escalation]:
    return list(db.session.scalars(select(Escalation).where(Escalation.household_id == w.family.id,
                                                            Escalation.rule_code == code)))


def fires_from(w: World, code: str, day: date, also: tuple[str, ...] = ()) -> Escalation:
    """The rule (and the ``also`` rules) do not fire on the day before ``day``, and do on ``day``."""
    scan_on(day - timedelta(days=1))
    for c in (code, *also):
        assert proposals(w, c) == [], f"{c} fired a day early"
    scan_on(day)
    for c in (code, *also):
        assert len(proposals(w, c)) == 1, f"{c} did not fire on {day}"
    return proposals(w, code)[0]


def set_rule(w: World, code: str, *, enabled: bool = True, **params: int) -> None:
    rule = db.session.scalar(select(StagnationRule).where(StagnationRule.overleg_id == w.overleg.id,
                                                          StagnationRule.code == code))
    rule.enabled = enabled
    if params:
        rule.params = dict(rule.params) | params
    db.session.commit()


def push(w: World, action: PlanAction, due: date, today: date) -> None:
    plan_ops.update_action(action, status=action.status, progress=None, failure_reason=None, due=due,
                           expected_version=action.version, actor=actor_for(w.officer), today=today)
    db.session.commit()
