"""What closing a meeting sets in motion, besides ending it (``live.close``):

* **carry-over** — every item not discussed, and every family with actions still open,
  goes onto the overleg's next meeting that is not yet live or closed, in the same
  section, with the structured reason "doorgeschoven". A family already on that agenda
  gets the reason added. Safe to run twice: nothing is doubled.
* **the actions as they stood** — kept for the besluitenlijst, which stays the record of
  this meeting when the actions move on;
* **the besluitenlijst mails** — after commit, one job (``meetings.jobs.send_besluitenlijst``)
  mails every participant of each organisation that attended a section a link to the
  besluitenlijst; the mail carries no content.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from meetings.besluitenlijst import keep_actions_at_close
from meetings.models import AgendaItem, Meeting
from meetings.operations.agenda import OPEN_ACTION_STATES, _new_item, audit_item, publish
from netwerk.db import db, on_commit
from netwerk.models import Family, User
from netwerk.models.plans import Plan, PlanAction
from privacy.audit import Actor

CARRIED = "doorgeschoven"


def next_meeting(meeting: Meeting) -> Meeting | None:
    """The overleg's next meeting that can still take items (planned or prepared)."""
    return db.session.scalar(select(Meeting).where(
        Meeting.overleg_id == meeting.overleg_id, Meeting.date > meeting.date,
        Meeting.status.in_(("gepland", "voorbereid"))).order_by(Meeting.date).limit(1))


def _families_with_open_actions(family_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    return set(db.session.scalars(
        select(Plan.family_id).join(PlanAction, PlanAction.plan_id == Plan.id)
        .where(Plan.family_id.in_(family_ids), Plan.status != "afgesloten",
               PlanAction.status.in_(OPEN_ACTION_STATES)).distinct()))


def carry_over(meeting: Meeting, by: User | None, actor: Actor) -> list[AgendaItem]:
    """Put the unfinished of ``meeting`` on the next meeting's agenda; returns the items
    added there (families already on it only get the reason)."""
    target = next_meeting(meeting)
    if target is None:
        return []  # no next date planned: the secretary's preparation finds them later
    items = db.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                               .order_by(AgendaItem.position)).all()
    busy = _families_with_open_actions([i.family_id for i in items])
    unfinished = [i for i in items if i.status != "besproken" or i.family_id in busy]
    present = {i.family_id: i for i in db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == target.id))}
    added = []
    for item in sorted(unfinished, key=lambda i: (i.section.position, i.position)):
        there = present.get(item.family_id)
        if there is not None:
            if CARRIED not in there.reasons:
                there.reasons = [*there.reasons, CARRIED]
                publish(target, "agenda_changed", section_id=there.section_id, item_id=there.id)
            continue
        new = _new_item(target, item.section, db.session.get(Family, item.family_id), [CARRIED], by,
                        item.planned_minutes, carried_from=item)
        present[item.family_id] = new
        audit_item("meetings.agenda_item_added", new, actor, "carried over to next meeting", reasons=new.reasons,
                   carried_from=str(item.id))
        added.append(new)
    return added


def after_close(meeting: Meeting, by: User | None, actor: Actor) -> list[AgendaItem]:
    """Called by ``live.close`` in its transaction: carry over, and mail the besluitenlijst
    links once the close is committed."""
    added = carry_over(meeting, by, actor)
    keep_actions_at_close(meeting)
    on_commit(lambda meeting_id=str(meeting.id): _queue_mails(meeting_id))
    return added


def _queue_mails(meeting_id: str) -> None:
    from netwerk.jobqueue import enqueue  # noqa: PLC0415 - the job queue imports the app wiring

    enqueue("meetings.jobs.send_besluitenlijst", meeting_id, job_id=f"besluitenlijst-{meeting_id}")
