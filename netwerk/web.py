"""Helpers shared by the HTML views: load-check-act decorators and the account gate.

A handler loads objects from the URL (404 if missing), checks access (403) and then calls
an operation; these decorators do the first two so no handler can forget them.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, abort, flash, g, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from netwerk import access
from netwerk.auth import current_actor, is_api_request, two_factor_required
from netwerk.content import PlanContent, plan_content
from netwerk.db import db, utcnow
from netwerk.models import Family, Person
from netwerk.models.plans import Plan
from netwerk.operations.common import OperationError
from netwerk.operations.plans import involved_org_ids
from netwerk.policy import may
from privacy.audit import Actor

F = TypeVar("F", bound=Callable[..., Any])
Page = Response | str | tuple[str, int]

# Endpoints a logged-in user may reach while a password change or 2FA enrolment is due.
ACCOUNT_GATE_OPEN = {"auth.logout", "account.password", "account.two_factor", "static", "home.health"}


def permission_required(permission: str) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not may(current_user, permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


def load_or_404(model: type, value: str) -> Any:
    """Fetch ``model`` by the UUID in the URL; a malformed id is a 404, not a 500."""
    try:
        key = uuid.UUID(value)
    except (ValueError, TypeError):
        abort(404)
    obj = db.session.get(model, key)
    if obj is None:
        abort(404)
    return obj


def init_account_gate(app: Flask) -> None:
    @app.before_request
    def _account_gate() -> Any:
        if is_api_request() or not current_user.is_authenticated:
            return None
        if request.endpoint in ACCOUNT_GATE_OPEN:
            return None
        if current_user.must_change_password:
            return redirect(url_for("account.password"))
        if two_factor_required(current_user):
            if not current_user.totp_enabled:
                return redirect(url_for("account.two_factor"))
            login_session = g.get("login_session")
            if login_session is not None and not login_session.two_factor_done:
                # enrolled during this session: the enrolment itself proved the factor
                return redirect(url_for("account.two_factor"))
        return None


def submitted(form: Any, run: Callable[[], object], done: str) -> bool:
    """Run a form's operation: on success commit and flash ``done`` (True, the caller
    redirects); on a refusal roll back and show it on the form (False, the caller re-shows
    the page with 422). One place for the shape every form handler shares."""
    try:
        run()
    except OperationError as exc:
        db.session.rollback()
        refused(form, exc)
        return False
    db.session.commit()
    flash(done, "success")
    return True


def refused(form: Any, exc: OperationError) -> None:
    """Show an operation's refusal on the field it names, or above the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


# --- the "that" layer's access checks, shared by the HTML views and the API ---------------
# One place decides whether a person or household exists for the current user; everywhere
# else an invisible one answers exactly like one that does not exist (the same 404).

def work_actor() -> Actor:
    """The audit actor in the role the user works on persons in (never beheerder)."""
    return current_actor(access.work_role(current_user))


def visible_person(person_id: str) -> tuple[Person, str]:
    """The person and how the user's organisation knows them ("betrokken" or "gezin")."""
    person = load_or_404(Person, person_id)
    relation = access.person_relation(current_user.organisation_id, person.id)
    if relation is None:
        abort(404)
    return person, relation


def own_person(person_id: str) -> Person:
    """A person the user's organisation is itself involved with."""
    person, relation = visible_person(person_id)
    if relation != "betrokken":
        abort(404)
    return person


def open_plan(family: Family) -> Plan | None:
    """The household's plan that is not closed (there is at most one)."""
    return db.session.scalar(select(Plan).where(Plan.family_id == family.id, Plan.status != "afgesloten"))


def open_plan_or_404(family: Family) -> Plan:
    plan = open_plan(family)
    if plan is None:
        abort(404)
    return plan


def visible_family(family_id: str) -> Family:
    """A household in which the user's organisation is involved with a member."""
    family = load_or_404(Family, family_id)
    if current_user.organisation_id not in involved_org_ids(family.id):
        abort(404)
    return family


@dataclass(frozen=True)
class PlanReading:
    """A plan as the user may read it now: the purposes the context gives, the one chosen
    (``?doel=``; None when the asked purpose is not given), and the content for it."""

    contexts: list[access.PurposeContext]
    chosen: access.PurposeContext | None
    requested: str | None
    content: PlanContent


def read_plan(family: Family, plan: Plan, categories: tuple[str, ...] | None = None) -> PlanReading:
    """Read ``plan`` through the gate for the purpose the household's context gives (only
    ``categories``, when given: see ``plan_content``). The caller commits (the gate's audit
    entries) once it has rendered what it read."""
    actor, org_id = work_actor(), current_user.organisation_id
    visible = {m.person_id for m in family.members if access.person_relation(org_id, m.person_id) is not None}
    contexts = access.family_purposes(actor, sorted(visible, key=str), utcnow())
    requested = request.args.get("doel")
    chosen = access.choose_purpose(contexts, requested)
    content = plan_content(actor, plan, chosen.purpose if chosen else None, chosen.source if chosen else "plan",
                           categories)
    return PlanReading(contexts, chosen, requested, content)
