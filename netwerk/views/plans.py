"""1gezin1plan on screen: a family's plan — its frame ("that": status, evaluation, the
zorgcoördinator and whom to call), its content through the privacy gate for the purpose
the context gives, and the forms that change it through the plan operations.

A family the viewer's organisation is not involved with answers exactly like a family that
does not exist: the same 404, as on the family page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.forms import (
    ActionForm,
    ConcernForm,
    ConfirmForm,
    CoordinatorChangeForm,
    GoalForm,
    NetworkMemberForm,
    PlanEditForm,
    PlanStartForm,
)
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import (
    ACTION_STATES,
    LIFE_DOMAINS,
    NETWORK_KINDS,
    PLAN_STATES,
    NetworkMember,
    Plan,
)
from netwerk.operations.plans import NOT_ELIGIBLE, current_term, involved_org_ids
from netwerk.web import (
    Page,
    permission_required,
    read_plan,
    refused,
    visible_family,
    work_actor,
)
from privacy.queries import covenant_in_force, labels

bp = Blueprint("plans", __name__)

STALE_MESSAGE = "Iemand anders heeft dit plan intussen gewijzigd; u ziet nu de nieuwe stand."


def _open_plan(family: Family) -> Plan | None:
    return db.session.scalar(select(Plan).where(Plan.family_id == family.id, Plan.status != "afgesloten"))


def _plan_or_back(family: Family) -> Plan:
    plan = _open_plan(family)
    if plan is None:
        abort(404)
    return plan


def _eligible(family: Family) -> list[User]:
    orgs = involved_org_ids(family.id)
    if not orgs:
        return []
    return list(db.session.scalars(select(User).where(User.organisation_id.in_(orgs), User.active.is_(True))
                                   .order_by(User.name)))


def _user_choices(users: list[User]) -> list[SelectChoice]:
    return [SelectChoice(str(u.id), f"{u.name} ({u.organisation.name})") for u in users]


def _category_labels() -> dict[str, str]:
    return labels(covenant_in_force(utcnow().date()))[1]


# --- forms with their choices ----------------------------------------------------------------

def _start_form(family: Family) -> PlanStartForm:
    form = PlanStartForm()
    form.coordinator.choices = _user_choices(_eligible(family))
    return form


def _edit_form(plan: Plan) -> PlanEditForm:
    form = PlanEditForm()
    if not form.is_submitted():
        form.family_view.data, form.strengths.data = plan.family_view, plan.strengths
        form.next_evaluation.data = plan.next_evaluation
        form.family_agreement_required.data = plan.family_agreement_required
    form.version.data = str(plan.version)
    return form


def _goal_form() -> GoalForm:
    form = GoalForm()
    form.domain.choices = [SelectChoice(k, v) for k, v in LIFE_DOMAINS.items()]
    return form


def _concern_form() -> ConcernForm:
    form = ConcernForm()
    form.domain.choices = [SelectChoice(k, v) for k, v in LIFE_DOMAINS.items()]
    form.category.choices = [SelectChoice(k, v) for k, v in _category_labels().items()]
    return form


def _network_form(family: Family) -> NetworkMemberForm:
    form = NetworkMemberForm()
    form.kind.choices = [SelectChoice(k, v) for k, v in NETWORK_KINDS.items()]
    orgs = db.session.scalars(select(Organisation).where(Organisation.active.is_(True))
                              .order_by(Organisation.name)).all()
    form.organisation_id.choices = [SelectChoice("", "—"), *(SelectChoice(str(o.id), o.name) for o in orgs)]
    return form


def _action_form(family: Family, plan: Plan) -> ActionForm:
    form = ActionForm()
    goals = sorted(plan.goals, key=lambda g: g.created_at)
    form.goal_id.choices = [SelectChoice(str(g.id), f"{LIFE_DOMAINS[g.domain]}: {_short(g.text)}") for g in goals]
    members = db.session.scalars(select(NetworkMember).where(NetworkMember.plan_id == plan.id)).all()
    form.owner.choices = [*(SelectChoice(f"u:{u.id}", f"{u.name} ({u.organisation.name})") for u in _eligible(family)),
                          *(SelectChoice(f"m:{m.id}", f"{m.name} ({NETWORK_KINDS[m.kind]})") for m in members)]
    return form


def _coordinator_form(family: Family) -> CoordinatorChangeForm:
    form = CoordinatorChangeForm()
    form.coordinator.choices = _user_choices(_eligible(family))
    return form


def _short(value: str | None, limit: int = 60) -> str:
    value = value or ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- the page ----------------------------------------------------------------------------------

def _page(family: Family, status: int = 200, **forms: Any) -> tuple[str, int]:
    plan = _open_plan(family)
    if plan is None:
        start = forms.get("start_form") or _start_form(family)
        return render_template("plans/start.html", family=family, form=start), status
    reading = read_plan(family, plan)
    db.session.commit()  # the gate's audit entries
    term = current_term(plan)
    return render_template(
        "plans/show.html", family=family, plan=plan, term=term, content=reading.content,
        contexts=reading.contexts, chosen=reading.chosen, requested=reading.requested,
        plan_states=PLAN_STATES, action_states=ACTION_STATES, domains=LIFE_DOMAINS,
        network_kinds=NETWORK_KINDS, category_labels=_category_labels(),
        is_coordinator=term is not None and term.user_id == current_user.id,
        edit_form=forms.get("edit_form") or _edit_form(plan), goal_form=forms.get("goal_form") or _goal_form(),
        concern_form=forms.get("concern_form") or _concern_form(),
        network_form=forms.get("network_form") or _network_form(family),
        action_form=forms.get("action_form") or _action_form(family, plan),
        coordinator_form=forms.get("coordinator_form") or _coordinator_form(family),
        confirm=ConfirmForm(), advice=forms.get("advice", ()),
    ), status


def _back(family: Family, anchor: str = "") -> Response:
    return redirect(url_for("plans.show", family_id=family.id) + anchor)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@bp.route("/gezinnen/<family_id>/plan")
@permission_required("persons.work")
def show(family_id: str) -> Page:
    return _page(visible_family(family_id))


@bp.route("/gezinnen/<family_id>/plan/starten", methods=["POST"])
@permission_required("persons.work")
def start(family_id: str) -> Page:
    family = visible_family(family_id)
    form = _start_form(family)
    if form.validate_on_submit():
        coordinator = db.session.get(User, _uuid(form.coordinator.data))
        try:
            if coordinator is None:
                raise ops.OperationError(NOT_ELIGIBLE, field="coordinator")
            ops.start_plan(family, coordinator, work_actor(), utcnow().date())
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Plan gestart.", "success")
            return _back(family)
    return _page(family, 422, start_form=form)


def _change(family_id: str, make: Callable[[Family, Plan], Any], act: Callable[[Any, Plan], object],
            key: str, done: str, anchor: str) -> Page:
    """Validate a plan form, call the operation; a refusal re-shows the page with 422."""
    family = visible_family(family_id)
    plan = _plan_or_back(family)
    form = make(family, plan)
    if form.validate_on_submit():
        try:
            act(form, plan)
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash(done, "success")
            return _back(family, anchor)
    return _page(family, 422, **{key: form})


@bp.route("/gezinnen/<family_id>/plan/bewerken", methods=["POST"])
@permission_required("persons.work")
def edit(family_id: str) -> Page:
    family = visible_family(family_id)
    plan = _plan_or_back(family)
    form = PlanEditForm()
    if form.validate_on_submit():
        try:
            expected = int(form.version.data or 0)
        except ValueError:
            expected = 0
        try:
            ops.update_plan(plan, family_view=form.family_view.data, strengths=form.strengths.data,
                            next_evaluation=form.next_evaluation.data,
                            family_agreement_required=bool(form.family_agreement_required.data),
                            expected_version=expected, actor=work_actor(), today=utcnow().date())
        except ops.StaleVersion:
            db.session.rollback()
            flash(STALE_MESSAGE, "error")
            return _back(family, "#plan-bewerken")
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Plan opgeslagen.", "success")
            return _back(family)
    form.version.data = str(plan.version)
    return _page(family, 422, edit_form=form)


@bp.route("/gezinnen/<family_id>/plan/doelen", methods=["POST"])
@permission_required("persons.work")
def add_goal(family_id: str) -> Page:
    return _change(family_id, lambda f, p: _goal_form(),
                   lambda form, plan: ops.add_goal(plan, form.domain.data, form.text.data, current_user, work_actor()),
                   "goal_form", "Doel toegevoegd.", "#doelen")


@bp.route("/gezinnen/<family_id>/plan/zorgen", methods=["POST"])
@permission_required("persons.work")
def add_concern(family_id: str) -> Page:
    return _change(family_id, lambda f, p: _concern_form(),
                   lambda form, plan: ops.add_concern(plan, form.domain.data, form.category.data, form.text.data,
                                                      current_user, work_actor(), utcnow().date()),
                   "concern_form", "Zorg toegevoegd.", "#zorgen")


@bp.route("/gezinnen/<family_id>/plan/netwerk", methods=["POST"])
@permission_required("persons.work")
def add_member(family_id: str) -> Page:
    return _change(family_id, lambda f, p: _network_form(f),
                   lambda form, plan: ops.add_network_member(plan, form.kind.data, form.name.data,
                                                             form.role.data or None,
                                                             _uuid(form.organisation_id.data), None, work_actor()),
                   "network_form", "Toegevoegd aan het netwerk.", "#netwerk")


@bp.route("/gezinnen/<family_id>/plan/acties", methods=["POST"])
@permission_required("persons.work")
def add_action(family_id: str) -> Page:
    family = visible_family(family_id)
    plan = _plan_or_back(family)
    form = _action_form(family, plan)
    advice: tuple = ()
    if form.validate_on_submit():
        kind, _, raw_id = (form.owner.data or "").partition(":")
        owner_user = db.session.get(User, _uuid(raw_id)) if kind == "u" and _uuid(raw_id) else None
        owner_member = db.session.get(NetworkMember, _uuid(raw_id)) if kind == "m" and _uuid(raw_id) else None
        try:
            _, verdict = ops.add_action(
                plan, goal_id=_uuid(form.goal_id.data), what=form.what.data or "", done_when=form.done_when.data or "",
                owner_user=owner_user, owner_member=owner_member, due=form.due.data,
                due_text=form.due_text.data or None, agreed_by=form.agreed_by.data or None,
                agreed_on=form.agreed_on.data, actor=work_actor(), today=utcnow().date())
        except ops.SmartRefused as exc:
            db.session.rollback()
            for finding in exc.verdict.blocking:
                _refuse_field(form, finding.field, finding.message)
            advice = exc.verdict.advice
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Actie toegevoegd.", "success")
            for finding in verdict.advice:
                flash(f"Tip: {finding.message}", "info")
            return _back(family, "#acties")
    return _page(family, 422, action_form=form, advice=advice)


def _refuse_field(form: ActionForm, name: str, message: str) -> None:
    field = getattr(form, name, None) or getattr(form, f"{name}_id", None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)


@bp.route("/gezinnen/<family_id>/plan/vaststellen", methods=["POST"])
@permission_required("persons.work")
def adopt(family_id: str) -> Response:
    family = visible_family(family_id)
    plan = _plan_or_back(family)
    ConfirmForm().validate_on_submit() or abort(400)
    try:
        ops.adopt_plan(plan, "zorgcoordinator", work_actor(), utcnow().date())
    except ops.OperationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash("Plan vastgesteld.", "success")
    return _back(family)


@bp.route("/gezinnen/<family_id>/plan/zorgcoordinator", methods=["POST"])
@permission_required("persons.work")
def change_coordinator(family_id: str) -> Page:
    def act(form: CoordinatorChangeForm, plan: Plan) -> object:
        new = db.session.get(User, _uuid(form.coordinator.data))
        if new is None:
            raise ops.OperationError(NOT_ELIGIBLE, field="coordinator")
        return ops.change_coordinator(plan, new, form.reason.data, work_actor(), utcnow().date())

    return _change(family_id, lambda f, p: _coordinator_form(f), act, "coordinator_form",
                   "Zorgcoördinator overgedragen.", "#zorgcoordinator")

