"""Closing a meeting (issue 5, item 9): the besluitenlijst per organisation — only the
sections it attended, action texts through the privacy gate, page and PDF audited, a mail
with a link only — and the carry-over of the unfinished to the next meeting's agenda."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from meetings import operations as ops
from meetings.jobs import send_besluitenlijst
from meetings.models import ActionAtClose, AgendaItem, Meeting, MeetingEvent
from meetings.queries import ANONYMOUS
from netwerk import jobqueue
from netwerk import operations as core
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import Family, OutboxMail, User
from netwerk.models.plans import Plan, PlanAction, PlanGoal
from netwerk.operations import plans as plan_ops
from netwerk.operations.common import OperationError
from privacy.models import AuditEntry
from tests.conftest import post_form
from tests.helpers import html, pdf_text
from tests.meetings.conftest import Region, make_overleg
from tests.meetings.test_agenda import household
from tests.netwerk.test_person_views import client_for
from tests.netwerk.test_plans import DONE_WHEN, GOAL, WHAT

TODAY = utcnow().date()


@dataclass
class Closed:
    meeting: Meeting
    following: Meeting
    school_case: Family  # Preventief, discussed, an open action owned by the school (and a new one)
    police_case: Family  # Strafrecht, discussed, an open action owned by the police; already on the next agenda
    left_over: Family  # Preventief, not discussed, no plan
    done: Family  # Strafrecht, discussed, no plan: nothing to carry over
    texts: dict[str, str]  # action texts with a marker each


def _plan_with_action(family: Family, coordinator: User, owner: User, marker: str) -> None:
    plan = core.start_plan(family, coordinator, actor_for(coordinator), TODAY)
    goal = core.add_goal(plan, "gezondheid", GOAL, coordinator, actor_for(coordinator))
    # A concern the besluitenlijst does not show, so must not read (nor audit as read).
    core.add_concern(plan, "gezondheid", "zorgen", f"Zorg {marker}", coordinator, actor_for(coordinator), TODAY)
    core.add_action(plan, goal_id=goal.id, what=f"{WHAT} {marker}", done_when=DONE_WHEN, owner_user=owner,
                    owner_member=None, due=TODAY + timedelta(days=14), due_text=None, agreed_by="ouder",
                    agreed_on=TODAY, actor=actor_for(owner), today=TODAY)


def close_a_meeting(r: Region) -> Closed:
    overleg = make_overleg(r)
    prevention, criminal = overleg.sections
    meeting, following = (Meeting(overleg_id=overleg.id, date=TODAY + timedelta(days=d), start_time=overleg.start_time,
                                  duration_minutes=180, place="Zaal") for d in (0, 14))
    db.session.add_all([meeting, following])
    db.session.flush()
    chair = actor_for(r.chair)
    school_case, left_over = household(r, r.cjg, r.school), household(r, r.cjg, r.school)
    police_case, done = household(r, r.cjg, r.police), household(r, r.cjg, r.police)
    texts = {"school": f"LEAK-plan-{uuid.uuid4().hex}", "police": f"LEAK-plan-{uuid.uuid4().hex}",
             "new": f"LEAK-plan-{uuid.uuid4().hex}"}
    _plan_with_action(school_case, r.youth_worker, r.teacher, texts["school"])
    _plan_with_action(police_case, r.youth_worker, r.officer, texts["police"])
    for family, section in ((school_case, prevention), (left_over, prevention), (police_case, criminal),
                            (done, criminal)):
        ops.add_to_agenda(meeting, section, family, r.chair, chair)
    ops.add_to_agenda(following, criminal, police_case, r.chair, chair)  # already on the next agenda
    for user, section, status in ((r.youth_worker, prevention, "aanwezig"), (r.youth_worker, criminal, "aanwezig"),
                                  (r.teacher, prevention, "later"), (r.officer, criminal, "aanwezig")):
        ops.record_attendance(meeting, section, user, status, r.chair, chair)
    db.session.commit()
    ops.go_live(meeting, r.chair, chair, utcnow(), meeting.version)
    items = {i.family_id: i for i in ops.ordered_items(meeting)}
    # Agreed during the meeting: a second action for the school's case.
    plan = db.session.scalar(select(Plan).where(Plan.family_id == school_case.id))
    goal = db.session.scalar(select(PlanGoal).where(PlanGoal.plan_id == plan.id))
    core.add_action(plan, goal_id=goal.id, what=f"{WHAT} {texts['new']}", done_when=DONE_WHEN,
                    owner_user=r.teacher, owner_member=None, due=TODAY + timedelta(days=21), due_text=None,
                    agreed_by="ouder", agreed_on=TODAY, actor=actor_for(r.youth_worker), today=TODAY)
    ops.record_decision(items[school_case.id], ops.DecisionSpec("zorgcoordinator", user_id=r.youth_worker.id),
                        r.chair, chair, TODAY)
    ops.record_decision(items[police_case.id], ops.DecisionSpec("terug_op_agenda", on_date=TODAY + timedelta(days=28)),
                        r.chair, chair, TODAY)
    for family in (school_case, police_case, done):
        ops.mark_discussed(items[family.id], r.chair, chair)
    db.session.commit()
    ops.close(meeting, r.chair, chair, utcnow(), meeting.version)
    db.session.commit()
    return Closed(meeting, following, school_case, police_case, left_over, done, texts)


def agenda_of(meeting: Meeting) -> dict[uuid.UUID, list[str]]:
    db.session.expire_all()
    return {i.family_id: i.reasons for i in db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == meeting.id))}


def test_closing_carries_over_the_unfinished_once_and_mails_each_participant_a_link(app, region):
    c = close_a_meeting(region)
    chair = actor_for(region.chair)
    carried = agenda_of(c.following)
    # Not discussed, or actions still open: on the next agenda as "doorgeschoven"; the police's
    # case was there already and only gains the reason; the finished case stays off.
    assert carried == {c.school_case.id: ["doorgeschoven"], c.left_over.id: ["doorgeschoven"],
                       c.police_case.id: ["nieuw_signaal", "doorgeschoven"]}
    sources = {i.family_id: i.carried_from_id for i in db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == c.following.id))}
    assert sources[c.left_over.id] is not None and sources[c.police_case.id] is None
    # Again (a second preparation, a retried job): nothing doubles.
    assert ops.carry_over(c.meeting, region.chair, chair) == []
    # Closing twice: a clear message, and nothing changes anywhere.
    events = db.session.scalar(select(func.count()).select_from(MeetingEvent))
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(OperationError, match="al gesloten"):
        ops.close(c.meeting, region.chair, chair, utcnow(), c.meeting.version)
    db.session.rollback()
    assert agenda_of(c.following) == carried
    assert db.session.scalar(select(func.count()).select_from(MeetingEvent)) == events
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audits
    console = f"/vergaderingen/{c.meeting.id}/console"  # the chair's second click, in the browser
    answer = post_form(client_for(app, region.chair), f"{console}/sluiten", {"version": str(c.meeting.version)},
                       token_from=console)
    assert answer.status_code == 422 and "Dit overleg is al gesloten." in html(answer)
    assert agenda_of(c.following) == carried
    assert db.session.scalar(select(func.count()).select_from(MeetingEvent)) == events

    # After the commit, one job mails the participants of the attending organisations.
    db.session.rollback()  # end this test's read transaction: SQLite lets one writer in, the job
    jobqueue.drain(app)
    db.session.expire_all()
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == "besluitenlijst")).all()
    assert sorted(m.recipient for m in mails) == sorted(u.email for u in (region.youth_worker, region.teacher,
                                                                           region.officer))
    pseudonyms = [db.session.get(Family, f).pseudonym for f in (c.school_case.id, c.police_case.id)]
    for mail in mails:
        assert f"/vergaderingen/{c.meeting.id}/besluitenlijst" in mail.body
        assert not any(p in mail.body or p in mail.subject for p in [*pseudonyms, *c.texts.values()])
    assert send_besluitenlijst(str(c.meeting.id)) == 0


def test_each_organisation_reads_only_the_sections_it_attended_through_the_gate(app, region):
    c = close_a_meeting(region)
    name = {f: db.session.get(Family, f).pseudonym for f in (c.school_case.id, c.police_case.id, c.left_over.id,
                                                             c.done.id)}
    url = f"/vergaderingen/{c.meeting.id}/besluitenlijst"
    pages = {}
    for who in ("teacher", "officer", "youth_worker", "chair"):
        client = client_for(app, getattr(region, who))
        page, pdf = client.get(url), client.get(url + ".pdf")
        assert (page.status_code, pdf.status_code, pdf.mimetype) == (200, 200, "application/pdf"), who
        pages[who] = (html(page), pdf_text(pdf.get_data()))
    school, police = ({c.school_case.id, c.left_over.id}, {c.police_case.id, c.done.id})
    for who, shown in (("teacher", school), ("officer", police), ("youth_worker", school | police),
                       ("chair", school | police)):
        for text in pages[who]:
            assert {f for f in name if name[f] in text} == shown, who
    # Action texts: the owning organisation reads its own; the CJG (no covenant rule for the
    # plan here) gets whom to call instead; owner, date and status are there for everyone.
    teacher_page, teacher_pdf = pages["teacher"]
    assert c.texts["school"] in teacher_page and c.texts["new"] in teacher_page and c.texts["police"] not in \
        teacher_page
    assert c.texts["school"] in teacher_pdf.replace("\n", " ") or c.texts["school"][:20] in teacher_pdf
    assert "nieuw" in teacher_page and "Zorgcoördinator aanwijzen: Jan Jeugdwerker (CJG Test)" in teacher_page
    assert "Lotte Leraar (School Test)" in pages["youth_worker"][0]
    assert not any(t in pages["youth_worker"][0] for t in c.texts.values())
    assert "Er is informatie bij School Test" in pages["youth_worker"][0]
    assert "niet besproken: doorgeschoven" in teacher_page  # the left-over case
    opened = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "meetings.besluitenlijst_opened")).all()
    assert sorted(e.meta["format"] for e in opened) == ["html"] * 4 + ["pdf"] * 4
    teacher_reads = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "content.read", AuditEntry.actor_user_id == region.teacher.id)).all()
    assert teacher_reads and all(e.meta.get("context") == "besluitenlijst" for e in teacher_reads)
    assert {c for e in teacher_reads for c in e.data_categories} == {"plan"}  # never the concerns


def test_before_closing_there_is_no_besluitenlijst_and_strangers_find_no_meeting(app, region):
    overleg = make_overleg(region)
    meeting = Meeting(overleg_id=overleg.id, date=TODAY, start_time=overleg.start_time, duration_minutes=180,
                      place="Zaal")
    db.session.add(meeting)
    db.session.commit()
    url = f"/vergaderingen/{meeting.id}/besluitenlijst"
    client = client_for(app, region.teacher)
    assert "zodra de voorzitter het overleg heeft gesloten" in html(client.get(url))
    assert client.get(url + ".pdf").status_code == 404
    outsider = client_for(app, region.outsider)
    assert outsider.get(url).status_code == 404 and outsider.get(url + ".pdf").status_code == 404
    assert ops.carry_over(meeting, region.chair, actor_for(region.chair)) == []  # no next meeting planned


def test_an_anonymous_family_stays_anonymous_on_the_besluitenlijst(app, region):
    c = close_a_meeting(region)
    item = db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == c.meeting.id,
                                                      AgendaItem.family_id == c.police_case.id))
    item.inform_state = "anoniem"  # as discuss_anonymously leaves it
    db.session.commit()
    url = f"/vergaderingen/{c.meeting.id}/besluitenlijst"
    pseudonym = db.session.get(Family, c.police_case.id).pseudonym
    for page in (html(client_for(app, region.officer).get(url)),
                 pdf_text(client_for(app, region.officer).get(url + ".pdf").get_data())):
        assert ANONYMOUS in page and "Terug op de agenda" in page  # the decision stands ...
        # ... but nothing that points to the family: not its name, its action, the action's
        # owner or whom to call
        assert pseudonym not in page and c.texts["police"] not in page
        assert "Paula Politie (Politie Test)" not in page and "Er is informatie bij" not in page
    assert pseudonym in html(client_for(app, region.chair).get(url))  # the chair ran the meeting


def test_the_besluitenlijst_keeps_the_actions_as_they_stood_at_closing(app, region):
    """The list is the record of the meeting: progress after it closed (an action done, a
    date moved, an action added) does not rewrite it; the action pages show the news."""
    c = close_a_meeting(region)
    kept = db.session.scalars(select(ActionAtClose).where(ActionAtClose.meeting_id == c.meeting.id)).all()
    assert len(kept) == 3 and sum(k.new for k in kept) == 1  # two open before, one agreed during it
    action = db.session.scalar(select(PlanAction).where(PlanAction.owner_user_id == region.officer.id))
    core.update_action(action, status="gereed", progress="De afspraak bij de huisarts staat in de agenda.",
                       failure_reason=None, due=TODAY + timedelta(days=30), expected_version=action.version,
                       actor=actor_for(region.officer), today=TODAY)
    db.session.commit()
    school_action = db.session.scalar(select(PlanAction).where(PlanAction.owner_user_id == region.teacher.id)
                                      .order_by(PlanAction.created_at).limit(1))
    plan_ops.edit_action(school_action, goal_id=school_action.goal_id, what=school_action.what,
                     done_when=school_action.done_when, owner_user=region.youth_worker, owner_member=None,
                     due=school_action.due, expected_version=school_action.version,
                     actor=actor_for(region.youth_worker), today=TODAY)
    db.session.commit()
    page = html(client_for(app, region.officer).get(f"/vergaderingen/{c.meeting.id}/besluitenlijst"))
    assert c.texts["police"] in page and "Open" in page and "Gereed" not in page
    assert (TODAY + timedelta(days=14)).strftime("%d-%m-%Y") in page
    assert (TODAY + timedelta(days=30)).strftime("%d-%m-%Y") not in page
    chair_page = html(client_for(app, region.chair).get(f"/vergaderingen/{c.meeting.id}/besluitenlijst"))
    assert chair_page.count("Lotte Leraar (School Test)") == 2  # both school actions, as named at closing
