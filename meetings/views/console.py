"""The chair's console and the projector.

The console is the chair's laptop: go live, step through the agenda (buttons here; the
keyboard shortcuts live in static/console.js), record structured decisions, blank the
projector, hand out or revoke the projector's link, and close. Every form carries the
meeting version the chair saw; a stale one gets the new state and a Dutch message.

The projector page is opened with a meeting-scoped secret link, no account. It shows the
frame of the item on the wall — pseudonym, section, zorgcoördinator, action counts and
decisions just taken — and never a text from a plan or note, a category, a BSN or an
address; items of other sections never appear.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from meetings import operations as ops
from meetings import queries
from meetings.forms import (
    ConsoleAttendanceForm,
    ConsoleForm,
    DecisionForm,
    ItemMoveForm,
    MeetingActionForm,
    OrderForm,
)
from meetings.models import ATTENDANCE_STATES, DECISION_KINDS, MEETING_STATES, AgendaItem, Attendance, Decision, Meeting
from meetings.policy import manages
from meetings.views import bp
from meetings.views.live import projector_view, stream_position
from meetings.views.overleggen import _participants as participants_of
from meetings.views.overleggen import visible_meeting
from netwerk.auth import current_actor
from netwerk.content import PlanContent
from netwerk.db import db, utcnow
from netwerk.models import Family, User
from netwerk.models.plans import ACTION_STATES, LIFE_DOMAINS, Plan
from netwerk.operations.common import OperationError
from netwerk.operations.plans import SmartRefused, involved_org_ids
from netwerk.validators import small_number
from netwerk.web import Page, load_or_404, open_plan, permission_required, read_plan, work_actor


def _chaired(meeting_id: str) -> Meeting:
    meeting = visible_meeting(meeting_id)
    if not manages(current_user, meeting.overleg):
        abort(403)
    return meeting


def _decisions(item_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Decision]]:
    found: dict[uuid.UUID, list[Decision]] = {}
    for decision in db.session.scalars(select(Decision).where(Decision.agenda_item_id.in_(item_ids))
                                       .order_by(Decision.decided_at)):
        found.setdefault(decision.agenda_item_id, []).append(decision)
    return found


def _decision_form(meeting: Meeting, current: AgendaItem | None) -> DecisionForm:
    form = DecisionForm(version=str(meeting.version))
    if current is not None:
        form.user_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(str(u.id), f"{u.name} ({u.organisation.name})") for u in _professionals(current.family_id)
            if "deelnemer" in u.roles]
    return form


def _professionals(family_id: uuid.UUID) -> list[User]:
    """Active people of the organisations involved with the family ("that"-level)."""
    involved = involved_org_ids(family_id)
    return list(db.session.scalars(select(User).where(User.organisation_id.in_(involved), User.active.is_(True))
                                   .order_by(User.name))) if involved else []


@dataclass
class CurrentReading:
    """The item on the wall as the chair may read it: the plan through the gate (its goals
    are the choices for a new action) or why there is none."""

    family: Family | None = None
    plan: Plan | None = None
    content: PlanContent | None = None


def _reading(current: AgendaItem | None) -> CurrentReading:
    if current is None:
        return CurrentReading()
    family = db.session.get(Family, current.family_id)
    plan = open_plan(family)
    return CurrentReading(family, plan, read_plan(family, plan, queries.MEETING_PARTS).content if plan else None)


def _action_form(meeting: Meeting, current: AgendaItem | None, reading: CurrentReading,
                 form: MeetingActionForm | None = None) -> MeetingActionForm:
    form = form or MeetingActionForm(version=str(meeting.version),
                                     family=str(current.family_id) if current else "")
    goals = [g for g in (reading.content.goals if reading.content else []) if g.running]
    form.goal_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(g.id), f"{LIFE_DOMAINS[g.domain]}: {g.text[:60]}") for g in goals]
    people = _professionals(current.family_id) if current else []
    form.owner.choices = [SelectChoice("", "—")] + [SelectChoice(str(u.id), f"{u.name} ({u.organisation.name})")
                                                    for u in people]
    return form


def _attendance(meeting: Meeting) -> tuple[dict[uuid.UUID, list[User]], dict[tuple[uuid.UUID, uuid.UUID], str]]:
    rows = db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))
    return ({s.id: participants_of(s) for s in meeting.overleg.sections},
            {(a.section_id, a.user_id): a.status for a in rows})


def console_page(meeting: Meeting, status: int = 200, decision_form: DecisionForm | None = None,
                 action_form: MeetingActionForm | None = None, advice: tuple = ()) -> Page:
    """The console; ``?deel=1`` renders its regions only (what the live script swaps in).
    Reading the item on the wall goes through the gate, so this commits its audit entries."""
    position = stream_position(meeting)  # before the state it shows: no event falls in between
    running = ops.ordered_items(meeting)
    sections = {s.id for s in meeting.overleg.sections}
    rows = {r.item.id: r for rows in queries.agenda(meeting, sections, reveal_anonymous=True).values() for r in rows}
    current = next((i for i in running if i.id == meeting.current_item_id), None)
    reading = _reading(current)
    participants, recorded = _attendance(meeting)
    page = render_template(
        "meetings/console.html", meeting=meeting, running=running, rows=rows, current=current,
        decisions=_decisions([i.id for i in running]), kinds=DECISION_KINDS, states=MEETING_STATES,
        form=ConsoleForm(version=str(meeting.version)), reading=reading, action_states=ACTION_STATES,
        decision_form=decision_form or _decision_form(meeting, current),
        action_form=_action_form(meeting, current, reading, action_form), advice=advice,
        attendance_form=ConsoleAttendanceForm(version=str(meeting.version)), attendance_states=ATTENDANCE_STATES,
        participants=participants, recorded=recorded, move_form=ItemMoveForm(version=str(meeting.version)),
        order_form=OrderForm(version=str(meeting.version)), now=utcnow(), fragment=request.args.get("deel") == "1",
        stream_from=position,
    )
    db.session.commit()  # the gate's audit entries, once rendered
    return page, status


@bp.route("/vergaderingen/<meeting_id>/console")
@permission_required("meetings.view")
def console(meeting_id: str) -> Page:
    return console_page(_chaired(meeting_id))


def _act(meeting_id: str, act: Callable[[Meeting, int], Any], done: str | None = None) -> Page:
    """Run one console step with the version the chair's form carried."""
    meeting = _chaired(meeting_id)
    form = ConsoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        act(meeting, _version(form.version.data))
    except OperationError as exc:
        return _refused(meeting, exc)
    db.session.commit()
    if done:
        flash(done, "success")
    return redirect(url_for("meetings.console", meeting_id=meeting.id))


def _steps() -> dict[str, Callable[[Meeting, int], Any]]:
    def who() -> tuple[User, Any]:
        return current_user, current_actor()

    return {
        "live": lambda m, v: ops.go_live(m, *who(), utcnow(), v),
        "volgende": lambda m, v: ops.step(m, +1, *who(), utcnow(), v),
        "vorige": lambda m, v: ops.step(m, -1, *who(), utcnow(), v),
        "besproken": lambda m, v: _discussed(m, v),
        "zwart": lambda m, v: ops.blank(m, not m.blanked, *who()),
        "sluiten": lambda m, v: ops.close(m, *who(), utcnow(), v),
    }


def _discussed(meeting: Meeting, version: int) -> None:
    if meeting.current_item_id is None:
        raise OperationError("Er staat geen punt op het scherm.")
    ops.mark_discussed(db.session.get(AgendaItem, meeting.current_item_id), current_user, current_actor())
    ops.step(meeting, +1, current_user, current_actor(), utcnow(), version)


@bp.route("/vergaderingen/<meeting_id>/console/<step>", methods=["POST"])
@permission_required("meetings.view")
def console_step(meeting_id: str, step: str) -> Page:
    steps = _steps()
    if step not in steps:
        abort(404)
    return _act(meeting_id, steps[step])


@bp.route("/vergaderingen/<meeting_id>/console/besluit", methods=["POST"])
@permission_required("meetings.view")
def decide(meeting_id: str) -> Page:
    meeting = _chaired(meeting_id)
    current = db.session.get(AgendaItem, meeting.current_item_id) if meeting.current_item_id else None
    form = _decision_form(meeting, current)
    if not form.validate_on_submit() or current is None:
        flash("Kies een besluit voor het punt op het scherm.", "error")
        return console_page(meeting, 422, form)
    spec = ops.DecisionSpec(form.kind.data, form.on_date.data,
                            uuid.UUID(form.user_id.data) if _is_uuid(form.user_id.data) else None)
    try:
        ops.record_decision(current, spec, current_user, current_actor(), utcnow().date(),
                            expected=_version(form.version.data))
    except OperationError as exc:
        return _refused(meeting, exc, decision_form=form)
    db.session.commit()
    flash("Besluit vastgelegd.", "success")
    return redirect(url_for("meetings.console", meeting_id=meeting.id))


def _is_uuid(value: str | None) -> bool:
    try:
        uuid.UUID(value or "")
    except ValueError:
        return False
    return True


def _uuid(value: str | None) -> uuid.UUID | None:
    return uuid.UUID(value) if _is_uuid(value) else None


def _version(value: str | None) -> int:
    """The version a form carried; anything but a small whole number is a 400."""
    number = small_number(value)
    if number is None:
        abort(400)
    return number


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _refused(meeting: Meeting, exc: OperationError, **forms: Any) -> Page:
    """Roll back, and answer with the new state and the Dutch message: 409 for a stale
    version, 422 for anything else (JSON for the console's script)."""
    db.session.rollback()
    db.session.refresh(meeting)
    status = 409 if isinstance(exc, ops.StaleMeeting) else 422
    if _wants_json():
        return jsonify({"ok": False, "message": exc.message, "version": meeting.version}), status
    flash(exc.message, "error")
    return console_page(meeting, status, **forms)


def _saved(meeting: Meeting, message: str, anchor: str = "") -> Page:
    db.session.commit()
    if _wants_json():
        return jsonify({"ok": True, "message": message, "version": meeting.version})
    flash(message, "success")
    return redirect(url_for("meetings.console", meeting_id=meeting.id) + anchor)


# --- SMART actions, inline ------------------------------------------------------------------

def _action_spec(form: MeetingActionForm) -> ops.ActionSpec:
    return ops.ActionSpec(goal_id=_uuid(form.goal_id.data), what=form.what.data or "",
                          done_when=form.done_when.data or "", owner_user_id=_uuid(form.owner.data),
                          due=form.due.data, due_text=form.due_text.data or None,
                          agreed_by=form.agreed_by.data or None, agreed_on=form.agreed_on.data)


@bp.route("/vergaderingen/<meeting_id>/console/actie", methods=["POST"])
@permission_required("meetings.view")
def console_action(meeting_id: str) -> Page:
    meeting = _chaired(meeting_id)
    form = MeetingActionForm()
    if not form.validate_on_submit():
        return _refused(meeting, OperationError(" ".join(_form_errors(form)) or "Vul de actie volledig in."),
                        action_form=form)
    try:
        _, verdict = ops.record_action(meeting, _uuid(form.family.data), _action_spec(form), current_user,
                                       work_actor(), utcnow().date(), _version(form.version.data))
    except SmartRefused as exc:
        db.session.rollback()
        for finding in exc.verdict.blocking:
            form.form_errors.append(finding.message)
        return _refused(meeting, exc, action_form=form, advice=exc.verdict.advice)
    except OperationError as exc:
        return _refused(meeting, exc, action_form=form)
    for finding in verdict.advice:
        flash(f"Tip: {finding.message}", "info")
    return _saved(meeting, "Actie vastgelegd.", "#nu")


def _form_errors(form: Any) -> list[str]:
    return [*form.form_errors, *(f"{field.label.text}: {e}" for field in form for e in field.errors)]


@bp.route("/vergaderingen/<meeting_id>/console/smart", methods=["POST"])
@permission_required("meetings.view")
def console_smart(meeting_id: str) -> Response | tuple[Response, int]:
    """The SMART checker as the chair types: the checker's Dutch findings as JSON; writes
    nothing (and reads no plan text: only the plan's dates and whether it asks the family's
    agreement)."""
    meeting = _chaired(meeting_id)
    form = MeetingActionForm()
    form.goal_id.choices = form.owner.choices = []
    form.validate()  # fills .data; the checker, not the form, judges the text
    if form.csrf_token.errors:
        abort(400)
    try:
        verdict = ops.check_action(meeting, _uuid(form.family.data), _action_spec(form), work_actor(),
                                   utcnow().date())
    except OperationError as exc:
        return jsonify({"ok": False, "findings": [{"letter": "", "code": exc.code, "message": exc.message,
                                                   "blocking": True, "field": exc.field}]}), 422
    return jsonify(verdict.as_dict())


# --- attendance and the order of the agenda ---------------------------------------------------

@bp.route("/vergaderingen/<meeting_id>/console/aanwezigheid", methods=["POST"])
@permission_required("meetings.view")
def console_attendance(meeting_id: str) -> Page:
    meeting = _chaired(meeting_id)
    form = ConsoleAttendanceForm()
    if not form.validate_on_submit():
        abort(400)
    section = next((s for s in meeting.overleg.sections if str(s.id) == form.section.data), None)
    person = db.session.get(User, _uuid(form.user.data)) if _uuid(form.user.data) else None
    try:
        if section is None or person is None:
            raise OperationError("Deze persoon neemt niet deel aan dit onderdeel.", field="user")
        ops.record_attendance_live(meeting, section, person, form.status.data, current_user, current_actor(),
                                   _version(form.version.data))
    except OperationError as exc:
        return _refused(meeting, exc)
    return _saved(meeting, f"Aanwezigheid van {person.name} vastgelegd.", "#aanwezigheid")


@bp.route("/vergaderingen/<meeting_id>/console/agenda/<item_id>/verplaatsen", methods=["POST"])
@permission_required("meetings.view")
def console_move(meeting_id: str, item_id: str) -> Page:
    meeting = _chaired(meeting_id)
    item = load_or_404(AgendaItem, item_id)
    if item.meeting_id != meeting.id:
        abort(404)
    form = ItemMoveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        ops.move_item(meeting, item, -1 if form.direction.data == "op" else +1, current_user, current_actor(),
                      _version(form.version.data))
    except OperationError as exc:
        return _refused(meeting, exc)
    return _saved(meeting, "Volgorde aangepast.", f"#punt-{item.id}")


@bp.route("/vergaderingen/<meeting_id>/console/volgorde", methods=["POST"])
@permission_required("meetings.view")
def console_reorder(meeting_id: str) -> Page:
    """A section's new order after a drag (the script posts the whole order)."""
    meeting = _chaired(meeting_id)
    form = OrderForm()
    if not form.validate_on_submit():
        abort(400)
    section = next((s for s in meeting.overleg.sections if str(s.id) == form.section.data), None)
    ids = [_uuid(v) for v in form.order.data.split(",")]
    if section is None or None in ids:
        abort(400)
    try:
        ops.reorder_items(meeting, section, ids, current_user, current_actor(), _version(form.version.data))
    except OperationError as exc:
        return _refused(meeting, exc)
    return _saved(meeting, "Volgorde aangepast.", "#agenda")


# --- the projector --------------------------------------------------------------------------------

@bp.route("/vergaderingen/<meeting_id>/console/projector", methods=["POST"])
@permission_required("meetings.view")
def projector_link(meeting_id: str) -> Page:
    meeting = _chaired(meeting_id)
    if not ConsoleForm().validate_on_submit():
        abort(400)
    try:
        token = ops.issue_projector_link(meeting, current_user, current_actor(), utcnow())
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return console_page(meeting, 422)
    db.session.commit()
    # Shown once, in this answer only: open it on the beamer PC.
    flash("Open dit adres op de beamer-pc (12 uur geldig, eerdere adressen vervallen): "
          + url_for("meetings.projector", token=token, _external=True), "info")
    return console_page(meeting)


@bp.route("/vergaderingen/<meeting_id>/console/projector/intrekken", methods=["POST"])
@permission_required("meetings.view")
def revoke_projector(meeting_id: str) -> Page:
    return _act(meeting_id, lambda m, v: ops.revoke_projector_links(m, current_user, current_actor(), utcnow()),
                "De projectorlink is ingetrokken.")


@bp.route("/projectie/<token>")
def projector(token: str) -> Response | str:
    meeting = ops.projector_meeting(token, utcnow())
    if meeting is None:
        abort(404)
    return projector_view(meeting, token)
