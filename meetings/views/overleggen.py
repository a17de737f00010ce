"""Overleggen and meetings on screen: the list of one's overleggen, setting one up with its
sections, planning a year's dates, a meeting's attendance and guests, and the personal
calendar feed. Thin: load, check who may, call an operation, render."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from meetings import operations as ops
from meetings import queries
from meetings.forms import (
    AgendaAddForm,
    AnonymousForm,
    AttendanceForm,
    DeferForm,
    GuestForm,
    ItemMoveForm,
    OverlegForm,
    SectionFields,
    SectionForm,
    YearForm,
)
from meetings.ical import calendar
from meetings.models import (
    AGENDA_REASONS,
    ATTENDANCE_STATES,
    INFORM_STATES,
    ITEM_STATES,
    MEETING_STATES,
    OVERLEG_KINDS,
    WEEKDAYS,
    Attendance,
    Guest,
    Meeting,
    Overleg,
    Section,
)
from meetings.policy import admitted_section_ids, manages, overleggen_of, sees
from meetings.views import bp
from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.forms import ConfirmForm
from netwerk.models import Organisation, User
from netwerk.operations.common import OperationError
from netwerk.web import Page, load_or_404, permission_required, refused, submitted
from privacy.queries import covenant_in_force, labels


def _today() -> date:
    return utcnow().date()


def _visible_overleg(overleg_id: str) -> Overleg:
    overleg = load_or_404(Overleg, overleg_id)
    if not sees(current_user, overleg):
        abort(404)  # an overleg one does not take part in answers like one that does not exist
    return overleg


def _section_choices(form: SectionFields) -> None:
    covenant = covenant_in_force(_today())
    purposes, _ = labels(covenant)
    form.section_purpose.choices = [SelectChoice(code, label) for code, label in purposes.items()]
    orgs = db.session.scalars(select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name))
    form.section_parties.choices = [SelectChoice(str(o.id), o.name) for o in orgs]


def _users_with(role: str) -> list[SelectChoice]:
    users = [u for u in db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name))
             if role in u.roles]
    return [SelectChoice(str(u.id), f"{u.name} ({u.organisation.name})") for u in users]


def _overleg_form() -> OverlegForm:
    form = OverlegForm()
    _section_choices(form)
    form.chairs.choices = _users_with("voorzitter")
    form.secretary.choices = _users_with("secretaris")
    if not form.is_submitted():
        form.every_weeks.data, form.duration_minutes.data = 2, 180
        if str(current_user.id) in {c.value for c in form.chairs.choices}:
            form.chairs.data = [str(current_user.id)]
    return form


def _ids(values: list[str] | None) -> tuple[uuid.UUID, ...]:
    return tuple(uuid.UUID(v) for v in values or ())


def _section_spec(form: SectionFields) -> ops.SectionSpec:
    return ops.SectionSpec(form.section_name.data, form.section_purpose.data, _ids(form.section_parties.data))


# --- overleggen ---------------------------------------------------------------------------

@bp.route("/overleggen")
@permission_required("meetings.view")
def index() -> Page:
    overleggen = overleggen_of(current_user)
    upcoming = {o.id: db.session.scalar(select(Meeting).where(Meeting.overleg_id == o.id, Meeting.date >= _today())
                                        .order_by(Meeting.date).limit(1)) for o in overleggen}
    return render_template("meetings/index.html", overleggen=overleggen, upcoming=upcoming, kinds=OVERLEG_KINDS,
                           weekdays=WEEKDAYS)


@bp.route("/overleggen/nieuw", methods=["GET", "POST"])
@permission_required("meetings.create")
def create() -> Page:
    form = _overleg_form()
    if form.validate_on_submit():
        spec = ops.OverlegSpec(
            name=form.name.data, kind=form.kind.data, every_weeks=form.every_weeks.data,
            first_date=form.first_date.data, start_time=form.start_time.data,
            duration_minutes=form.duration_minutes.data, place=form.place.data,
            chair_ids=_ids(form.chairs.data), secretary_id=uuid.UUID(form.secretary.data),
            sections=(_section_spec(form),))
        try:
            overleg = ops.create_overleg(spec, current_actor(), _today())
        except OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Het overleg is aangemaakt. Voeg zo nodig onderdelen toe en plan de data.", "success")
            return redirect(url_for("meetings.show", overleg_id=overleg.id))
    return render_template("meetings/new.html", form=form), 422 if form.is_submitted() else 200


def _overleg_page(overleg: Overleg, status: int = 200, **forms: object) -> Page:
    purposes, _ = labels(covenant_in_force(_today()))
    names = dict(db.session.execute(select(Organisation.id, Organisation.name)).all())
    meetings = db.session.scalars(select(Meeting).where(Meeting.overleg_id == overleg.id)
                                  .order_by(Meeting.date)).all()
    section_form = forms.get("section_form") or SectionForm()
    _section_choices(section_form)
    year_form = forms.get("year_form") or YearForm(year=_today().year)
    members = {m.user_id: db.session.get(User, m.user_id) for m in overleg.members}
    return render_template(
        "meetings/show.html", overleg=overleg, meetings=meetings, purposes=purposes, names=names,
        kinds=OVERLEG_KINDS, weekdays=WEEKDAYS, states=MEETING_STATES, members=members,
        manages=manages(current_user, overleg), admitted=admitted_section_ids(current_user, overleg),
        section_form=section_form, year_form=year_form, today=_today(),
    ), status


@bp.route("/overleggen/<overleg_id>")
@permission_required("meetings.view")
def show(overleg_id: str) -> Page:
    return _overleg_page(_visible_overleg(overleg_id))


@bp.route("/overleggen/<overleg_id>/onderdelen", methods=["POST"])
@permission_required("meetings.view")
def add_section(overleg_id: str) -> Page:
    overleg = _visible_overleg(overleg_id)
    form = SectionForm()
    _section_choices(form)
    if form.validate_on_submit() and submitted(
            form, lambda: ops.add_section(overleg, _section_spec(form), current_user, current_actor(), _today()),
            "Onderdeel toegevoegd."):
        return redirect(url_for("meetings.show", overleg_id=overleg.id))
    return _overleg_page(overleg, 422, section_form=form)


@bp.route("/overleggen/<overleg_id>/jaarplanning", methods=["POST"])
@permission_required("meetings.view")
def plan_year(overleg_id: str) -> Page:
    overleg = _visible_overleg(overleg_id)
    if not manages(current_user, overleg):
        abort(403)
    form = YearForm()
    if form.validate_on_submit():
        try:
            planned = ops.plan_year(overleg, form.year.data, current_actor(), _today())
        except OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash(_planned_message(planned), "success")
            for day, holiday in planned.skipped:
                flash(f"{day.strftime('%d-%m-%Y')} is {holiday}: niet gepland. Kies zo nodig een andere dag.",
                      "info")
            return redirect(url_for("meetings.show", overleg_id=overleg.id))
    return _overleg_page(overleg, 422, year_form=form)


def _planned_message(planned: ops.PlannedYear) -> str:
    made = len(planned.created)
    text = f"{made} {'overleg' if made == 1 else 'overleggen'} gepland"
    return text + (f"; {planned.existing} stonden al gepland." if planned.existing else ".")


# --- one meeting ----------------------------------------------------------------------------

def visible_meeting(meeting_id: str) -> Meeting:
    meeting = load_or_404(Meeting, meeting_id)
    if not sees(current_user, meeting.overleg):
        abort(404)
    return meeting


def _participants(section: Section) -> list[User]:
    """Everyone who may sit at the table for ``section``: its parties' case workers and the
    overleg's chairs and secretary."""
    members = {m.user_id for m in section.overleg.members}
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)).all()
    return [u for u in users if (u.organisation_id in section.organisation_ids and "deelnemer" in u.roles)
            or u.id in members]


def _meeting_forms(meeting: Meeting, sections: list[Section]) -> tuple[AttendanceForm, GuestForm]:
    attendance, guest = AttendanceForm(), GuestForm()
    attendance.section.choices = guest.guest_section.choices = [SelectChoice(str(s.id), s.name) for s in sections]
    people = {u.id: u for s in sections for u in _participants(s)}
    attendance.user.choices = [SelectChoice(str(u.id), f"{u.name} ({u.organisation.name})") for u in people.values()]
    return attendance, guest


def agenda_form_choices(form: AgendaAddForm, meeting: Meeting) -> None:
    """Sections the user may add to, and households their organisation (or, for a chair or
    secretary, any organisation of those sections) is involved with."""
    runs = manages(current_user, meeting.overleg)
    sections = [s for s in meeting.overleg.sections
                if runs or current_user.organisation_id in s.organisation_ids]
    orgs = set().union(*(s.organisation_ids for s in sections)) if runs else {current_user.organisation_id}
    form.agenda_section.choices = [SelectChoice(str(s.id), s.name) for s in sections]
    form.family.choices = [SelectChoice(str(fid), name) for fid, name in queries.families_to_add(orgs)]


def meeting_page(meeting: Meeting, status: int = 200, **forms: object) -> Page:
    admitted = admitted_section_ids(current_user, meeting.overleg)
    sections = [s for s in meeting.overleg.sections if s.id in admitted]
    attendance_form, guest_form = _meeting_forms(meeting, sections)
    agenda_form = forms.get("agenda_form") or AgendaAddForm()
    agenda_form_choices(agenda_form, meeting)
    rows = db.session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                       Attendance.section_id.in_(admitted))).all()
    recorded = {(a.section_id, a.user_id): a.status for a in rows}
    guests = db.session.scalars(select(Guest).where(Guest.meeting_id == meeting.id, Guest.section_id.in_(admitted))
                                .order_by(Guest.recorded_at)).all()
    runs = manages(current_user, meeting.overleg)
    return render_template(
        "meetings/meeting.html", meeting=meeting, sections=sections, recorded=recorded, guests=guests,
        participants={s.id: _participants(s) for s in sections}, states=MEETING_STATES,
        attendance_states=ATTENDANCE_STATES, manages=runs,
        attendance_form=forms.get("attendance_form") or attendance_form,
        guest_form=forms.get("guest_form") or guest_form,
        agenda=queries.agenda(meeting, admitted, reveal_anonymous=runs),
        agenda_form=agenda_form, reasons=AGENDA_REASONS, inform_states=INFORM_STATES,
        item_states=ITEM_STATES, confirm=ConfirmForm(), move_form=ItemMoveForm(version=str(meeting.version)),
        defer_form=forms.get("defer_form") or DeferForm(), anonymous_form=forms.get("anonymous_form")
        or AnonymousForm(), form_item=forms.get("form_item"),
    ), status


@bp.route("/vergaderingen/<meeting_id>")
@permission_required("meetings.view")
def meeting(meeting_id: str) -> Page:
    return meeting_page(visible_meeting(meeting_id))


def _section_of(meeting: Meeting, value: str | None) -> Section:
    section = db.session.get(Section, uuid.UUID(value)) if value else None
    if section is None or section.overleg_id != meeting.overleg_id:
        abort(404)
    return section


@bp.route("/vergaderingen/<meeting_id>/aanwezigheid", methods=["POST"])
@permission_required("meetings.view")
def attendance(meeting_id: str) -> Page:
    meeting = visible_meeting(meeting_id)
    sections = [s for s in meeting.overleg.sections if s.id in admitted_section_ids(current_user, meeting.overleg)]
    form, _ = _meeting_forms(meeting, sections)
    if form.validate_on_submit():
        person = db.session.get(User, uuid.UUID(form.user.data))
        section = _section_of(meeting, form.section.data)
        if submitted(form, lambda: ops.record_attendance(meeting, section, person, form.status.data, current_user,
                                                         current_actor()), "Aanwezigheid vastgelegd."):
            return redirect(url_for("meetings.meeting", meeting_id=meeting.id))
    return meeting_page(meeting, 422, attendance_form=form)


@bp.route("/vergaderingen/<meeting_id>/gasten", methods=["POST"])
@permission_required("meetings.view")
def add_guest(meeting_id: str) -> Page:
    meeting = visible_meeting(meeting_id)
    sections = [s for s in meeting.overleg.sections if s.id in admitted_section_ids(current_user, meeting.overleg)]
    _, form = _meeting_forms(meeting, sections)
    if form.validate_on_submit():
        spec = ops.GuestSpec(form.guest_name.data, form.guest_organisation.data, form.guest_role.data,
                             bool(form.statement_signed.data))
        section = _section_of(meeting, form.guest_section.data)
        if submitted(form, lambda: ops.add_guest(meeting, section, spec, current_user, current_actor(), _today()),
                     "Gast toegevoegd."):
            return redirect(url_for("meetings.meeting", meeting_id=meeting.id))
    return meeting_page(meeting, 422, guest_form=form)


# --- the calendar feed ------------------------------------------------------------------------

@bp.route("/overleggen/agenda-abonnement", methods=["GET", "POST"])
@permission_required("meetings.view")
def calendar_feed() -> Page:
    form = ConfirmForm()
    address = None
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        token = ops.issue_calendar_feed(current_user, current_actor())
        db.session.commit()
        # Shown once, in this answer only; every page is sent with Cache-Control: no-store.
        address = url_for("meetings.feed", token=token, _external=True)
    return render_template("meetings/feed.html", form=form, address=address)


@bp.route("/agenda/<token>.ics")
def feed(token: str) -> Response:
    user = ops.feed_owner(token)
    if user is None:
        abort(404)
    overleg_ids = [o.id for o in overleggen_of(user)]
    meetings = db.session.scalars(select(Meeting).where(Meeting.overleg_id.in_(overleg_ids),
                                                        Meeting.date >= _today().replace(month=1, day=1))
                                  .order_by(Meeting.date)).all()
    body = calendar(meetings, "Netwerk: overleggen", utcnow())
    db.session.commit()  # the feed's last use
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": "inline; filename=netwerk.ics"})
