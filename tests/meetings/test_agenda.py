"""The agenda (issue 5, part 2): families put on it per section, the secretary's preparation
of follow-ups, moving items, informing the family (letters, deferral, anonymous) and what
each participant sees of it."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select, text, update

from meetings import operations as ops
from meetings.models import AgendaItem, Letter, Meeting, MeetingEvent, Overleg
from netwerk import jobqueue
from netwerk import operations as core
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Family, Person
from netwerk.models.plans import PlanAction
from netwerk.operations.common import OperationError
from privacy.models import AuditEntry
from tests.conftest import post_form
from tests.factories import SYSTEM
from tests.helpers import html, pdf_text
from tests.meetings.conftest import Region, make_overleg
from tests.netwerk.test_person_views import client_for
from tests.netwerk.test_plans import DONE_WHEN, GOAL, WHAT, involve

TODAY = date.today()


def member(first: str, born: date, address: str | None = "Lekstraat 1, Leiden", flagged: bool = False):
    return core.register_person(core.PersonData(first, "Jansen", born, address=address, safety_flag=flagged),
                                SYSTEM, TODAY, confirmed_new=True)


# Pseudonyms are initials and birth year: each household's child gets another initial.
# Endless: one process runs many tests (both backends); a test makes only a few households.
_children = itertools.cycle(f"{letter}oor" for letter in "NBDEFGHIKLMPQRSUVWXZ")


def household(r: Region, *orgs) -> Family:
    """Sara (mother), Noor (14; another initial per household keeps pseudonyms apart), Tim (17),
    Carmen (18, secret address)."""
    people = [(member("Sara", date(TODAY.year - 40, 1, 1)), "ouder"),
              (member(next(_children), date(TODAY.year - 14, 3, 4)), "kind"),
              (member("Tim", date(TODAY.year - 17, 5, 5)), "kind"),
              (member("Carmen", date(TODAY.year - 18, 2, 2), flagged=True), "kind")]
    family = core.compose_family(people, SYSTEM)
    for org in orgs or (r.cjg, r.police):
        involve(people[1][0], org)
    db.session.commit()
    return family


def meetings_of(r: Region) -> tuple[Overleg, Meeting, Meeting]:
    """The overleg, with a meeting a fortnight ago and one next week."""
    overleg = make_overleg(r)
    past = Meeting(overleg_id=overleg.id, date=TODAY - timedelta(days=14), start_time=overleg.start_time,
                   duration_minutes=180, place="Zaal")
    upcoming = Meeting(overleg_id=overleg.id, date=TODAY + timedelta(days=7), start_time=overleg.start_time,
                       duration_minutes=180, place="Zaal")
    db.session.add_all([past, upcoming])
    db.session.commit()
    return overleg, past, upcoming


def count(model: type, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- putting a family on the agenda ------------------------------------------------------------

def test_an_involved_participant_puts_a_family_on_the_agenda_and_letters_are_made(app, region):
    overleg, _, meeting = meetings_of(region)
    family = household(region)
    prevention = overleg.sections[0]
    client = client_for(app, region.youth_worker)
    url = f"/vergaderingen/{meeting.id}"
    response = post_form(client, f"{url}/agenda", {
        "family": str(family.id), "agenda_section": str(prevention.id), "planned_minutes": "12",
        "decision_needed": "y"}, token_from=url)
    assert response.status_code == 302, html(response)[:3000]
    item = db.session.scalar(select(AgendaItem))
    assert (item.section_id, item.reasons, item.planned_minutes, item.inform_state) == (
        prevention.id, ["nieuw_signaal"], 12, "te_versturen")
    assert db.session.scalar(select(MeetingEvent.kind).where(MeetingEvent.item_id == item.id)) == "agenda_changed"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meetings.agenda_item_added"))
    db.session.rollback()  # end this test's read transaction: SQLite lets one writer in, the job
    jobqueue.drain(app)  # the letters job (and the match mails the household's involvements queued)
    db.session.expire_all()
    letters = db.session.scalars(select(Letter)).all()
    names = sorted(db.session.get(Person, letter.person_id).first_name for letter in letters)
    assert names == ["Sara", "Tim"]  # a parent and the 17-year-old; not Noor (14), never Carmen (secret address)
    item = db.session.get(AgendaItem, item.id)
    assert item.inform_state == "klaar"
    item.inform_state = "te_versturen"  # as if the job were delivered twice
    assert ops.make_letters(item, TODAY) == [] and count(Letter) == 2


@pytest.mark.parametrize(("who", "section_index", "message"), [
    ("teacher", 0, "waarbij uw organisatie betrokken is"),  # school sits at the table, is not involved
    ("officer", 0, "waarbij uw organisatie betrokken is"),  # police is involved, not at this table
])
def test_only_involved_organisations_at_the_table_may_add(app, region, who, section_index, message):
    overleg, _, meeting = meetings_of(region)
    family = household(region)
    user = getattr(region, who)
    with pytest.raises(OperationError, match=message):
        ops.add_to_agenda(meeting, overleg.sections[section_index], family, user, actor_for(user))
    db.session.rollback()
    assert count(AgendaItem) == 0 and count(MeetingEvent) == 0


def test_a_family_is_on_a_meetings_agenda_once_and_never_on_a_closed_one(app, region):
    overleg, past, meeting = meetings_of(region)
    family = household(region)
    ops.add_to_agenda(meeting, overleg.sections[1], family, region.officer, actor_for(region.officer))
    with pytest.raises(OperationError, match="staat al op de agenda"):
        ops.add_to_agenda(meeting, overleg.sections[0], family, region.youth_worker, actor_for(region.youth_worker))
    past.status = "gesloten"
    with pytest.raises(OperationError, match="gesloten"):
        ops.add_to_agenda(past, overleg.sections[1], family, region.officer, actor_for(region.officer))


def test_a_section_without_an_involved_organisation_is_refused_even_for_the_chair(app, region):
    overleg, _, meeting = meetings_of(region)
    family = household(region, region.outside)  # only Jongerenwerk, which sits in no section
    with pytest.raises(OperationError, match="Geen van de organisaties"):
        ops.add_to_agenda(meeting, overleg.sections[0], family, region.chair, actor_for(region.chair))


# --- who sees what of the agenda ------------------------------------------------------------------

def test_each_participant_sees_only_the_items_of_their_sections(app, region):
    overleg, _, meeting = meetings_of(region)
    first, second = household(region), household(region)
    ops.add_to_agenda(meeting, overleg.sections[0], first, region.youth_worker, actor_for(region.youth_worker))
    ops.add_to_agenda(meeting, overleg.sections[1], second, region.officer, actor_for(region.officer))
    db.session.commit()
    url = f"/vergaderingen/{meeting.id}"

    def agenda_of(user) -> str:  # the agenda, not the form that offers households to add
        page = html(client_for(app, user).get(url))
        return page[page.index('id="agenda"'):page.index("Gezin aanmelden") if "Gezin aanmelden" in page else None]

    teacher = agenda_of(region.teacher)
    assert first.pseudonym in teacher and second.pseudonym not in teacher
    officer = agenda_of(region.officer)
    assert second.pseudonym in officer and first.pseudonym not in officer
    chair = agenda_of(region.chair)
    assert first.pseudonym in chair and second.pseudonym in chair
    assert "2 gezinnen zijn nog niet geïnformeerd" in chair
    assert "nog niet geïnformeerd" not in teacher  # the informing state is the runners' business


def test_the_agenda_page_costs_the_same_statements_however_many_items(app, region):
    overleg, _, meeting = meetings_of(region)
    client = client_for(app, region.chair)
    url = f"/vergaderingen/{meeting.id}"

    def statements() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    def add(n: int) -> None:
        for _ in range(n):
            ops.add_to_agenda(meeting, overleg.sections[n % 2], household(region), region.chair,
                              actor_for(region.chair))
        db.session.commit()

    add(2)
    few = statements()
    add(6)
    assert statements() == few


# --- preparing: the follow-ups ---------------------------------------------------------------------

def test_preparing_brings_back_stalled_and_unfinished_families_with_their_reasons(app, region):
    overleg, past, meeting = meetings_of(region)
    # Only the police is involved: no match between organisations that could bring them back.
    stalled, calm = household(region, region.police), household(region, region.police)
    for family in (stalled, calm):
        ops.add_to_agenda(past, overleg.sections[1], family, region.officer, actor_for(region.officer))
    db.session.execute(update(AgendaItem).where(AgendaItem.family_id == calm.id).values(status="besproken"))
    officer = actor_for(region.officer)
    plan = core.start_plan(stalled, region.officer, officer, TODAY - timedelta(days=30))
    goal = core.add_goal(plan, "school", GOAL, region.officer, officer)
    action, _ = core.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=region.officer,
                                owner_member=None, due=TODAY + timedelta(days=10), due_text=None, agreed_by=None,
                                agreed_on=None, actor=officer, today=TODAY)
    db.session.execute(update(PlanAction).where(PlanAction.id == action.id).values(due=TODAY - timedelta(days=2)))
    db.session.commit()

    client = client_for(app, region.secretary)
    url = f"/vergaderingen/{meeting.id}"
    response = post_form(client, f"{url}/voorbereiden", {}, token_from=url, follow_redirects=True)
    assert "Voorbereid: 1 gezin terug op de agenda" in html(response)
    [item] = db.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).all()
    previous = db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == past.id,
                                                          AgendaItem.family_id == stalled.id))
    assert (item.family_id, item.section_id, item.reasons, item.carried_from_id) == (
        stalled.id, overleg.sections[1].id, ["doorgeschoven", "acties_te_laat"], previous.id)
    assert db.session.get(Meeting, meeting.id).status == "voorbereid"
    assert "Vorige keer niet afgerond, Acties over de datum" in html(client.get(url))
    again = post_form(client, f"{url}/voorbereiden", {}, token_from=url, follow_redirects=True)
    assert "Voorbereid: 0 gezinnen" in html(again) and count(AgendaItem, AgendaItem.meeting_id == meeting.id) == 1


def test_only_runners_prepare(app, region):
    _, _, meeting = meetings_of(region)
    with pytest.raises(OperationError, match="voorzitter of secretaris"):
        ops.prepare_meeting(meeting, region.youth_worker, actor_for(region.youth_worker))


def test_a_follow_up_keeps_the_familys_informed_state(app, region):
    overleg, past, meeting = meetings_of(region)
    family = household(region)
    old = ops.add_to_agenda(past, overleg.sections[1], family, region.officer, actor_for(region.officer))
    ops.discuss_anonymously(old, "Melder loopt risico als het gezin het weet.", region.chair,
                            actor_for(region.chair))
    db.session.commit()
    [item] = ops.prepare_meeting(meeting, region.chair, actor_for(region.chair))
    assert (item.inform_state, item.inform_reason) == ("anoniem", "Melder loopt risico als het gezin het weet.")


# --- moving items ------------------------------------------------------------------------------------

def test_items_move_up_and_down_with_buttons_and_only_for_runners(app, region):
    overleg, _, meeting = meetings_of(region)
    families = [household(region) for _ in range(3)]
    items = [ops.add_to_agenda(meeting, overleg.sections[0], f, region.chair, actor_for(region.chair))
             for f in families]
    db.session.commit()
    url = f"/vergaderingen/{meeting.id}"
    chair = client_for(app, region.chair)
    seen = str(meeting.version)  # the version the page was rendered at
    post_form(chair, f"{url}/agenda/{items[2].id}/verplaatsen", {"direction": "op", "version": seen}, token_from=url)
    db.session.expire_all()
    order = db.session.scalars(select(AgendaItem.family_id).where(AgendaItem.meeting_id == meeting.id)
                               .order_by(AgendaItem.position)).all()
    assert order == [families[0].id, families[2].id, families[1].id]
    # A double click sends the same version twice: it moves once, the second says so.
    again = post_form(chair, f"{url}/agenda/{items[2].id}/verplaatsen", {"direction": "op", "version": seen},
                      token_from=url)
    assert again.status_code == 409 and "intussen gewijzigd" in html(again)
    db.session.expire_all()
    assert db.session.scalars(select(AgendaItem.family_id).where(AgendaItem.meeting_id == meeting.id)
                              .order_by(AgendaItem.position)).all() == order
    for bad in ("", "²", "-1", "x" * 30):
        response = post_form(chair, f"{url}/agenda/{items[2].id}/verplaatsen", {"direction": "op", "version": bad},
                             token_from=url)
        assert response.status_code == 400, bad
    worker = client_for(app, region.youth_worker)
    meeting = db.session.get(Meeting, meeting.id)
    response = post_form(worker, f"{url}/agenda/{items[0].id}/verplaatsen",
                         {"direction": "neer", "version": str(meeting.version)}, token_from=url)
    assert response.status_code == 422 and "voorzitter of secretaris" in html(response)
    with pytest.raises(OperationError, match="intussen gewijzigd"):
        ops.reorder(meeting, overleg.sections[0], [items[0].id], region.chair, actor_for(region.chair))


# --- informing the family ------------------------------------------------------------------------------

def letters_ready(app, region: Region) -> tuple[Meeting, AgendaItem, list[Letter]]:
    overleg, _, meeting = meetings_of(region)
    item = ops.add_to_agenda(meeting, overleg.sections[1], household(region), region.officer,
                             actor_for(region.officer))
    db.session.commit()
    jobqueue.drain(app)
    return meeting, db.session.get(AgendaItem, item.id), db.session.scalars(select(Letter)).all()


def test_the_letter_is_plain_dutch_names_only_the_addressee_and_is_audited(app, region, tmp_path):
    meeting, item, letters = letters_ready(app, region)
    sara = next(lt for lt in letters if db.session.get(Person, lt.person_id).first_name == "Sara")
    url = f"/vergaderingen/{meeting.id}/agenda/{item.id}/brieven/{sara.id}.pdf"
    response = client_for(app, region.secretary).get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text_ = " ".join(pdf_text(response.get_data()).split())
    assert "Beste Sara Jansen" in text_ and "Lekstraat 1, Leiden" in text_
    assert "Aan tafel zitten: CJG Test, Politie Test." in text_ and "Uw rechten" in text_
    for absent in ("oor ", "Tim", "Carmen", "Nieuw signaal", "nieuw_signaal"):
        assert absent not in text_
    opened = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "meetings.letter_opened"))
    assert opened.object_id == str(sara.id) and opened.purpose == "procesregie" and len(opened.subject_ids) == 1
    # A participant is not the one who sends letters; another meeting's ids do not fit.
    assert client_for(app, region.officer).get(url).status_code == 403
    other = f"/vergaderingen/{meeting.id}/agenda/{item.id}/brieven/{item.id}.pdf"
    assert client_for(app, region.secretary).get(other).status_code == 404


def test_marking_every_letter_sent_makes_the_family_informed(app, region):
    meeting, item, letters = letters_ready(app, region)
    client = client_for(app, region.secretary)
    url = f"/vergaderingen/{meeting.id}"
    for letter in letters:
        response = post_form(client, f"{url}/agenda/{item.id}/brieven/{letter.id}/verstuurd", {}, token_from=url)
        assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(AgendaItem, item.id).inform_state == "verstuurd"
    assert "nog niet geïnformeerd" not in html(client.get(url))
    with pytest.raises(OperationError, match="al als verstuurd"):
        ops.mark_sent(letters[0], db.session.get(AgendaItem, item.id), region.secretary, actor_for(region.secretary),
                      TODAY)


@pytest.mark.parametrize(("fields", "message"), [
    ({"reason": "kort", "review_on": (TODAY + timedelta(days=7)).isoformat()}, "10 tot 1000 tekens"),
    ({"reason": "Gezin is in crisis; eerst stabiliseren.", "review_on": TODAY.isoformat()}, "binnen drie maanden"),
    ({"reason": "Gezin is in crisis; eerst stabiliseren.", "review_on": (TODAY + timedelta(days=120)).isoformat()},
     "binnen drie maanden"),
    ({"reason": "Gezin is in crisis; eerst stabiliseren.", "review_on": "morgen"}, "datum"),
])
def test_deferring_needs_a_reason_and_a_near_review_date(app, region, fields, message):
    meeting, item, _ = letters_ready(app, region)
    url = f"/vergaderingen/{meeting.id}"
    response = post_form(client_for(app, region.chair), f"{url}/agenda/{item.id}/uitstellen", fields, token_from=url)
    assert response.status_code == 422 and message in html(response)
    db.session.expire_all()
    assert db.session.get(AgendaItem, item.id).inform_state == "klaar"


def test_deferring_and_anonymous_discussion_are_recorded_with_an_encrypted_reason(app, region):
    meeting, item, _ = letters_ready(app, region)
    url = f"/vergaderingen/{meeting.id}"
    client = client_for(app, region.chair)
    reason = "Veilig Thuis onderzoek loopt; eerst afstemmen met VT."
    response = post_form(client, f"{url}/agenda/{item.id}/uitstellen", {
        "reason": reason, "review_on": (TODAY + timedelta(days=14)).isoformat()}, token_from=url,
        follow_redirects=True)
    assert "Informeren uitgesteld" in html(response)
    raw = db.session.execute(text("SELECT inform_reason FROM agenda_item")).scalar()
    assert reason not in raw and "Veilig" not in raw
    db.session.expire_all()
    assert db.session.get(AgendaItem, item.id).inform_reason == reason
    post_form(client, f"{url}/agenda/{item.id}/anoniem", {"reason": "Toch anoniem: melder beschermen."},
              token_from=url)
    db.session.expire_all()
    assert db.session.get(AgendaItem, item.id).inform_state == "anoniem"
    assert {e.action for e in db.session.scalars(select(AuditEntry))} >= {
        "meetings.inform_deferred", "meetings.inform_anonymous"}
