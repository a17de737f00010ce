"""The stagnation rules: each fires on its threshold day and not a day before (evaluators
over hand-made facts, then the same rules over the database), and gaming — pushing a due
date, re-creating the action, marking it done without its criterion — resets no counter."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from escalation import ladder, rules
from escalation.models import ScanAction
from escalation.rules import Context, Facts, Held, Line, PlanFact
from netwerk import smart
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Match
from netwerk.models.plans import PlanAction
from netwerk.operations import plans as plan_ops
from privacy.encryption import Keyring
from tests.conftest import post_form
from tests.escalation.conftest import TODAY, World, at
from tests.escalation.rules_fixtures import attend, fires_from, meeting, on_agenda, proposals, push, scan_on
from tests.escalation.test_views import client_for
from tests.helpers import html
from tests.netwerk.test_plans import DONE_WHEN, WHAT

D0 = date(2026, 3, 2)  # a Monday
OVERLEG, FAMILY, ORG, COORD_ORG = (uuid.uuid4() for _ in range(4))
M1, M2, M3 = (uuid.uuid4() for _ in range(3))
SECTION, COORDINATOR = uuid.uuid4(), uuid.uuid4()


# --- each evaluator over hand-made facts ----------------------------------------------------

def _line(**kw: object) -> Line:
    base: dict = dict(root=uuid.uuid4(), action_ids=[uuid.uuid4()], owner_org_id=ORG, first_due=D0 + timedelta(days=99),
                      pushes=0, since=D0 - timedelta(days=30))
    return Line(**(base | kw))


def _agenda(facts: Facts, *meetings: tuple[uuid.UUID, date]) -> None:
    shown = [(mid, day) for mid, day in meetings if day <= facts.today]
    facts.agendas[OVERLEG][FAMILY] = [Held(day, mid, SECTION, day < facts.today) for mid, day in shown]
    facts.agenda_days[OVERLEG] = [(day, mid) for mid, day in shown]
    facts.meeting_days[OVERLEG] = [day for _, day in shown]


def overdue(f: Facts) -> None:
    f.lines[FAMILY].append(_line(first_due=D0))


def carried(f: Facts) -> None:
    f.lines[FAMILY].append(_line(since=D0 - timedelta(days=1)))
    _agenda(f, (M1, D0 + timedelta(days=7)), (M2, D0 + timedelta(days=21)))


def recurring(f: Facts) -> None:
    _agenda(f, (M1, D0), (M2, D0 + timedelta(days=14)), (M3, D0 + timedelta(days=28)))
    f.completed[FAMILY] = D0 - timedelta(days=1)  # done before the streak began: does not count


def silent(f: Facts) -> None:
    f.lines[FAMILY].append(_line(since=D0 - timedelta(days=5), last_owner_note=D0 - timedelta(days=1)))
    _agenda(f, (M1, D0))
    f.meeting_days[OVERLEG] = [d for d in (D0, D0 + timedelta(days=14)) if d <= f.today]


def match(f: Facts) -> None:
    f.matches[FAMILY].append(D0)


def absent(f: Facts) -> None:
    f.plans[FAMILY] = PlanFact(uuid.uuid4(), "vastgesteld", None, False, COORDINATOR, COORD_ORG)
    _agenda(f, (M1, D0), (M2, D0 + timedelta(days=14)))
    f.attendance = {(M1, FAMILY): "afwezig", (M2, FAMILY): "afgemeld"}


def evaluation(f: Facts) -> None:
    f.plans[FAMILY] = PlanFact(uuid.uuid4(), "geevalueerd", D0, True, COORDINATOR, COORD_ORG)


def letter(f: Facts) -> None:
    f.letters[(OVERLEG, FAMILY)] = D0


def consent(f: Facts) -> None:
    f.lines[FAMILY].append(_line(unagreed_since=D0))


CASES: list[tuple[str, Callable[[Facts], None], date]] = [
    ("action_overdue", overdue, D0 + timedelta(days=15)),  # more than 14 days over
    ("action_carried_over", carried, D0 + timedelta(days=22)),  # the second meeting held
    ("recurring_on_agenda", recurring, D0 + timedelta(days=28)),  # on the third agenda
    ("owner_silent", silent, D0 + timedelta(days=14)),  # the next meeting came
    ("match_unacknowledged", match, D0 + timedelta(days=10)),  # after 10 days
    ("coordinator_absent", absent, D0 + timedelta(days=15)),  # the second absence held
    ("plan_evaluation_passed", evaluation, D0 + timedelta(days=1)),
    ("letter_or_consent_pending", letter, D0 + timedelta(days=11)),
    ("letter_or_consent_pending", consent, D0 + timedelta(days=11)),
]


def _run(code: str, build: Callable[[Facts], None], today: date, **params: int) -> list[rules.Firing]:
    facts = Facts(today)
    build(facts)
    ctx = Context(OVERLEG, uuid.uuid4(), frozenset({FAMILY}), facts)
    return rules.evaluate(code, ctx, params or None, None)


@pytest.mark.parametrize(("code", "build", "threshold"), CASES, ids=[f"{c[0]}-{c[1].__name__}" for c in CASES])
def test_each_rule_fires_on_its_threshold_day_and_not_a_day_before(code, build, threshold) -> None:
    assert _run(code, build, threshold - timedelta(days=1)) == []
    fired = _run(code, build, threshold)
    assert [f.household_id for f in fired] == [FAMILY]
    assert fired[0].rule_code == code and fired[0].explanation.startswith(ladder.explain(code))
    # A stricter parameter (one more day, meeting, agenda or absence) moves the threshold.
    name, value = next(iter(ladder.RULE_DEFAULTS[code].params.items()))
    assert _run(code, build, threshold, **{name: value + 1}) == []


def test_pushes_fire_on_the_third_and_the_stuck_partner_is_the_owner() -> None:
    def pushed(n: int) -> Callable[[Facts], None]:
        return lambda f: f.lines[FAMILY].append(_line(pushes=n))

    assert _run("due_date_pushed", pushed(2), D0) == []
    fired = _run("due_date_pushed", pushed(3), D0)
    assert fired[0].stuck_organisation_id == ORG and len(fired[0].blocked_action_ids) == 1
    assert "3 keer" in fired[0].explanation


def test_completion_note_against_criterion_and_similar_texts() -> None:
    assert not smart.criterion_met("gedaan", DONE_WHEN)
    assert not smart.criterion_met(None, DONE_WHEN)
    assert smart.criterion_met("Er staat een datum voor de afspraak bij de huisarts in de agenda", DONE_WHEN)
    assert smart.same_work(WHAT, "Moeder belt opnieuw de huisarts voor een afspraak over het slapen")
    assert not smart.same_work(WHAT, "School meldt het verzuim bij de leerplichtambtenaar")


# --- the same rules over the database, with gaming ------------------------------------------

def _redo(w: World, old: PlanAction, due: date, today: date) -> PlanAction:
    """Let the action lapse and create it again, a little reworded, with a fresh date."""
    plan_ops.lapse_action(old, reason="Loopt via een nieuwe actie", expected_version=old.version,
                          actor=actor_for(w.officer), today=today)
    new, _ = plan_ops.add_action(w.plan, goal_id=old.goal_id, what=WHAT.replace("belt", "belt zelf"),
                                 done_when=DONE_WHEN, owner_user=w.officer, owner_member=None, due=due, due_text=None,
                                 agreed_by=None, agreed_on=None, actor=actor_for(w.coordinator), today=today)
    db.session.commit()
    return new


def test_pushing_and_recreating_reset_neither_overdue_nor_the_push_count(world: World) -> None:
    w, due = world, world.action.due
    on_agenda(w, meeting(w, TODAY + timedelta(days=1)))  # the overleg's scope: families on its agendas
    db.session.commit()
    scan_on(TODAY)  # the scan sees the action with its first due date
    push(w, w.action, due + timedelta(days=5), TODAY)
    push(w, w.action, due + timedelta(days=8), TODAY)
    scan_on(TODAY)
    assert proposals(w, "due_date_pushed") == []  # twice is not more than twice
    new = _redo(w, w.action, due + timedelta(days=40), TODAY)
    scan_on(TODAY)
    pushed = proposals(w, "due_date_pushed")
    assert len(pushed) == 1 and pushed[0].blocked_action_ids == [str(new.id)]  # the re-creation is the third push
    state = db.session.get(ScanAction, new.id)
    assert state.line_root_id == w.action.id
    # Overdue counts from the first date seen (not the pushed one, nor the new action's).
    esc = fires_from(w, "action_overdue", due + timedelta(days=15))
    assert esc.blocked_action_ids == [str(new.id)] and esc.stuck_organisation_id == w.police.id
    assert "15 dagen" in esc.explanation


def test_done_without_its_criterion_keeps_the_action_open(world: World) -> None:
    w, due = world, world.action.due
    on_agenda(w, meeting(w, TODAY + timedelta(days=1)))
    plan_ops.update_action(w.action, status="gereed", progress="gedaan", failure_reason=None, due=None,
                           expected_version=w.action.version, actor=actor_for(w.officer), today=TODAY)
    db.session.commit()
    fires_from(w, "action_overdue", due + timedelta(days=15))
    assert db.session.get(PlanAction, w.action.id).criterion_met is False
    # Done with its criterion: the action is no longer overdue for any rule.
    action, _ = plan_ops.add_action(w.plan, goal_id=w.action.goal_id, what="Politie belt de school over het verzuim",
                                    done_when="klaar als de school een verzuimmelding heeft gedaan",
                                    owner_user=w.officer, owner_member=None, due=TODAY + timedelta(days=2),
                                    due_text=None, agreed_by=None, agreed_on=None, actor=actor_for(w.coordinator),
                                    today=TODAY)
    plan_ops.update_action(action, status="gereed", progress="De school heeft de verzuimmelding gedaan",
                           failure_reason=None, due=None, expected_version=action.version,
                           actor=actor_for(w.officer), today=TODAY)
    db.session.commit()
    scan_on(due + timedelta(days=16))
    assert db.session.get(PlanAction, action.id).criterion_met is True
    open_for_rules = {a for line in rules.load_facts(due + timedelta(days=16)).lines[w.family.id]
                      for a in line.action_ids}
    assert open_for_rules == {w.action.id}


def test_meeting_rules_count_held_meetings_and_ignore_a_pushed_date(world: World) -> None:
    w = world
    section = w.overleg.sections[0].id
    m1, m2, m3 = (meeting(w, TODAY + timedelta(days=d)) for d in (7, 21, 35))
    for m in (m1, m2, m3):
        on_agenda(w, m)
    for m in (m1, m2):
        attend(m, section, w.coordinator, "afwezig", w.secretary)
    # The action is done without its criterion: no completed action for the agenda rule.
    db.session.commit()
    scan_on(TODAY)
    push(w, w.action, TODAY + timedelta(days=60), TODAY)  # no progress: carrying over still counts
    fires_from(w, "owner_silent", m2.date)
    fires_from(w, "coordinator_absent", m2.date + timedelta(days=1), also=("action_carried_over",))
    plan_ops.update_action(w.action, status="gereed", progress="ok", failure_reason=None, due=None,
                           expected_version=w.action.version, actor=actor_for(w.officer), today=TODAY)
    db.session.commit()
    fires_from(w, "recurring_on_agenda", m3.date)


def test_match_evaluation_letter_and_consent_from_the_database(world: World) -> None:
    w = world
    for m in db.session.scalars(select(Match)):  # registering the involvements made a match
        m.created_at = at(TODAY)
    item = on_agenda(w, meeting(w, TODAY + timedelta(days=1)), inform_state="klaar", added=TODAY)
    db.session.commit()
    fires_from(w, "match_unacknowledged", TODAY + timedelta(days=10))
    esc = fires_from(w, "letter_or_consent_pending", TODAY + timedelta(days=11))
    assert "brief 11 dagen" in esc.explanation and esc.stuck_organisation_id == w.overleg.organisation_id
    item.inform_state = "verstuurd"
    esc.status, esc.closed_at = "afgewezen", at(TODAY)
    plan_ops.update_plan(w.plan, family_view=None, strengths=None, next_evaluation=TODAY + timedelta(days=20),
                         family_agreement_required=True, expected_version=w.plan.version,
                         actor=actor_for(w.coordinator), today=TODAY)
    plan_ops.adopt_plan(w.plan, "zorgcoordinator", actor_for(w.coordinator), TODAY)
    db.session.commit()
    fires_from(w, "plan_evaluation_passed", TODAY + timedelta(days=21))
    # The action made before adoption still waits for the family's agreement; the closed
    # proposal above keeps the rule quiet for four weeks, then it proposes again.
    scan_on(TODAY + timedelta(days=28))
    assert len(proposals(w, "letter_or_consent_pending")) == 1
    scan_on(TODAY + timedelta(days=29))
    again = [e for e in proposals(w, "letter_or_consent_pending") if e.status == "voorgesteld"]
    assert len(again) == 1 and "instemming voor 1 actie" in again[0].explanation
    assert again[0].blocked_action_ids == [str(w.action.id)] and again[0].stuck_organisation_id == w.cjg.id


# --- judged when written, so the scan reads no text -----------------------------------------

def _add(w: World, what: str, owner=None, today: date = TODAY) -> PlanAction:
    action, _ = plan_ops.add_action(w.plan, goal_id=w.action.goal_id, what=what, done_when=DONE_WHEN,
                                    owner_user=owner or w.officer, owner_member=None, due=today + timedelta(days=9),
                                    due_text=None, agreed_by=None, agreed_on=None, actor=actor_for(w.coordinator),
                                    today=today)
    db.session.commit()
    return action


def _done(w: World, action: PlanAction, note: str, status: str = "gereed") -> None:
    plan_ops.update_action(action, status=status, progress=note, failure_reason=None, due=None,
                           expected_version=action.version, actor=actor_for(w.officer), today=TODAY)
    db.session.commit()


def test_a_new_action_records_which_earlier_action_of_its_goal_and_owner_it_does_again(world: World) -> None:
    w = world
    again = _add(w, WHAT.replace("belt", "belt zelf"))
    assert again.continues_action_id == w.action.id  # still open: linked, joined to the line once it fails
    other_work = _add(w, "School meldt het verzuim bij de leerplichtambtenaar")
    assert other_work.continues_action_id is None
    someone_else = _add(w, WHAT, owner=w.coordinator)  # another organisation's action is another line
    assert someone_else.continues_action_id is None
    _done(w, again, "Er staat een datum voor de afspraak bij de huisarts in de agenda")
    after_success = _add(w, WHAT)  # the newest similar one was achieved: not a re-creation of it
    assert after_success.continues_action_id == w.action.id


def test_the_completion_flag_follows_the_status_and_a_better_note(world: World) -> None:
    w, action = world, world.action
    _done(w, action, "gedaan")
    assert action.criterion_met is False
    _done(w, action, "Er staat een datum voor de afspraak bij de huisarts in de agenda")  # a better note
    assert action.criterion_met is True
    _done(w, action, "Moeder bedankt voor de hulp.")  # a follow-up remark does not reopen the work
    assert action.criterion_met is True
    _done(w, action, "Toch nog niet rond", status="bezig")
    assert action.criterion_met is None


def test_a_new_owner_or_goal_judges_the_re_creation_anew(world: World) -> None:
    w = world
    again = _add(w, WHAT.replace("belt", "belt zelf"))
    assert again.continues_action_id == w.action.id
    plan_ops.edit_action(again, goal_id=again.goal_id, what=again.what, done_when=again.done_when,
                         owner_user=w.coordinator, owner_member=None, due=again.due, expected_version=again.version,
                         actor=actor_for(w.coordinator), today=TODAY)
    db.session.commit()
    assert again.continues_action_id is None  # another owner: not the police's line of work


def test_only_the_owners_organisation_is_told_that_a_note_misses_the_criterion(app, world: World) -> None:
    """The coordinator may update the police's action without the gate showing them its
    text; a warning per note would let them test words against the hidden criterion."""
    w = world
    warning = "telt voor de opschaling nog als open"
    coordinator = client_for(app, w.coordinator)
    assert DONE_WHEN not in html(coordinator.get("/mijn-acties"))  # the gate withholds it here

    def post(client, note: str) -> str:
        db.session.expire_all()
        action = db.session.get(PlanAction, w.action.id)
        return html(post_form(client, f"/acties/{action.id}", {"version": str(action.version), "status": "gereed",
                                                                "progress": note, "failure_reason": ""},
                              token_from="/mijn-acties", follow_redirects=True))

    page = post(coordinator, "Notitie: fiets.")
    assert "Actie bijgewerkt" in page and warning not in page
    assert db.session.get(PlanAction, w.action.id).criterion_met is False  # judged all the same
    assert warning in post(client_for(app, w.officer), "Notitie: fiets.")


def test_the_scan_links_lines_and_judges_completion_without_decrypting_anything(world: World, monkeypatch) -> None:
    w, due = world, world.action.due
    on_agenda(w, meeting(w, TODAY + timedelta(days=1)))
    db.session.commit()
    scan_on(TODAY)
    new = _redo_like(w)
    _done(w, _add(w, "Politie belt de school over het verzuim"), "gedaan")
    db.session.expire_all()  # nothing decrypted is left in the session for the scan to reuse

    def refuse(*_a: object, **_k: object) -> str:
        raise AssertionError("the stagnation scan decrypted a text")

    monkeypatch.setattr(Keyring, "decrypt", refuse)
    with pytest.raises(AssertionError, match="decrypted"):  # the trap is armed
        _ = db.session.get(PlanAction, new.id).what
    db.session.expire_all()
    result = scan_on(due + timedelta(days=15))
    assert result.lines_linked == 1
    monkeypatch.undo()
    assert db.session.get(ScanAction, new.id).line_root_id == w.action.id
    esc = proposals(w, "action_overdue")[0]
    assert str(new.id) in esc.blocked_action_ids and len(esc.blocked_action_ids) == 2  # "gedaan" is still open


def _redo_like(w: World) -> PlanAction:
    plan_ops.lapse_action(w.action, reason="Loopt via een nieuwe actie", expected_version=w.action.version,
                          actor=actor_for(w.officer), today=TODAY)
    return _add(w, WHAT.replace("belt", "belt zelf"))
