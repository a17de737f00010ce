"""The escalation lifecycle (issue 6, part 3): proposed → raised → acknowledged → decided →
resolved, each step audited without content and notified with a link only; every refusal
(wrong role, wrong state, missing reason, stale version) writes nothing; the automatic
level-up when a deadline passes (not before; at level 3 it stays and is flagged), safe to
run twice; and the minimal package an addressee sees."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from escalation import jobs
from escalation import operations as ops
from escalation.models import Escalation, EscalationStep
from escalation.operations import EscalationRefused, StaleEscalation
from escalation.policy import may_act, minimal_package, reading_actor
from netwerk.db import db
from netwerk.jobqueue import PERIODIC, connection
from netwerk.models import Notification, OutboxMail, UserRole
from privacy.models import AuditEntry
from tests.escalation.conftest import World, at
from tests.factories import make_user
from tests.netwerk.test_plans import WHAT

ASK = "Kan de politie binnen twee weken een wijkagent vrijmaken?"
DECISION = "De teamchef wijst per direct een tweede wijkagent aan"
NOTE = "Het huisbezoek is gedaan, de actie loopt weer"
FRIDAY = date(2026, 4, 24)  # the Friday before Koningsdag 2026


def _count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _notices(esc: Escalation, kind: str) -> set:
    return set(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind,
                                                                      Notification.link == ops.link(esc))))


def _logged(esc: Escalation) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.object_id == str(esc.id))
                                   .order_by(AuditEntry.seq)))


def test_the_full_lifecycle_is_audited_without_content_and_notified_with_a_link_only(app, world: World):
    esc = world.propose(now=at(FRIDAY))
    assert world.propose() is None  # idempotent: the open one stands
    assert (_count(Escalation), esc.status, esc.level, esc.stuck_organisation_id) == (
        1, "voorgesteld", 0, world.police.id)
    assert "dagen over de afgesproken datum" in esc.explanation
    assert _notices(esc, "escalation_proposed") == {world.chair.id, world.coordinator.id}
    assert ops.addressees(esc) == [] and not may_act(world.officer, esc, "acknowledge")

    ops.raise_escalation(esc, by=world.chair, reason_category="capaciteit", ask=ASK, now=at(FRIDAY))
    db.session.commit()
    assert (esc.status, esc.level, esc.deadline) == ("opgeschaald", 0, date(2026, 5, 4))  # 5 days, Koningsdag off
    assert ops.addressees(esc) == [world.officer] and _notices(esc, "escalation_raised") == {world.officer.id}

    ops.acknowledge(esc, by=world.officer, version=esc.version, now=at(FRIDAY + timedelta(days=3)))
    ops.decide(esc, by=world.officer, decision=DECISION, new_action_ids=[world.action.id],
               now=at(FRIDAY + timedelta(days=4)))
    db.session.commit()
    assert _notices(esc, "escalation_decided") == {world.chair.id, world.coordinator.id}
    assert (esc.status, esc.decided_by_id, esc.decision_action_ids) == ("besloten", world.officer.id,
                                                                       [str(world.action.id)])
    ops.resolve(esc, by=world.coordinator, note=NOTE, now=at(FRIDAY + timedelta(days=5)))
    db.session.commit()
    assert (esc.status, esc.closed_by_id, esc.version) == ("opgelost", world.coordinator.id, 5)
    assert [s.kind for s in esc.steps] == ["voorgesteld", "opgeschaald", "ontvangen", "besloten", "opgelost"]
    assert [s.actor_id for s in esc.steps] == [None, world.chair.id, world.officer.id, world.officer.id,
                                               world.coordinator.id]
    assert _notices(esc, "escalation_closed") == {world.officer.id, world.chair.id}

    entries = _logged(esc)
    assert [e.action for e in entries] == ["escalation.proposed", "escalation.raised", "escalation.acknowledged",
                                           "escalation.decided", "escalation.resolved"]
    assert entries[1].actor_role == "voorzitter" and entries[1].meta["reason"] == "capaciteit"
    assert all(e.subject_ids and e.subject_ids[0].startswith(("family:", "person:")) for e in entries)
    # No content anywhere it could leak: the log, the notices, the mails, the raw columns.
    logged = json.dumps([[e.summary, e.meta, e.subject_ids] for e in entries], default=str)
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind.like("escalation_%"))).all()
    assert len(mails) == 9 and all(f"/opschaling?escalatie={esc.id}" in m.body for m in mails)
    raw = db.session.execute(text("SELECT ask, decision FROM escalation")).one()
    notes = db.session.execute(text("SELECT note FROM escalation_step WHERE note IS NOT NULL")).scalars().all()
    for secret in (ASK, DECISION, NOTE, WHAT, world.family.pseudonym, "Politie Esc"):
        assert secret not in logged
        assert all(secret not in m.body + m.subject for m in mails)
        assert secret not in " ".join([*raw, *notes])
    assert (esc.ask, esc.decision, esc.steps[-1].note) == (ASK, DECISION, NOTE)
    assert world.propose() is not None  # closed: the rule may propose again


def _refused(call, code: str, text_part: str) -> None:
    with pytest.raises(EscalationRefused) as refused:
        call()
    assert refused.value.code == code and text_part in refused.value.message


def test_every_refusal_is_a_dutch_message_and_writes_nothing(app, world: World):
    esc = world.propose()
    before = (_count(AuditEntry), _count(EscalationStep), _count(Notification), esc.version)

    def raise_(by=world.chair, reason="mandaat", ask=ASK, version=None):
        return lambda: ops.raise_escalation(esc, by=by, reason_category=reason, ask=ask, version=version)

    for who in (world.officer, world.team_leader, world.outsider, world.secretary):
        _refused(raise_(by=who), "geen_recht", "voorzitter van het overleg of de zorgcoördinator")
    _refused(lambda: ops.propose(overleg=world.overleg, household_id=world.family.id, source="handmatig",
                                 proposed_by=world.officer), "geen_recht", "voorzitter")
    _refused(raise_(reason=""), "ongeldig", "Kies een reden")
    _refused(raise_(reason="geen_zin"), "ongeldig", "capaciteit")
    _refused(raise_(ask="  "), "ongeldig", "Wat er gevraagd wordt is verplicht")
    _refused(lambda: ops.decide(esc, by=world.officer, decision=DECISION), "verkeerde_stand", "nog niet opgeschaald")
    _refused(lambda: ops.acknowledge(esc, by=world.officer), "verkeerde_stand", "nog niet opgeschaald")
    _refused(lambda: ops.resolve(esc, by=world.chair, note=NOTE), "verkeerde_stand", "afgewezen, niet opgelost")
    with pytest.raises(StaleEscalation) as stale:
        raise_(version=esc.version - 1)()
    assert stale.value.code == "verouderd" and stale.value.current is esc
    assert (_count(AuditEntry), _count(EscalationStep), _count(Notification), esc.version) == before

    raise_()()
    db.session.commit()
    _refused(raise_(), "verkeerde_stand", "al opgeschaald")
    _refused(lambda: ops.dismiss(esc, by=world.chair, note=NOTE), "verkeerde_stand", "nog niet is opgeschaald")
    for who in (world.team_leader, world.chair, world.coordinator):  # not the addressees of level 0
        _refused(lambda who=who: ops.acknowledge(esc, by=who), "geen_recht", "op dit niveau ontvangt")
    _refused(lambda: ops.decide(esc, by=world.officer, decision=""), "ongeldig", "Het besluit is verplicht")
    _refused(lambda: ops.decide(esc, by=world.officer, decision=DECISION, new_action_ids=["geen-id"]),
             "ongeldig", "onbekend")
    ops.acknowledge(esc, by=world.officer)
    _refused(lambda: ops.acknowledge(esc, by=world.officer), "verkeerde_stand", "al bevestigd")
    _refused(lambda: ops.resolve(esc, by=world.chair, note=""), "ongeldig", "toelichting is verplicht")
    ops.decide(esc, by=world.officer, decision=DECISION)
    _refused(lambda: ops.decide(esc, by=world.officer, decision=DECISION), "verkeerde_stand", "al besloten")
    ops.deescalate(esc, by=world.chair, note=NOTE)
    _refused(lambda: ops.resolve(esc, by=world.chair, note=NOTE), "verkeerde_stand", "afgesloten")

    dismissed = world.propose()
    ops.dismiss(dismissed, by=world.coordinator, note="Loopt al via de wijkagent")
    assert (esc.status, dismissed.status) == ("afgeschaald", "afgewezen")


def test_the_deadline_moves_it_up_a_level_not_before_and_stays_at_the_top(app, world: World):
    esc = world.raised(now=at(FRIDAY))
    assert esc.deadline == date(2026, 5, 4)
    assert ops.level_up_overdue(now=at(date(2026, 5, 4), 20)) == 0  # the last day is still theirs
    assert jobs.level_up_overdue(now=at(date(2026, 5, 5)).isoformat()) == 1
    db.session.expire_all()
    esc = db.session.get(Escalation, esc.id)
    assert (esc.status, esc.level, esc.deadline) == ("opgeschaald", 1, date(2026, 5, 20))  # Hemelvaart off
    step = esc.steps[-1]
    assert (step.kind, step.actor_id, step.from_level, step.to_level) == ("niveau_omhoog", None, 0, 1)
    assert _notices(esc, "escalation_level_up") == {world.team_leader.id, world.chair.id, world.coordinator.id}
    assert jobs.level_up_overdue(now=at(date(2026, 5, 5)).isoformat()) == 0  # a second run: nothing more
    assert (jobs.LEVEL_UP, timedelta(days=1)) in PERIODIC  # daily, queued once per day by the ticker
    connection().set(jobs.LEVEL_UP_LOCK, "other-run")
    assert jobs.level_up_overdue(now=at(date(2026, 6, 30)).isoformat()) == "busy"  # another run holds the lock
    connection().delete(jobs.LEVEL_UP_LOCK)

    # The new addressee acknowledged but did not decide: the clock still runs.
    ops.acknowledge(esc, by=world.team_leader, now=at(date(2026, 5, 6)))
    assert ops.level_up_overdue(now=at(date(2026, 5, 20))) == 0  # the deadline day itself
    assert ops.level_up_overdue(now=at(date(2026, 5, 21))) == 1 and (esc.level, esc.status) == (2, "opgeschaald")
    assert ops.level_up_overdue(now=at(esc.deadline + timedelta(days=1))) == 1 and esc.level == 3
    top_deadline = esc.deadline
    assert ops.level_up_overdue(now=at(top_deadline + timedelta(days=1))) == 1
    assert (esc.level, esc.top_overdue_since, esc.deadline) == (3, top_deadline + timedelta(days=1), top_deadline)
    assert ops.level_up_overdue(now=at(top_deadline + timedelta(days=30))) == 0  # flagged once
    assert [s.kind for s in esc.steps].count("niveau_omhoog") == 3
    assert [e.action for e in _logged(esc)][-2:] == ["escalation.level_up", "escalation.top_overdue"]

    decided = world.raised(now=at(FRIDAY), level=1, rule_code="owner_silent")
    ops.decide(decided, by=world.team_leader, decision=DECISION, now=at(FRIDAY))
    assert ops.level_up_overdue(now=at(date(2027, 1, 1))) == 0 and decided.level == 1  # decided: it stops


def test_the_minimal_package_and_who_may_see_it(app, world: World):
    esc = world.raised(now=at(FRIDAY), level=1)
    package = minimal_package(esc, world.team_leader)
    assert set(package) == {"id", "pseudonym", "overleg", "status", "status_label", "level", "level_name",
                            "reason_category", "reason_label", "ask", "deadline", "top_overdue_since", "explanation",
                            "rule_code", "rule_label", "stuck_organisation", "raised_at", "blocked_actions"}
    assert (package["pseudonym"], package["ask"], package["level_name"]) == (
        world.family.pseudonym, "Kan de politie een wijkagent vrijmaken?", "Leidinggevende van de partner")
    [action] = package["blocked_actions"]
    # The police's own action: its team leader may read it (the gate decides, and logs it).
    assert (action["owner_organisation"], action["what"], action["status"]) == ("Politie Esc", WHAT, "open")
    [frame] = minimal_package(esc, world.alderman)["blocked_actions"]
    assert (frame["owner_organisation"], frame["what"]) == ("Politie Esc", None)  # no covenant rule: frame only
    assert minimal_package(esc)["blocked_actions"][0]["what"] is None
    # A privacy officer of the police who is also its team leader reads as team leader; a
    # privacy officer alone reads no action text, not even their own organisation's.
    both = make_user("privacy", org=world.police)
    db.session.add(UserRole(user_id=both.id, role="leidinggevende"))
    db.session.flush()
    db.session.refresh(both)
    assert reading_actor(both).role == "leidinggevende"
    assert reading_actor(make_user("privacy", org=world.police)).role is None
    reads = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")
                               .order_by(AuditEntry.seq)).all()
    assert [(r.actor_user_id, r.outcome) for r in reads[-2:]] == [(world.team_leader.id, "allowed"),
                                                                 (world.alderman.id, "denied")]
    assert may_act(world.team_leader, esc, "view") and may_act(world.chair, esc, "view")
    assert not may_act(world.alderman, esc, "view") and not may_act(world.outsider, esc, "view")
    assert not may_act(world.team_leader, esc, "resolve") and not may_act(None, esc, "view")
    world.team_leader.active = False
    assert not may_act(world.team_leader, esc, "decide")
