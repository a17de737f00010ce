"""1gezin1plan on screen: a family's plan — its frame ("that": status, evaluation, the
zorgcoördinator and whom to call), its content through the privacy gate for the purpose
the context gives, and the forms that change it through the plan operations: goals and
actions on their own pages (edit, reach, drop, let lapse), the zorgcoördinator's evaluation
and closing, and the history of every change through the same gate. Status and progress
of an action go through the one update route of Mijn acties (netwerk/views/actions.py).

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
from netwerk import queries
from netwerk.content import PlanContent
from netwerk.db import db, utcnow
from netwerk.forms import (
    ActionEditForm,
    ActionForm,
    ActionLapseForm,
    ConcernForm,
    ConfirmForm,
    CoordinatorChangeForm,
    GoalAchieveForm,
    GoalDropForm,
    GoalEditForm,
    GoalForm,
    NetworkMemberForm,
    PlanCloseForm,
    PlanEditForm,
    PlanEvaluationForm,
    PlanStartForm,
)
from netwerk.models import Family, Organisation, User
from netwerk.models.plans import (
    ACTION_STATES,
    FAILURE_REASONS,
    LIFE_DOMAINS,
    NETWORK_KINDS,
    PLAN_STATES,
    CoordinatorTerm,
    NetworkMember,
    Plan,
    PlanAction,
    PlanGoal,
)
from netwerk.operations import plans as plan_ops
from netwerk.operations.plans import NOT_ELIGIBLE, current_term, involved_org_ids
from netwerk.web import (
    Page,
    load_or_404,
    open_plan,
    open_plan_or_404,
    permission_required,
    read_plan,
    refused,
    submitted,
    visible_family,
    work_actor,
)
from privacy.queries import covenant_in_force, labels

bp = Blueprint("plans", __name__)

STALE_MESSAGE = "Iemand anders heeft dit plan intussen gewijzigd; u ziet nu de nieuwe stand."


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


def _edit_form(plan: Plan, content: PlanContent) -> PlanEditForm:
    # Prefilled from what the gate disclosed, never from the model: a form is a page too.
    form = PlanEditForm()
    if not form.is_submitted():
        form.family_view.data, form.strengths.data = content.family_view, content.strengths
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


def _goal_choices(content: PlanContent) -> list[SelectChoice]:
    # Only goals the gate disclosed to this viewer (their text is content), and only those
    # that still run: an action for a reached or dropped goal serves nothing.
    goals = sorted((g for g in content.goals if g.running), key=lambda g: g.created_at)
    return [SelectChoice(str(g.id), f"{LIFE_DOMAINS[g.domain]}: {_short(g.text)}") for g in goals]


def _owner_choices(family: Family, content: PlanContent) -> list[SelectChoice]:
    # Network members' names are plan content: only those the gate disclosed.
    return [*(SelectChoice(f"u:{u.id}", f"{u.name} ({u.organisation.name})") for u in _eligible(family)),
            *(SelectChoice(f"m:{m.id}", f"{m.name} ({NETWORK_KINDS[m.kind]})") for m in content.network)]


def _action_form(family: Family, content: PlanContent) -> ActionForm:
    form = ActionForm()
    form.goal_id.choices, form.owner.choices = _goal_choices(content), _owner_choices(family, content)
    return form


def _parse_owner(value: str | None) -> tuple[User | None, NetworkMember | None]:
    """``u:<id>`` a professional, ``m:<id>`` a network member; anything else: no owner."""
    kind, _, raw_id = (value or "").partition(":")
    key = _uuid(raw_id)
    if key is None:
        return None, None
    return (db.session.get(User, key) if kind == "u" else None,
            db.session.get(NetworkMember, key) if kind == "m" else None)


def _coordinator_form(family: Family) -> CoordinatorChangeForm:
    form = CoordinatorChangeForm()
    form.coordinator.choices = _user_choices(_eligible(family))
    return form


def _short(value: str | None, limit: int = 60) -> str:
    value = value or ""
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- the page ----------------------------------------------------------------------------------

def _page(family: Family, status: int = 200, **forms: Any) -> tuple[str, int]:
    plan = open_plan(family)
    if plan is None:
        start = forms.get("start_form") or _start_form(family)
        previous = db.session.scalar(select(Plan).where(Plan.family_id == family.id, Plan.status == "afgesloten")
                                     .order_by(Plan.closed_on.desc()).limit(1))
        return render_template("plans/start.html", family=family, form=start, previous=previous), status
    reading = read_plan(family, plan)
    db.session.commit()  # the gate's audit entries
    term = current_term(plan)
    return render_template(
        "plans/show.html", family=family, plan=plan, term=term, content=reading.content,
        contexts=reading.contexts, chosen=reading.chosen, requested=reading.requested,
        plan_states=PLAN_STATES, action_states=ACTION_STATES, domains=LIFE_DOMAINS,
        network_kinds=NETWORK_KINDS, category_labels=_category_labels(),
        is_coordinator=term is not None and term.user_id == current_user.id,
        edit_form=forms.get("edit_form") or _edit_form(plan, reading.content),
        goal_form=forms.get("goal_form") or _goal_form(),
        concern_form=forms.get("concern_form") or _concern_form(),
        network_form=forms.get("network_form") or _network_form(family),
        action_form=forms.get("action_form") or _action_form(family, reading.content),
        coordinator_form=forms.get("coordinator_form") or _coordinator_form(family),
        evaluation_form=forms.get("evaluation_form") or PlanEvaluationForm(),
        close_form=forms.get("close_form") or PlanCloseForm(),
        confirm=ConfirmForm(), advice=forms.get("advice", ()), reasons=FAILURE_REASONS,
        rows=_action_rows(reading.content.actions, term), here=url_for("plans.show", family_id=family.id),
        goal_editable=_goal_editable(term), evaluations=plan.evaluations,
    ), status


def _action_rows(actions: list[PlanAction], term: CoordinatorTerm | None) -> dict[Any, dict[str, bool]]:
    """Per visible action: may the user work on it (as Mijn acties decides, without a
    query per action), does it await acceptance, is that late, may the user accept."""
    now, coordinator = utcnow(), term is not None and term.user_id == current_user.id
    rows = {}
    for a in actions:
        touch = coordinator or a.owner_user_id == current_user.id or (
            a.owner_org_id is not None and a.owner_org_id == current_user.organisation_id)
        awaiting = queries.awaits_acceptance(a)
        rows[a.id] = {"touch": touch and a.status in queries.OPEN_ACTION_STATES, "awaiting": awaiting,
                      "late": queries.acceptance_late(a, now),
                      "accept": awaiting and plan_ops.may_accept(a, current_user)}
    return rows


def _goal_editable(term: CoordinatorTerm | None) -> Callable[[PlanGoal], bool]:
    coordinator = term is not None and term.user_id == current_user.id
    return lambda goal: goal.running and (coordinator or goal.organisation_id == current_user.organisation_id)


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
    plan = open_plan_or_404(family)
    form = make(family, plan)
    if form.validate_on_submit() and submitted(form, lambda: act(form, plan), done):
        return _back(family, anchor)
    return _page(family, 422, **{key: form})


@bp.route("/gezinnen/<family_id>/plan/bewerken", methods=["POST"])
@permission_required("persons.work")
def edit(family_id: str) -> Page:
    family = visible_family(family_id)
    plan = open_plan_or_404(family)
    if not read_plan(family, plan).content.plan_text:
        abort(404)  # whoever may not read the family's view does not rewrite it
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
    plan = open_plan_or_404(family)
    form = _action_form(family, read_plan(family, plan).content)
    advice: tuple = ()
    if form.validate_on_submit():
        owner_user, owner_member = _parse_owner(form.owner.data)
        done, advice = _smart_submit(form, "Actie toegevoegd.", lambda: ops.add_action(
            plan, goal_id=_uuid(form.goal_id.data), what=form.what.data or "", done_when=form.done_when.data or "",
            owner_user=owner_user, owner_member=owner_member, due=form.due.data,
            due_text=form.due_text.data or None, agreed_by=form.agreed_by.data or None,
            agreed_on=form.agreed_on.data, actor=work_actor(), today=utcnow().date()))
        if done:
            return _back(family, "#acties")
    return _page(family, 422, action_form=form, advice=advice)


def _smart_submit(form: Any, saved: str, run: Callable[[], tuple[Any, Any]]) -> tuple[bool, tuple]:
    """Run an action operation that the SMART checker guards: on success commit and pass
    its advice on as tips; on a refusal roll back and put each finding on its field.
    Returns (saved, advice to show with the form). StaleVersion is the caller's."""
    try:
        _, verdict = run()
    except ops.SmartRefused as exc:
        db.session.rollback()
        for finding in exc.verdict.blocking:
            _refuse_field(form, finding.field, finding.message)
        return False, exc.verdict.advice
    except ops.StaleVersion:
        raise
    except ops.OperationError as exc:
        db.session.rollback()
        refused(form, exc)
        return False, ()
    db.session.commit()
    flash(saved, "success")
    for finding in verdict.advice:
        flash(f"Tip: {finding.message}", "info")
    return True, ()


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
    plan = open_plan_or_404(family)
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



def _version(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0  # no version is ever 0: a tampered field reads as stale


# --- evaluating and closing (the zorgcoördinator) ----------------------------------------------

@bp.route("/gezinnen/<family_id>/plan/evalueren", methods=["POST"])
@permission_required("persons.work")
def evaluate(family_id: str) -> Page:
    return _change(family_id, lambda f, p: PlanEvaluationForm(),
                   lambda form, plan: plan_ops.evaluate_plan(
                       plan, held_on=form.held_on.data, summary=form.summary.data,
                       next_evaluation=form.next_evaluation.data, actor=work_actor(), today=utcnow().date()),
                   "evaluation_form", "Evaluatie vastgelegd.", "#evalueren")


@bp.route("/gezinnen/<family_id>/plan/afsluiten", methods=["POST"])
@permission_required("persons.work")
def close(family_id: str) -> Page:
    return _change(family_id, lambda f, p: PlanCloseForm(),
                   lambda form, plan: plan_ops.close_plan(
                       plan, reason=form.reason.data, lapse_open=bool(form.lapse_open.data), actor=work_actor(),
                       today=utcnow().date()),
                   "close_form", "Plan afgesloten. U kunt nu een nieuw plan starten.", "")


# --- the history -------------------------------------------------------------------------------

def _latest_plan(family: Family) -> Plan:
    """The open plan, or else the one closed last (its history stays readable)."""
    plan = open_plan(family) or db.session.scalar(
        select(Plan).where(Plan.family_id == family.id).order_by(Plan.closed_on.desc(), Plan.created_at.desc())
        .limit(1))
    if plan is None:
        abort(404)
    return plan


@bp.route("/gezinnen/<family_id>/plan/geschiedenis")
@permission_required("persons.work")
def history(family_id: str) -> Page:
    family = visible_family(family_id)
    plan = _latest_plan(family)
    reading = read_plan(family, plan)
    rows = queries.plan_history(work_actor(), plan, reading.content)
    body = render_template("plans/history.html", family=family, plan=plan, rows=rows, chosen=reading.chosen,
                           requested=reading.requested, contexts=reading.contexts, plan_states=PLAN_STATES)
    db.session.commit()  # the gate's audit entries, after rendering what they disclosed
    return body


# --- one action: edit, let lapse ---------------------------------------------------------------
# Its texts are content: the page exists only for an action the user may work on (as on
# Mijn acties) and whose texts the gate discloses to them now; otherwise the same 404.

def _visible_action(family_id: str, action_id: str) -> tuple[Family, Plan, PlanAction]:
    family = visible_family(family_id)
    plan = open_plan_or_404(family)
    action = load_or_404(PlanAction, action_id)
    if action.plan_id != plan.id or not queries.may_touch_action(current_user, action):
        abort(404)
    if action not in read_plan(family, plan).content.actions:
        abort(404)
    return family, plan, action


def _action_edit_form(family: Family, plan: Plan, action: PlanAction) -> ActionEditForm:
    form = ActionEditForm()
    content = read_plan(family, plan).content
    form.goal_id.choices, form.owner.choices = _goal_choices(content), _owner_choices(family, content)
    if not form.is_submitted():
        form.goal_id.data, form.what.data, form.done_when.data = str(action.goal_id), action.what, action.done_when
        form.owner.data = f"u:{action.owner_user_id}" if action.owner_user_id else f"m:{action.owner_member_id}"
        form.due.data, form.version.data = action.due, str(action.version)
    return form


def _lapse_form(action: PlanAction) -> ActionLapseForm:
    form = ActionLapseForm()
    if not form.is_submitted():
        form.version.data = str(action.version)
    return form


def _action_page(family: Family, plan: Plan, action: PlanAction, status: int = 200, *, reread: bool = False,
                 **forms: Any) -> Page:
    if reread:  # a rollback took the first read's audit entries with it
        read_plan(family, plan)
    body = render_template("plans/action.html", family=family, plan=plan, action=action,
                           form=forms.get("form") or _action_edit_form(family, plan, action),
                           lapse_form=forms.get("lapse_form") or _lapse_form(action),
                           advice=forms.get("advice", ()), action_states=ACTION_STATES)
    db.session.commit()
    return body, status


def _stale_action(family: Family, action_id: str) -> Response:
    db.session.rollback()
    flash("Iemand anders heeft deze actie intussen gewijzigd; u ziet nu de nieuwe stand. "
          "Uw wijziging is niet opgeslagen.", "error")
    return redirect(url_for("plans.edit_action", family_id=family.id, action_id=action_id))


@bp.route("/gezinnen/<family_id>/plan/acties/<action_id>", methods=["GET", "POST"])
@permission_required("persons.work")
def edit_action(family_id: str, action_id: str) -> Page:
    family, plan, action = _visible_action(family_id, action_id)
    form = _action_edit_form(family, plan, action)
    if not form.is_submitted():
        return _action_page(family, plan, action, form=form)
    advice: tuple = ()
    if form.validate_on_submit():
        owner_user, owner_member = _parse_owner(form.owner.data)
        try:
            done, advice = _smart_submit(form, "Actie opgeslagen.", lambda: plan_ops.edit_action(
                action, goal_id=_uuid(form.goal_id.data), what=form.what.data or "",
                done_when=form.done_when.data or "", owner_user=owner_user, owner_member=owner_member,
                due=form.due.data, expected_version=_version(form.version.data), actor=work_actor(),
                today=utcnow().date()))
        except ops.StaleVersion:
            return _stale_action(family, action_id)
        if done:
            return _back(family, "#acties")
    return _action_page(family, plan, action, 422, reread=True, form=form, advice=advice)


@bp.route("/gezinnen/<family_id>/plan/acties/<action_id>/vervallen", methods=["POST"])
@permission_required("persons.work")
def lapse_action(family_id: str, action_id: str) -> Page:
    family, plan, action = _visible_action(family_id, action_id)
    form = ActionLapseForm()
    if form.validate_on_submit():
        try:
            plan_ops.lapse_action(action, reason=form.reason.data, expected_version=_version(form.version.data),
                                  actor=work_actor(), today=utcnow().date())
        except ops.StaleVersion:
            return _stale_action(family, action_id)
        except ops.OperationError as exc:
            db.session.rollback()
            refused(form, exc)
        else:
            db.session.commit()
            flash("Actie vervallen.", "success")
            return _back(family, "#acties")
    return _action_page(family, plan, action, 422, reread=True, lapse_form=form)


# --- one goal: edit its text, reached, dropped -------------------------------------------------

def _visible_goal(family_id: str, goal_id: str) -> tuple[Family, Plan, PlanGoal]:
    family = visible_family(family_id)
    plan = open_plan_or_404(family)
    goal = load_or_404(PlanGoal, goal_id)
    if goal.plan_id != plan.id or goal not in read_plan(family, plan).content.goals:
        abort(404)
    return family, plan, goal


def _goal_page(family: Family, plan: Plan, goal: PlanGoal, status: int = 200, *, reread: bool = False,
               **forms: Any) -> Page:
    if reread:
        read_plan(family, plan)
    edit = forms.get("edit_form") or GoalEditForm()
    if not edit.is_submitted():
        edit.text.data = goal.text
    achieve = forms.get("achieve_form") or GoalAchieveForm()
    if not achieve.is_submitted():
        achieve.achieved_on.data = utcnow().date()
    body = render_template("plans/goal.html", family=family, plan=plan, goal=goal, domains=LIFE_DOMAINS,
                           edit_form=edit, achieve_form=achieve, drop_form=forms.get("drop_form") or GoalDropForm())
    db.session.commit()
    return body, status


def _goal_change(family_id: str, goal_id: str, form: Any, key: str, act: Callable[[Any, PlanGoal], object],
                 done: str) -> Page:
    family, plan, goal = _visible_goal(family_id, goal_id)
    if form.validate_on_submit() and submitted(form, lambda: act(form, goal), done):
        return _back(family, "#doelen")
    return _goal_page(family, plan, goal, 422, reread=True, **{key: form})


@bp.route("/gezinnen/<family_id>/plan/doelen/<goal_id>", methods=["GET", "POST"])
@permission_required("persons.work")
def goal(family_id: str, goal_id: str) -> Page:
    form = GoalEditForm()
    if not form.is_submitted():
        family, plan, item = _visible_goal(family_id, goal_id)
        return _goal_page(family, plan, item)
    return _goal_change(family_id, goal_id, form, "edit_form",
                        lambda f, g: plan_ops.update_goal(g, f.text.data, work_actor()), "Doel opgeslagen.")


@bp.route("/gezinnen/<family_id>/plan/doelen/<goal_id>/bereikt", methods=["POST"])
@permission_required("persons.work")
def achieve_goal(family_id: str, goal_id: str) -> Page:
    return _goal_change(family_id, goal_id, GoalAchieveForm(), "achieve_form",
                        lambda f, g: plan_ops.achieve_goal(g, f.achieved_on.data, work_actor(), utcnow().date()),
                        "Doel bereikt.")


@bp.route("/gezinnen/<family_id>/plan/doelen/<goal_id>/vervallen", methods=["POST"])
@permission_required("persons.work")
def drop_goal(family_id: str, goal_id: str) -> Page:
    return _goal_change(family_id, goal_id, GoalDropForm(), "drop_form",
                        lambda f, g: plan_ops.drop_goal(g, f.reason.data, work_actor(), utcnow().date()),
                        "Doel vervallen.")
