"""The privacy officer's retention screens (/privacy/bewaartermijnen: the periods in force,
the dry run, its approval, the statistics, a new covenant version with other periods) and
the data subjects' requests (/privacy/verzoeken), plus the task page an organisation uses
to report a rectification. Thin: load, check, call :mod:`privacy.retention` or
:mod:`privacy.requests`, commit."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.policy import may
from netwerk.validators import small_number
from netwerk.web import load_or_404, permission_required
from privacy import requests as rights
from privacy import retention
from privacy.forms import DecisionForm, RequestForm, RetentionForm, RouteForm, TaskForm, retention_form
from privacy.models import CovenantVersion, RetentionRun, RetentionStatistic
from privacy.operations import RetentionSpec, spec_from_version
from privacy.queries import covenant_in_force
from privacy.register import build_register
from privacy.views import _editor, _prefill, _save

bp = Blueprint("privacy_retention", __name__, url_prefix="/privacy")
# The rectification task is for the organisation that owns the data, not for the privacy
# officer, so it lives outside /privacy (where every page is the privacy officer's).
tasks_bp = Blueprint("rectification", __name__, url_prefix="/correcties")
ROLE = "privacy"
EXTRA_ROWS = 3  # empty rows on the editor for new periods
SHOWN_LINES = 200  # of a dry run's lines per kind


def _today() -> date:
    return utcnow().date()


# --- retention --------------------------------------------------------------------------------

@bp.route("/bewaartermijnen")
@permission_required("retention.manage")
def retention_index() -> str:
    proposal = db.session.scalar(select(RetentionRun).where(RetentionRun.status == "voorstel")
                                 .order_by(RetentionRun.id.desc()).limit(1))
    runs = db.session.scalars(select(RetentionRun).where(RetentionRun.status == "uitgevoerd")
                              .order_by(RetentionRun.id.desc()).limit(10)).all()
    stats = db.session.execute(
        select(RetentionStatistic.kind, RetentionStatistic.reason, func.sum(RetentionStatistic.removed))
        .group_by(RetentionStatistic.kind, RetentionStatistic.reason)
        .order_by(RetentionStatistic.kind, RetentionStatistic.reason)).all()
    return render_template("privacy/retention/index.html", register=build_register(_today()), proposal=proposal,
                           runs=runs, stats=stats, kinds=retention.KIND_LABELS, shown=SHOWN_LINES)


@bp.route("/bewaartermijnen/proefrun", methods=["POST"])
@permission_required("retention.manage")
def dry_run() -> Response:
    run = retention.propose(_today(), current_actor(ROLE))
    db.session.commit()
    if run is None:
        flash("Er is vandaag niets verlopen; er is geen proefrun nodig.", "info")
    else:
        flash("De proefrun is klaar: bekijk hieronder wat verwijderd zou worden.", "success")
    return redirect(url_for("privacy_retention.retention_index"))


@bp.route("/bewaartermijnen/proefrun/<int:run_id>/uitvoeren", methods=["POST"])
@permission_required("retention.manage")
def approve(run_id: int) -> Response:
    run = db.session.get(RetentionRun, run_id)
    if run is None:
        abort(404)
    if request.form.get("bevestigd") != "ja":
        flash("Vink aan dat u de proefrun hebt bekeken; er is niets verwijderd.", "error")
        return redirect(url_for("privacy_retention.retention_index"))
    try:
        removed = retention.execute_run(run, current_actor(ROLE), _today())
    except retention.RetentionError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("privacy_retention.retention_index"))
    db.session.commit()
    flash(f"Uitgevoerd: {sum(removed.values())} gegevens verwijderd; het bewijs staat in het auditlog.", "success")
    return redirect(url_for("privacy_retention.retention_index"))


@bp.route("/bewaartermijnen/nieuwe-versie", methods=["GET", "POST"])
@permission_required("covenant.manage")
def new_periods() -> Response | str | tuple[str, int]:
    base = covenant_in_force(_today())
    if request.args.get("van"):
        base = db.session.get(CovenantVersion, small_number(request.args.get("van")) or 0)
    if base is None:
        abort(404)
    spec = spec_from_version(base)
    count = (request.form.get("regels", type=int) or 0) if request.method == "POST" else 0
    count = min(max(count, len(spec.retention) + EXTRA_ROWS), 100)
    form: RetentionForm = retention_form(count, {c: v[0] for c, v in spec.categories.items()}, spec.purposes)()
    if not form.is_submitted():
        _prefill(form, base)
        for n, period in enumerate(spec.retention, start=1):
            form.row(n, "kind").data, form.row(n, "category").data = period.kind, period.category
            form.row(n, "purpose").data, form.row(n, "months").data = period.purpose, period.months
            form.row(n, "grounds").data = period.grounds
    elif form.validate() and (done := _save(form, base, retention=_periods(form))):
        return done
    return _editor("privacy/retention/new_version.html", form, base, count=count, kinds=retention.KIND_LABELS,
                   triggers=retention.TRIGGERS)


def _periods(form: RetentionForm) -> list[RetentionSpec]:
    periods = []
    for n in range(1, form.count + 1):
        kind, months = form.row(n, "kind").data, form.row(n, "months").data
        if kind and months:
            periods.append(RetentionSpec(kind, months, form.row(n, "category").data or "*",
                                         form.row(n, "purpose").data or "*",
                                         (form.row(n, "grounds").data or "").strip()))
    return periods


# --- requests for erasure and rectification -----------------------------------------------------

def _refused(form: object, exc: rights.RequestError) -> None:
    field = getattr(form, {"persoon": "person", "soort": "kind", "ontvangen_op": "received_on",
                           "verzoeker": "requester", "gevraagd": "asked", "beslissing": "decision",
                           "reden": "reason", "organisaties": "organisations"}.get(exc.field or "", ""), None)
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)  # type: ignore[attr-defined]


@bp.route("/verzoeken")
@permission_required("retention.manage")
def requests_index() -> str:
    return render_template("privacy/requests/index.html", requests=rights.listing(), today=_today(),
                           kinds=rights.KIND_LABELS, states=rights.STATE_LABELS)


@bp.route("/verzoeken/nieuw", methods=["GET", "POST"])
@permission_required("retention.manage")
def new_request() -> Response | tuple[str, int]:
    form = RequestForm()
    if form.is_submitted() and form.validate():
        data = rights.NewRequest(form.kind.data, form.received_on.data, form.requester.data or "",
                                 form.asked.data or "")
        try:
            created = rights.register(rights.find_person(form.person.data or ""), data, current_actor(ROLE),
                                      _today())
        except rights.RequestError as exc:
            db.session.rollback()
            _refused(form, exc)
            if exc.message == rights.NOT_FOUND:
                rights.audit_miss(current_actor(ROLE))
                db.session.commit()
        else:
            db.session.commit()
            flash(f"Het verzoek is geregistreerd; beantwoorden vóór {created.respond_by:%d-%m-%Y}.", "success")
            return redirect(url_for("privacy_retention.request_detail", request_id=created.id))
    return render_template("privacy/requests/new.html", form=form), 422 if form.is_submitted() else 200


def _detail(item: rights.RightsRequest, decision: DecisionForm | None = None, route: RouteForm | None = None,
            status: int = 200) -> tuple[str, int]:
    route = route or RouteForm(formdata=None)
    route.organisations.choices = [(str(o.id), o.name) for o in rights.owners(item.person_id)]
    return render_template("privacy/requests/detail.html", item=item, today=_today(),
                           decision=decision or DecisionForm(formdata=None), route=route, kinds=rights.KIND_LABELS,
                           states=rights.STATE_LABELS, scopes=rights.SCOPE_LABELS,
                           tasks=rights.TASK_LABELS), status


@bp.route("/verzoeken/<request_id>")
@permission_required("retention.manage")
def request_detail(request_id: str) -> tuple[str, int]:
    return _detail(load_or_404(rights.RightsRequest, request_id))


@bp.route("/verzoeken/<request_id>/beslissen", methods=["POST"])
@permission_required("retention.manage")
def decide(request_id: str) -> Response | tuple[str, int]:
    item = load_or_404(rights.RightsRequest, request_id)
    form = DecisionForm()
    if form.validate():
        try:
            rights.decide(item, form.decision.data, form.reason.data or "", current_actor(ROLE))
        except rights.RequestError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash("De beslissing is vastgelegd.", "success")
            return redirect(url_for("privacy_retention.request_detail", request_id=item.id))
    return _detail(db.session.get(rights.RightsRequest, item.id), decision=form, status=422)


@bp.route("/verzoeken/<request_id>/uitvoeren", methods=["POST"])
@permission_required("retention.manage")
def carry_out(request_id: str) -> Response | tuple[str, int]:
    item = load_or_404(rights.RightsRequest, request_id)
    form = RouteForm()
    form.organisations.choices = [(str(o.id), o.name) for o in rights.owners(item.person_id)]
    if form.validate():
        try:
            if item.kind == "wissen":
                removed = rights.carry_out_erasure(item, current_actor(ROLE))
                done = f"Gewist: {sum(removed.values())} gegevens; het bewijs staat in het auditlog."
            else:
                chosen = [uuid.UUID(v) for v in form.organisations.data or []]
                rights.route_rectification(item, chosen, current_actor(ROLE))
                done = "De organisaties hebben een taak gekregen om hun gegevens te corrigeren."
        except rights.RequestError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash(done, "success")
            return redirect(url_for("privacy_retention.request_detail", request_id=request_id))
    return _detail(db.session.get(rights.RightsRequest, uuid.UUID(request_id)), route=form, status=422)


@tasks_bp.route("/<task_id>", methods=["GET", "POST"])
@login_required
def task(task_id: str) -> Response | tuple[str, int]:
    """For the organisation the task is routed to: what to correct, and reporting it done.
    Anyone else gets the same 404 as for a task that does not exist."""
    item = load_or_404(rights.RectificationTask, task_id)
    if not may(current_user, "persons.work") or item.organisation_id != current_user.organisation_id:
        abort(404)
    form = TaskForm()
    if form.is_submitted() and form.validate():
        try:
            rights.complete_task(item, form.outcome.data, current_actor())
        except rights.RequestError as exc:
            db.session.rollback()
            _refused(form, exc)
        else:
            db.session.commit()
            flash("De taak is afgehandeld. De privacy officer ziet dat het gedaan is, niet wat.", "success")
            return redirect(url_for("rectification.task", task_id=task_id))
    page = render_template("privacy/requests/task.html", task=item, form=form, kinds=rights.KIND_LABELS,
                           tasks=rights.TASK_LABELS)
    rights.task_viewed(item, current_actor())
    db.session.commit()
    return page, 422 if form.is_submitted() else 200
