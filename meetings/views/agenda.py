"""The agenda on screen: putting a family on it, the secretary's preparation, moving items
(with buttons, so the keyboard works as well as the mouse), and informing the family —
letters as PDF, marked sent, or deferred / anonymous with a reason."""

from __future__ import annotations

import uuid

from flask import Response, abort, flash, redirect, url_for
from flask_login import current_user

from meetings import letters
from meetings import operations as ops
from meetings.forms import AgendaAddForm, AnonymousForm, DeferForm, ItemMoveForm
from meetings.models import AgendaItem, Letter, Meeting, Section
from meetings.policy import admitted_section_ids, manages
from meetings.views import bp
from meetings.views.overleggen import agenda_form_choices, meeting_page, visible_meeting
from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.forms import ConfirmForm
from netwerk.models import Family
from netwerk.operations.common import OperationError
from netwerk.validators import small_number
from netwerk.web import Page, load_or_404, permission_required, submitted


def _back(meeting: Meeting, anchor: str = "agenda") -> Response:
    return redirect(url_for("meetings.meeting", meeting_id=meeting.id) + f"#{anchor}")


def _done(meeting: Meeting, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return _back(meeting)


@bp.route("/vergaderingen/<meeting_id>/agenda", methods=["POST"])
@permission_required("meetings.view")
def add(meeting_id: str) -> Page:
    meeting = visible_meeting(meeting_id)
    form = AgendaAddForm()
    agenda_form_choices(form, meeting)
    if form.validate_on_submit():
        family = db.session.get(Family, uuid.UUID(form.family.data))
        section = db.session.get(Section, uuid.UUID(form.agenda_section.data))
        if submitted(form, lambda: ops.add_to_agenda(meeting, section, family, current_user, current_actor(),
                                                     planned_minutes=form.planned_minutes.data,
                                                     decision_needed=bool(form.decision_needed.data)),
                     "Het gezin staat op de agenda. De brief aan het gezin wordt voorbereid."):
            return _back(meeting)
    return meeting_page(meeting, 422, agenda_form=form)


@bp.route("/vergaderingen/<meeting_id>/voorbereiden", methods=["POST"])
@permission_required("meetings.view")
def prepare(meeting_id: str) -> Page:
    meeting = visible_meeting(meeting_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        added = ops.prepare_meeting(meeting, current_user, current_actor())
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return meeting_page(meeting, 422)
    return _done(meeting, f"Voorbereid: {len(added)} {'gezin' if len(added) == 1 else 'gezinnen'} "
                          "terug op de agenda.")


def _item(meeting: Meeting, item_id: str) -> AgendaItem:
    """An item of this meeting in a section the user is admitted to."""
    item = load_or_404(AgendaItem, item_id)
    if item.meeting_id != meeting.id or item.section_id not in admitted_section_ids(current_user, meeting.overleg):
        abort(404)
    return item


@bp.route("/vergaderingen/<meeting_id>/agenda/<item_id>/verplaatsen", methods=["POST"])
@permission_required("meetings.view")
def move(meeting_id: str, item_id: str) -> Page:
    meeting = visible_meeting(meeting_id)
    item = _item(meeting, item_id)
    form = ItemMoveForm()
    if not form.validate_on_submit():
        abort(400)
    version = small_number(form.version.data)
    if version is None:
        abort(400)
    try:
        ops.move_item(meeting, item, -1 if form.direction.data == "op" else +1, current_user, current_actor(),
                      version)
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return meeting_page(meeting, 409 if exc.code == "verouderd" else 422)
    db.session.commit()
    return _back(meeting, f"item-{item.id}")


# --- informing the family ---------------------------------------------------------------------

def _runner_item(meeting_id: str, item_id: str) -> tuple[Meeting, AgendaItem]:
    meeting = visible_meeting(meeting_id)
    item = _item(meeting, item_id)
    if not manages(current_user, meeting.overleg):
        abort(403)
    return meeting, item


def _letter(item: AgendaItem, letter_id: str) -> Letter:
    letter = load_or_404(Letter, letter_id)
    if letter.agenda_item_id != item.id:
        abort(404)
    return letter


@bp.route("/vergaderingen/<meeting_id>/agenda/<item_id>/brieven/<letter_id>.pdf")
@permission_required("meetings.view")
def letter_pdf(meeting_id: str, item_id: str, letter_id: str) -> Response:
    _, item = _runner_item(meeting_id, item_id)
    letter = _letter(item, letter_id)
    pdf = letters.render(letter, item, current_actor(), utcnow().date())
    db.session.commit()  # the audit entry of reading name and address
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="brief-{letter.id}.pdf"'})


@bp.route("/vergaderingen/<meeting_id>/agenda/<item_id>/brieven/<letter_id>/verstuurd", methods=["POST"])
@permission_required("meetings.view")
def letter_sent(meeting_id: str, item_id: str, letter_id: str) -> Page:
    meeting, item = _runner_item(meeting_id, item_id)
    letter = _letter(item, letter_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        ops.mark_sent(letter, item, current_user, current_actor(), utcnow().date())
    except OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return meeting_page(meeting, 422)
    return _done(meeting, "Brief als verstuurd vastgelegd.")


@bp.route("/vergaderingen/<meeting_id>/agenda/<item_id>/uitstellen", methods=["POST"])
@permission_required("meetings.view")
def defer(meeting_id: str, item_id: str) -> Page:
    meeting, item = _runner_item(meeting_id, item_id)
    form = DeferForm()
    if form.validate_on_submit() and submitted(
            form, lambda: ops.defer(item, form.reason.data, form.review_on.data, current_user, current_actor(),
                                    utcnow().date()),
            "Informeren uitgesteld; de reden en de datum zijn vastgelegd."):
        return _back(meeting)
    return meeting_page(meeting, 422, defer_form=form, form_item=item.id)


@bp.route("/vergaderingen/<meeting_id>/agenda/<item_id>/anoniem", methods=["POST"])
@permission_required("meetings.view")
def anonymous(meeting_id: str, item_id: str) -> Page:
    meeting, item = _runner_item(meeting_id, item_id)
    form = AnonymousForm()
    if form.validate_on_submit() and submitted(
            form, lambda: ops.discuss_anonymously(item, form.reason.data, current_user, current_actor()),
            "Vastgelegd: dit gezin wordt anoniem besproken."):
        return _back(meeting)
    return meeting_page(meeting, 422, anonymous_form=form, form_item=item.id)
