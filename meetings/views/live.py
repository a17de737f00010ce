"""The screens that follow a live meeting: the participants' live view on their laptops,
and the projector's page and event stream.

Both follow the chair: "notify, then fetch". A screen opens the meeting's event stream
(ids only) and, on each event, fetches its own view again with ``?deel=1`` (the page's
live regions, without the site frame); every fetch reads through the privacy gate again,
so a screen never shows more than its viewer may see *now*.

The live view shows a participant only the sections they are admitted to
(:func:`meetings.policy.admitted_section_ids`) and, of those, not the ones they are
recorded absent for (afwezig, afgemeld): "only for the sections they attend". It follows
the item on the wall, or — with ``?punt=<item>`` — one item the participant picked
(browsing freely). Family content (the plan's goals and actions) is read with
:func:`netwerk.web.read_plan`, the plan page's own path, and audited; an item discussed
anonymously shows no content to anyone but the chair and secretary.

The projector has no account: its stream is opened with its secret link, admitted to the
section on the wall only (re-computed after every batch), and ends with ``einde``
``{"reden": "link"}`` as soon as the link is revoked, expires or the meeting closes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from flask import Response, abort, render_template, request, stream_with_context
from flask_login import current_user
from sqlalchemy import func, select

from meetings import operations as ops
from meetings import queries
from meetings.models import ATTENDANCE_STATES, DECISION_KINDS, AgendaItem, Attendance, Decision, Meeting, MeetingEvent
from meetings.policy import admitted_section_ids, manages
from meetings.views import bp
from meetings.views import stream as sse
from meetings.views.overleggen import visible_meeting
from netwerk.content import PlanContent
from netwerk.db import db, utcnow
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import ACTION_STATES, LIFE_DOMAINS, Plan, PlanAction
from netwerk.web import Page, load_or_404, open_plan, permission_required, read_plan

ABSENT = ("afwezig", "afgemeld")
WALL_ACTIONS = 6  # no scrolling on the wall: the soonest due, the rest counted


def stream_position(meeting: Meeting) -> int:
    """The meeting's last event id: a page rendered now resumes its stream after it. Read
    it *before* the state the page shows, so no event falls in between."""
    return db.session.scalar(select(func.coalesce(func.max(MeetingEvent.id), 0))
                             .where(MeetingEvent.meeting_id == meeting.id))


def decisions_of(item_id: uuid.UUID) -> list[Decision]:
    return list(db.session.scalars(select(Decision).where(Decision.agenda_item_id == item_id)
                                   .order_by(Decision.decided_at)))


# --- the participants' live view ---------------------------------------------------------------

def attended_section_ids(meeting: Meeting, user: User) -> set[uuid.UUID]:
    """Admitted sections, less those the user is recorded absent for (the chair and the
    secretary run the whole meeting and keep every section)."""
    admitted = admitted_section_ids(user, meeting.overleg)
    if manages(user, meeting.overleg):
        return admitted
    absent = set(db.session.scalars(select(Attendance.section_id).where(
        Attendance.meeting_id == meeting.id, Attendance.user_id == user.id, Attendance.status.in_(ABSENT))))
    return admitted - absent


@dataclass
class Shown:
    """The item a live view shows, with what the gate let this viewer read of its plan."""

    row: queries.AgendaRow
    decisions: list[Decision] = field(default_factory=list)
    plan: Plan | None = None
    content: PlanContent | None = None
    anonymous: bool = False


def _shown(row: queries.AgendaRow, runs: bool) -> Shown:
    shown = Shown(row, decisions_of(row.item.id), anonymous=row.item.inform_state == "anoniem" and not runs)
    if not shown.anonymous:
        family = db.session.get(Family, row.item.family_id)
        shown.plan = open_plan(family)
        if shown.plan is not None:
            shown.content = read_plan(family, shown.plan, queries.MEETING_PARTS).content  # through the gate, audited
    return shown


@bp.route("/vergaderingen/<meeting_id>/live")
@permission_required("meetings.view")
def live(meeting_id: str) -> Page:
    meeting = visible_meeting(meeting_id)
    position = stream_position(meeting)
    runs = manages(current_user, meeting.overleg)
    attended = attended_section_ids(meeting, current_user)
    sections = [s for s in meeting.overleg.sections if s.id in attended]
    agenda = queries.agenda(meeting, attended, reveal_anonymous=runs)
    rows = {r.item.id: r for s in sections for r in agenda[s.id]}
    picked = request.args.get("punt")
    if picked:
        chosen = load_or_404(AgendaItem, picked)
        if chosen.id not in rows:
            abort(404)  # another meeting's item, or a section this viewer does not attend
        target = chosen.id
    else:
        target = meeting.current_item_id
    shown = _shown(rows[target], runs) if target in rows else None
    page = render_template(
        "meetings/live.html", meeting=meeting, sections=sections, agenda=agenda, shown=shown,
        following=not picked, elsewhere=meeting.current_item_id is not None and meeting.current_item_id not in rows,
        kinds=DECISION_KINDS, action_states=ACTION_STATES, domains=LIFE_DOMAINS, attendance_states=ATTENDANCE_STATES,
        fragment=request.args.get("deel") == "1", stream_from=position, now=utcnow(),
    )
    db.session.commit()  # the gate's audit entries, once rendered
    return page


# --- the projector -------------------------------------------------------------------------------

@dataclass(frozen=True)
class WallAction:
    """An action as the wall shows it: who, by when, how far — never what."""

    owner: str
    due: str
    status: str
    late: bool


def wall_actions(family_id: uuid.UUID, today: datetime) -> tuple[list[WallAction], int]:
    """The open plan's running actions, soonest due first, and how many more there are."""
    rows = db.session.execute(
        select(PlanAction.due, PlanAction.status, User.name, Organisation.name, PlanAction.owner_member_id)
        .join(Plan, Plan.id == PlanAction.plan_id)
        .outerjoin(User, User.id == PlanAction.owner_user_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Plan.family_id == family_id, Plan.status != "afgesloten", PlanAction.status.in_(("open", "bezig")))
        .order_by(PlanAction.due)).all()
    shown = [WallAction(f"{name} ({org})" if name else "iemand uit het netwerk van het gezin",
                        due.strftime("%d-%m-%Y"), ACTION_STATES[status], due < today.date())
             for due, status, name, org, _member in rows[:WALL_ACTIONS]]
    return shown, max(0, len(rows) - WALL_ACTIONS)


def projector_view(meeting: Meeting, token: str) -> str:
    position = stream_position(meeting)
    current = db.session.get(AgendaItem, meeting.current_item_id) if meeting.current_item_id else None
    section = current.section if current else None
    rows = queries.agenda(meeting, {section.id}).get(section.id, []) if section else []
    row = next((r for r in rows if current and r.item.id == current.id), None)
    upcoming = [r for r in rows if current and r.item.position > current.position][:4]
    now = utcnow()
    actions, more = wall_actions(current.family_id, now) if row and row.pseudonym != queries.ANONYMOUS else ([], 0)
    return render_template("meetings/projector.html", meeting=meeting, section=section, row=row, upcoming=upcoming,
                           decisions=decisions_of(current.id) if current else [], kinds=DECISION_KINDS,
                           actions=actions, more_actions=more, now=now, token=token, stream_from=position,
                           fragment=request.args.get("deel") == "1")


def _wall_sections(meeting_id: uuid.UUID) -> set[uuid.UUID]:
    """The section of the item on the wall (none between items); ends the transaction."""
    try:
        item_id = db.session.scalar(select(Meeting.current_item_id).where(Meeting.id == meeting_id))
        section = db.session.scalar(select(AgendaItem.section_id).where(AgendaItem.id == item_id)) if item_id else None
        return {section} if section else set()
    finally:
        db.session.rollback()


def _link_ends(token: str) -> Callable[[sse.Subscriber], str | None]:
    """The projector stream goes on while its link is valid (it has no login session)."""
    def check(sub: sse.Subscriber) -> str | None:
        try:
            return None if ops.projector_meeting(token, utcnow()) is not None else "link"
        finally:
            db.session.rollback()
    return check


def _follow_the_wall(sub: sse.Subscriber) -> None:
    sub.sections = _wall_sections(sub.meeting_id)


@bp.route("/projectie/<token>/stroom")
def projector_stream(token: str) -> Response:
    meeting = ops.projector_meeting(token, utcnow())
    if meeting is None:
        abort(404)
    start = sse._start_id(meeting.id)
    if isinstance(start, str):
        db.session.rollback()
        return Response(start + "\n", status=400, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    cursor, beyond_end = start
    meeting_id = meeting.id
    db.session.rollback()
    sub = sse.Subscriber(meeting_id, uuid.UUID(int=0), None, _wall_sections(meeting_id), cursor)
    # The stream loop of meetings.views.stream, admitted by the link instead of a login
    # session, and to the section on the wall only.
    loop = sse._events(sub, beyond_end, _link_ends(token), _follow_the_wall)
    return Response(stream_with_context(loop), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
