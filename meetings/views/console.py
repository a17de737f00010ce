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
from typing import Any

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from meetings import operations as ops
from meetings import queries
from meetings.forms import ConsoleForm, DecisionForm
from meetings.models import DECISION_KINDS, MEETING_STATES, AgendaItem, Decision, Meeting
from meetings.policy import manages
from meetings.views import bp
from meetings.views.overleggen import visible_meeting
from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.models import User
from netwerk.operations.common import OperationError
from netwerk.operations.plans import involved_org_ids
from netwerk.web import Page, permission_required


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
        involved = involved_org_ids(current.family_id)
        people = db.session.scalars(select(User).where(User.organisation_id.in_(involved), User.active.is_(True))
                                    .order_by(User.name))
        form.user_id.choices = [SelectChoice("", "—")] + [
            SelectChoice(str(u.id), f"{u.name} ({u.organisation.name})") for u in people if "deelnemer" in u.roles]
    return form


def console_page(meeting: Meeting, status: int = 200, decision_form: DecisionForm | None = None) -> Page:
    running = ops.ordered_items(meeting)
    sections = {s.id for s in meeting.overleg.sections}
    rows = {r.item.id: r for rows in queries.agenda(meeting, sections, reveal_anonymous=True).values() for r in rows}
    current = next((i for i in running if i.id == meeting.current_item_id), None)
    return render_template(
        "meetings/console.html", meeting=meeting, running=running, rows=rows, current=current,
        decisions=_decisions([i.id for i in running]), kinds=DECISION_KINDS, states=MEETING_STATES,
        form=ConsoleForm(version=str(meeting.version)),
        decision_form=decision_form or _decision_form(meeting, current), now=utcnow(),
    ), status


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
        act(meeting, int(form.version.data))
    except (ValueError, TypeError):
        abort(400)
    except OperationError as exc:
        db.session.rollback()
        db.session.refresh(meeting)
        flash(exc.message, "error")
        return console_page(meeting, 409 if isinstance(exc, ops.StaleMeeting) else 422)
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
    if form.version.data != str(meeting.version):
        flash(ops.StaleMeeting().message, "error")
        return console_page(meeting, 409)
    spec = ops.DecisionSpec(form.kind.data, form.on_date.data,
                            uuid.UUID(form.user_id.data) if _is_uuid(form.user_id.data) else None)
    try:
        ops.record_decision(current, spec, current_user, current_actor(), utcnow().date())
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return console_page(meeting, 422, form)
    db.session.commit()
    flash("Besluit vastgelegd.", "success")
    return redirect(url_for("meetings.console", meeting_id=meeting.id))


def _is_uuid(value: str | None) -> bool:
    try:
        uuid.UUID(value or "")
    except ValueError:
        return False
    return True


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
    current = db.session.get(AgendaItem, meeting.current_item_id) if meeting.current_item_id else None
    section = current.section if current else None
    rows = queries.agenda(meeting, {section.id}) if section else {}
    upcoming = [r for r in rows.get(section.id, []) if current and r.item.position > current.position][:4] \
        if section else []
    row = next((r for r in rows.get(section.id, []) if current and r.item.id == current.id), None) \
        if section else None
    decisions = _decisions([current.id]).get(current.id, []) if current else []
    return render_template("meetings/projector.html", meeting=meeting, section=section, row=row,
                           upcoming=upcoming, decisions=decisions, kinds=DECISION_KINDS, now=utcnow())
