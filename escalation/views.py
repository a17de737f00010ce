"""Escalation on screen: the stalled-cases board (what is stuck, at which level, since when,
the next deadline), a household's escalations with their history and the lifecycle steps
the viewer may take, and the quarterly report per overleg with its chart and CSV.

Thin: load (404 for what the viewer may not see — the same as for what does not exist),
check, call an operation in ``escalation.operations``, render. What each viewer is shown
is decided in ``escalation.queries`` (the minimal package for addressees up the ladder).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import Label
from wtforms.fields.choices import SelectChoice

from escalation import ladder, policy, queries, report
from escalation import operations as ops
from escalation.forms import DecideForm, LevelForm, NoteForm, RaiseForm, RuleForm, StepForm, rule_form
from escalation.models import LEVELS, REASON_CATEGORIES, RULE_CODES, SOURCES, STATUSES, STEP_KINDS, Escalation
from meetings.models import Overleg
from meetings.policy import manages
from netwerk.auth import current_actor
from netwerk.db import db, utcnow
from netwerk.models import Family, User
from netwerk.models.plans import ACTION_STATES
from netwerk.operations.plans import involved_org_ids
from netwerk.queries import organisations as organisation_list
from netwerk.web import Page, load_or_404, permission_required, submitted
from privacy.csvsafe import csv_response
from privacy.queries import parties_in_force

bp = Blueprint("escalation", __name__)

FORMS: dict[str, type[StepForm]] = {"opschalen": RaiseForm, "afwijzen": NoteForm, "ontvangen": StepForm,
                                    "besluiten": DecideForm, "oplossen": NoteForm, "afschalen": NoteForm}
DONE = {"opschalen": "Opgeschaald. De ontvangers krijgen een melding met een link.",
        "afwijzen": "Het voorstel is afgewezen.", "ontvangen": "Ontvangst bevestigd.",
        "besluiten": "Besluit vastgelegd.", "oplossen": "De escalatie is opgelost.",
        "afschalen": "De escalatie is afgeschaald."}
BAD_FILTER = "Dit filter bestaat niet: kies een overleg, niveau en status uit de lijsten."
LABELS = {"statuses": STATUSES, "action_states": ACTION_STATES, "reasons": REASON_CATEGORIES, "rules": RULE_CODES,
          "sources": SOURCES, "step_kinds": STEP_KINDS, "step_labels": queries.STEP_LABELS, "levels": LEVELS}


def _version(form: StepForm) -> int:
    try:
        return int(form.version.data or 0)
    except ValueError:
        return 0  # no version is ever 0: a tampered field reads as stale


def _run(step: str, esc: Escalation, form: Any) -> object:
    """The operation behind each step, with the version the viewer saw."""
    by, version, now = current_user._get_current_object(), _version(form), utcnow()
    actions: dict[str, Callable[[], object]] = {
        "opschalen": lambda: ops.raise_escalation(esc, by=by, reason_category=form.reason_category.data,
                                                  ask=form.ask.data, version=version, now=now),
        "afwijzen": lambda: ops.dismiss(esc, by=by, note=form.note.data, version=version, now=now),
        "ontvangen": lambda: ops.acknowledge(esc, by=by, version=version, now=now),
        "besluiten": lambda: ops.decide(esc, by=by, decision=form.decision.data, version=version, now=now),
        "oplossen": lambda: ops.resolve(esc, by=by, note=form.note.data, version=version, now=now),
        "afschalen": lambda: ops.deescalate(esc, by=by, note=form.note.data, version=version, now=now),
    }
    return actions[step]()


def _form(step: str, esc: Escalation, given: dict[tuple[uuid.UUID, str], StepForm]) -> StepForm:
    """The step's form for one escalation, with ids unique on a page that lists several."""
    form = given.get((esc.id, step)) or FORMS[step](formdata=None)
    if (esc.id, step) not in given:
        form.version.data = str(esc.version)
    for f in form:
        if f.type not in ("CSRFTokenField", "HiddenField", "SubmitField"):
            f.id = f"{step}-{f.name}-{esc.id}"
            f.label = Label(f.id, f.label.text)
    return form


def _visible(escalation_id: str) -> Escalation:
    esc = load_or_404(Escalation, escalation_id)
    if not policy.may_act(current_user, esc, "view"):
        abort(404)
    return esc


# --- the board -------------------------------------------------------------------------------

def _filters() -> tuple[dict[str, Any], str | None]:
    """The board's filters from the query string; a value that is not on offer is refused."""
    args, found = request.args, {}
    try:
        if args.get("overleg"):
            found["overleg_id"] = uuid.UUID(args["overleg"])
        if args.get("niveau"):
            found["level"] = int(args["niveau"])
            if found["level"] not in LEVELS:
                raise ValueError
        if args.get("status"):
            if args["status"] not in STATUSES:
                raise ValueError
            found["status"] = args["status"]
    except ValueError:
        return {}, BAD_FILTER
    return found, None


@bp.route("/opschaling")
@permission_required("escalations.view")
def board() -> Page | Response:
    user: User = current_user._get_current_object()
    if "escalatie" in request.args:  # a notification's link: to the escalation on its family page
        esc = _visible(request.args["escalatie"])
        return redirect(url_for("escalation.family", family_id=esc.household_id) + f"#escalatie-{esc.id}")
    filters, error = _filters()
    escalations = [] if error else queries.board(user, **filters)
    rows = queries.rows_for(user, escalations, utcnow().date(), "opschaling.bord")
    body = render_template("escalation/board.html", rows=rows, filters=filters, error=error, forms=_board_forms(rows),
                           overleggen=queries.overleggen_on_board(user, escalations), **LABELS)
    db.session.commit()  # the gate's audit entries, once rendered
    return body, 400 if error else 200


def _board_forms(rows: list[queries.Row]) -> dict[tuple[uuid.UUID, str], StepForm]:
    """One-click steps right on the board; steps that need words go to the family page."""
    return {(r.esc.id, "ontvangen"): _form("ontvangen", r.esc, {}) for r in rows if "ontvangen" in r.steps}


# --- a household's escalations ---------------------------------------------------------------

def family_page(family: Family, status: int = 200, given: dict[tuple[uuid.UUID, str], StepForm] | None = None
                ) -> Page:
    user: User = current_user._get_current_object()
    escalations = queries.of_family(user, family.id)
    if not escalations and user.organisation_id not in involved_org_ids(family.id):
        abort(404)  # nothing the user may see here: the same answer as for no family at all
    rows = queries.rows_for(user, escalations, utcnow().date(), "opschaling.gezin")
    forms = {(r.esc.id, step): _form(step, r.esc, given or {}) for r in rows for step in r.steps}
    # A refused step that is no longer on offer (the state moved on, or it never was the
    # viewer's): its message above the page, since its form is not shown.
    unshown = [message for key, form in (given or {}).items() if key not in forms
               for message in [*form.form_errors, *(m for f in form for m in f.errors)]]
    body = render_template("escalation/family.html", family=family, rows=rows, forms=forms, unshown=unshown,
                           actors=_actor_names(rows), **LABELS)
    db.session.commit()
    return body, status


def _actor_names(rows: list[queries.Row]) -> dict[uuid.UUID, str]:
    ids = {s.actor_id for r in rows for s in r.history if s.actor_id}
    if not ids:
        return {}
    return {u.id: f"{u.name} ({u.organisation.name})" for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


@bp.route("/gezinnen/<family_id>/opschaling")
@permission_required("escalations.view")
def family(family_id: str) -> Page:
    return family_page(load_or_404(Family, family_id))


@bp.route("/opschaling/<escalation_id>/<step>", methods=["POST"])
@permission_required("escalations.view")
def take_step(escalation_id: str, step: str) -> Page:
    if step not in FORMS:
        abort(404)
    esc = _visible(escalation_id)
    family_obj = esc.household
    form = FORMS[step]()
    if form.validate_on_submit() and submitted(form, lambda: _run(step, esc, form), DONE[step]):
        return redirect(url_for("escalation.family", family_id=family_obj.id) + f"#escalatie-{esc.id}")
    db.session.expire_all()  # show the escalation as it is now, next to the refused form
    return family_page(family_obj, 422, {(esc.id, step): form})


# --- the quarterly report --------------------------------------------------------------------

def report_overleggen(user: User) -> list[Overleg]:
    """Chairs and secretaries: the overleggen they run. Leidinggevenden and bestuurders
    steer the whole region: every overleg (figures only, never a family)."""
    everything = list(db.session.scalars(select(Overleg).order_by(Overleg.name)))
    if user.roles & {"leidinggevende", "bestuurder"}:
        return everything
    return [o for o in everything if manages(user, o)]


def _report_args(user: User) -> tuple[list[Overleg], Overleg | None, report.Quarter | None, str | None]:
    overleggen = report_overleggen(user)
    today = utcnow().date()
    try:
        quarter = report.parse_quarter(request.args.get("kwartaal"), today)
    except report.QuarterError as exc:
        return overleggen, None, None, exc.message
    wanted = request.args.get("overleg")
    if not wanted:
        return overleggen, overleggen[0] if overleggen else None, quarter, None
    chosen = next((o for o in overleggen if str(o.id) == wanted), None)
    if chosen is None:
        return overleggen, None, quarter, "Kies een overleg uit de lijst."
    return overleggen, chosen, quarter, None


@bp.route("/opschaling/rapportage")
@permission_required("escalations.report")
def report_page() -> Page:
    user: User = current_user._get_current_object()
    overleggen, overleg, quarter, error = _report_args(user)
    summary = report.quarter_report(overleg.id, quarter) if overleg and quarter else None
    charts = []
    if summary is not None:
        names = report.level_names(overleg.id)
        charts = [report.bar_chart("Hoogste niveau bereikt", [(names[k], v) for k, v in summary.per_level.items()]),
                  report.bar_chart("Vastgelopen zaken per regel",
                                   [(report.rule_label(k), v) for k, v in summary.per_rule.items()])]
    body = render_template("escalation/report.html", overleggen=overleggen, overleg=overleg, quarter=quarter,
                           summary=summary, charts=charts, error=error, rule_label=report.rule_label,
                           requested=request.args.get("kwartaal", ""),
                           level_names=report.level_names(overleg.id) if overleg else report.LEVEL_NAMES)
    return body, 400 if error else 200


@bp.route("/opschaling/rapportage.csv")
@permission_required("escalations.report")
def report_csv() -> Page | Response:
    user: User = current_user._get_current_object()
    overleggen, overleg, quarter, error = _report_args(user)
    if error or overleg is None or quarter is None:
        body = render_template("escalation/report.html", overleggen=overleggen, overleg=None, quarter=quarter,
                               summary=None, charts=[], error=error or "Kies een overleg uit de lijst.",
                               rule_label=report.rule_label, requested=request.args.get("kwartaal", ""),
                               level_names=report.LEVEL_NAMES)
        return body, 400
    summary = report.quarter_report(overleg.id, quarter)
    return csv_response(f"opschaling-{quarter.label}.csv", report.CSV_HEADER, summary.rows(overleg.name))


# --- the chair's settings: the ladder and the stagnation rules of an overleg ---------------

def _run_overleg(overleg_id: str) -> Overleg:
    """The overleg, for its chairs and secretary; the same 404 as a missing one otherwise."""
    overleg = load_or_404(Overleg, overleg_id)
    if not manages(current_user, overleg):
        abort(404)
    return overleg


def _level_form(overleg: Overleg, level: int, formdata: bool = False) -> LevelForm:
    current = ladder.level_of(overleg.id, level) or ladder.LEVEL_DEFAULTS[level]
    form = LevelForm(prefix=f"niveau-{level}", formdata=None if not formdata else request.form, obj=None
                     if formdata else current)
    parties = parties_in_force(ladder.local_day())  # an escalation goes to covenant parties only
    form.recipient_organisation_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(o.id), o.name) for o in organisation_list(include_inactive=False) if o.id in parties]
    if not formdata:
        org = getattr(current, "recipient_organisation_id", None)
        form.recipient_organisation_id.data = str(org) if org else ""
    return form


def _rule_form(overleg: Overleg, code: str, formdata: bool = False) -> RuleForm:
    current = ladder.rules_of(overleg.id).get(code)
    params = dict(current.params) if current else dict(ladder.RULE_DEFAULTS[code].params)
    if formdata:
        return rule_form(code, params, formdata=request.form)
    return rule_form(code, params, formdata=None, data=params | {"enabled": current.enabled if current else True})


def _settings_page(overleg: Overleg, posted: dict[str, object] | None = None, status: int = 200) -> Page:
    posted = posted or {}
    levels = [posted.get(f"niveau-{n}") or _level_form(overleg, n) for n in sorted(ladder.LEVEL_DEFAULTS)]
    rules = [(code, posted.get(f"regel-{code}") or _rule_form(overleg, code)) for code in ladder.RULE_DEFAULTS]
    stored = ladder.rules_of(overleg.id)
    explanations = {code: ladder.explain(code, stored[code].explanation if code in stored else None, {
        key: value for key, value in form.data.items()
        if key in ladder.RULE_DEFAULTS[code].params and isinstance(value, int)}) for code, form in rules}
    body = render_template("escalation/ladder.html", overleg=overleg, levels=levels, rules=rules,
                           explanations=explanations, rule_names=RULE_CODES,
                           may_change=policy.is_chair(current_user, overleg.id))
    return body, status


@bp.route("/overleggen/<overleg_id>/opschalingsladder")
@permission_required("meetings.view")
def ladder_settings(overleg_id: str) -> Page:
    return _settings_page(_run_overleg(overleg_id))


@bp.route("/overleggen/<overleg_id>/opschalingsladder/niveau/<int:level>", methods=["POST"])
@permission_required("meetings.view")
def ladder_level(overleg_id: str, level: int) -> Page | Response:
    overleg = _run_overleg(overleg_id)
    if level not in ladder.LEVEL_DEFAULTS:
        abort(404)
    form = _level_form(overleg, level, formdata=True)

    def run() -> object:
        ladder.ensure_default(overleg, current_actor())  # an overleg made before escalation existed
        org = form.recipient_organisation_id.data
        return ops.configure_level(ladder.level_of(overleg.id, level), by=current_user._get_current_object(),
                                   recipient_role=form.recipient_role.data, name=form.name.data,
                                   recipient_scope=form.recipient_scope.data,
                                   recipient_organisation_id=uuid.UUID(org) if org else None,
                                   deadline_working_days=form.deadline_working_days.data, now=utcnow())

    if form.validate_on_submit() and submitted(form, run, "Het niveau is opgeslagen."):
        return redirect(url_for("escalation.ladder_settings", overleg_id=overleg.id, _anchor=f"niveau-{level}"))
    return _settings_page(overleg, {f"niveau-{level}": form}, 422)


@bp.route("/overleggen/<overleg_id>/opschalingsladder/regel/<code>", methods=["POST"])
@permission_required("meetings.view")
def ladder_rule(overleg_id: str, code: str) -> Page | Response:
    overleg = _run_overleg(overleg_id)
    if code not in ladder.RULE_DEFAULTS:
        abort(404)
    form = _rule_form(overleg, code, formdata=True)

    def run() -> object:
        ladder.ensure_default(overleg, current_actor())
        params = {key: form[key].data for key in ladder.RULE_DEFAULTS[code].params}
        return ops.configure_rule(ladder.rules_of(overleg.id)[code], by=current_user._get_current_object(),
                                  enabled=form.enabled.data, params=params, now=utcnow())

    if form.validate_on_submit() and submitted(form, run, "De regel is opgeslagen."):
        return redirect(url_for("escalation.ladder_settings", overleg_id=overleg.id, _anchor=f"regel-{code}"))
    return _settings_page(overleg, {f"regel-{code}": form}, 422)
