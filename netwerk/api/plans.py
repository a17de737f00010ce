"""1gezin1plan over the API: a family's plan through the privacy gate, adding SMART actions,
and updating an action's status and progress with optimistic concurrency.

``PATCH /actions/{action_id}`` needs ``If-Match: "<version>"`` (the ``ETag`` of the last
answer about the action): without it 428, with a malformed one 412, with an older version
409 with the action as it is now — a stale write never overwrites a newer one. The version
is claimed with a conditional UPDATE, so of two simultaneous writers exactly one wins.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any, Literal

from flask import Response, abort, request
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from netwerk import access, queries
from netwerk import operations as ops
from netwerk.api.core import StrictModel, endpoint, respond
from netwerk.api.persons import WORK, Day, _refused, line, optional_line
from netwerk.content import plan_content
from netwerk.db import db, utcnow
from netwerk.errors import api_error
from netwerk.models import Family, FamilyMember, User
from netwerk.models.plans import (
    ACTION_STATES,
    AGREEMENT_GIVERS,
    FAILURE_REASONS,
    NetworkMember,
    PlanAction,
)
from netwerk.operations.plans import OWNER_REQUIRED, current_term
from netwerk.queries import NETWORK_OWNER
from netwerk.web import load_or_404, open_plan_or_404, visible_family, work_actor
from privacy.audit import Actor, blind

OPEN_STATES = ("open", "bezig")
NO_CONTEXT = ("Voor dit doel geeft de context (plan, overleg of match) u geen toegang tot dit plan. "
              "Heeft u de informatie toch nodig, vraag dan noodtoegang aan bij een gezinslid.")
NO_IF_MATCH = ('Stuur de versie die u wijzigt mee in de header If-Match, bijvoorbeeld If-Match: "3" '
               "(de ETag van de actie).")
BAD_IF_MATCH = 'De header If-Match moet één versie van de actie zijn, bijvoorbeeld If-Match: "3".'


# --- schemas ------------------------------------------------------------------------------

class PlanQuery(StrictModel):
    purpose: str = Field(default="", max_length=40, pattern=r"^[a-z0-9_]*$",
                         description="Doel uit de context; leeg: het eerste doel dat de context geeft")


class CoordinatorOut(StrictModel):
    name: str
    organisation: str
    phone: str | None


class GoalOut(StrictModel):
    id: str
    domain: str
    text: str


class ConcernOut(StrictModel):
    id: str
    domain: str
    category: str
    text: str


class NetworkMemberOut(StrictModel):
    id: str
    kind: str
    name: str
    role: str | None
    organisation_id: str | None


class ActionOut(StrictModel):
    id: str
    plan_id: str
    goal_id: str | None
    what: str | None  # None: the gate withholds the text from the caller
    done_when: str | None
    owner: str
    owner_user_id: str | None
    owner_member_id: str | None
    owner_organisation_id: str | None
    due: date
    status: Literal[tuple(ACTION_STATES)]
    failure_reason: Literal[tuple(FAILURE_REASONS)] | None
    version: int


class PlanOut(StrictModel):
    id: str
    family_id: str
    status: str
    next_evaluation: date | None
    coordinator: CoordinatorOut | None  # "that": always shown, whom to call
    purpose: str | None
    context: str | None
    family_view: str | None
    strengths: str | None
    goals: list[GoalOut]
    concerns: list[ConcernOut]
    actions: list[ActionOut]
    network: list[NetworkMemberOut]
    withheld: list[str]


class ActionList(StrictModel):
    actions: list[ActionOut]


class ActionIn(StrictModel):
    goal_id: uuid.UUID
    what: str = line(2000)
    done_when: str = line(2000)
    owner_user_id: uuid.UUID | None = None
    owner_member_id: uuid.UUID | None = None
    due: Day | None = None
    due_text: str | None = optional_line(100)
    agreed_by: Literal[AGREEMENT_GIVERS] | None = None
    agreed_on: Day | None = None


class ActionPatch(StrictModel):
    status: Literal[tuple(ACTION_STATES)]
    progress: str | None = Field(default=None, max_length=2000)
    failure_reason: Literal[tuple(FAILURE_REASONS)] | None = None
    due: Day | None = None


class SmartErrorBody(StrictModel):
    code: str
    message: str
    details: list[dict[str, Any]] | None = None  # every blocking finding: field, code, message
    advice: list[dict[str, Any]] | None = None  # findings that do not block


class SmartErrorResponse(StrictModel):
    error: SmartErrorBody


class StaleBody(StrictModel):
    code: str
    message: str


class StaleResponse(StrictModel):
    error: StaleBody
    current: ActionOut


# --- helpers ------------------------------------------------------------------------------

def _subjects(family_id: uuid.UUID) -> list[str]:
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == family_id))
    return [blind("family", family_id), *(blind("person", person_id) for person_id in members)]


def _owner_label(action: PlanAction) -> str:
    # A network member's name is plan content: lists name them as Mijn acties does; the
    # plan's own answer carries the network (through the gate) and owner_member_id.
    if action.owner_user is not None:
        return action.owner_user.name
    return NETWORK_OWNER if action.owner_member_id is not None else ""


def _action_out(action: PlanAction, texts: bool) -> ActionOut:
    return ActionOut(
        id=str(action.id), plan_id=str(action.plan_id), goal_id=str(action.goal_id) if action.goal_id else None,
        what=action.what if texts else None, done_when=action.done_when if texts else None,
        owner=_owner_label(action), owner_user_id=str(action.owner_user_id) if action.owner_user_id else None,
        owner_member_id=str(action.owner_member_id) if action.owner_member_id else None,
        owner_organisation_id=str(action.owner_org_id) if action.owner_org_id else None,
        due=action.due, status=action.status, failure_reason=action.failure_reason, version=action.version)


def _actions_out(viewer: Actor, actions: list[PlanAction], context: str) -> list[ActionOut]:
    """Actions with their texts as the gate allows, decided as Mijn acties decides."""
    members = queries.family_members({a.plan.family_id for a in actions})
    allowed = queries.action_texts_allowed(viewer, current_user, actions, members, context, utcnow().date())
    return [_action_out(a, allowed[(a.plan.family_id, a.owner_org_id or a.organisation_id)]) for a in actions]


def _may_update(action: PlanAction) -> bool:
    """The owner, the owner's organisation, or the plan's current zorgcoördinator."""
    if action.owner_user_id == current_user.id:
        return True
    if action.owner_member is not None and action.owner_member.user_id == current_user.id:
        return True
    if action.owner_org_id is not None and action.owner_org_id == current_user.organisation_id:
        return True
    term = current_term(action.plan)
    return term is not None and term.user_id == current_user.id


def _etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = f'"{version}"'
    return response


def _expected_version() -> int | Response:
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        return api_error(428, NO_IF_MATCH, "versie_ontbreekt")
    found = re.fullmatch(r'\s*"(\d{1,9})"\s*', header)
    if found is None:
        return api_error(412, BAD_IF_MATCH, "versie_ongeldig")
    return int(found.group(1))


def _plan_purposes(actor: Actor, family: Family) -> list[access.PurposeContext]:
    """The purposes the context gives for the family's plan: those of any of its members."""
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == family.id))
    return access.family_purposes(actor, list(members), utcnow())


# --- endpoints ----------------------------------------------------------------------------

@endpoint("/families/{family_id}/plan", "GET",
          "Het open plan van een gezin: het kader (dat) en de inhoud die het convenant u voor het doel toont",
          query_model=PlanQuery, response_model=PlanOut, permission=WORK, scope="plan:read")
def show_plan(family_id: str, query: PlanQuery) -> Response:
    family = visible_family(family_id)
    plan = open_plan_or_404(family)
    actor = work_actor()
    chosen = access.choose_purpose(_plan_purposes(actor, family), query.purpose or None)
    if query.purpose and chosen is None:
        return api_error(403, NO_CONTEXT, "doel_zonder_context")
    view = plan_content(actor, plan, chosen.purpose if chosen else None, chosen.source if chosen else None)
    term = current_term(plan)
    coordinator = None
    if term is not None:
        coordinator = CoordinatorOut(name=term.user.name, organisation=term.organisation.name,
                                     phone=term.user.phone or term.organisation.phone)
    body = PlanOut(
        id=str(plan.id), family_id=str(family.id), status=plan.status, next_evaluation=plan.next_evaluation,
        coordinator=coordinator, purpose=view.purpose, context=chosen.source if chosen else None,
        family_view=view.family_view, strengths=view.strengths,
        goals=[GoalOut(id=str(g.id), domain=g.domain, text=g.text) for g in view.goals],
        concerns=[ConcernOut(id=str(c.id), domain=c.domain, category=c.category, text=c.text) for c in view.concerns],
        actions=[_action_out(a, True) for a in view.actions],
        network=[NetworkMemberOut(id=str(m.id), kind=m.kind, name=m.name, role=m.role,
                                  organisation_id=str(m.organisation_id) if m.organisation_id else None)
                 for m in view.network],
        withheld=view.withheld)
    db.session.commit()  # the gate's audit entries
    return respond(body)


ACTION_FIELDS = {"goal_id": "goal_id", "what": "what", "done_when": "done_when", "owner": "owner_user_id",
                 "due": "due", "agreed_by": "agreed_by", "agreed_on": "agreed_on"}


@endpoint("/families/{family_id}/plan/actions", "POST",
          "Voeg een SMART-actie toe aan het open plan van een gezin (ETag: de versie van de actie)",
          request_model=ActionIn, response_model=ActionOut, status=201, permission=WORK, scope="actions:write",
          error_models=((422, SmartErrorResponse),))
def add_action(family_id: str, body: ActionIn) -> Response:
    family = visible_family(family_id)
    plan = open_plan_or_404(family)
    owner_user = db.session.get(User, body.owner_user_id) if body.owner_user_id else None
    owner_member = db.session.get(NetworkMember, body.owner_member_id) if body.owner_member_id else None
    if (body.owner_user_id and owner_user is None) or (body.owner_member_id and owner_member is None):
        message = OWNER_REQUIRED
        return api_error(422, message, details=[{"field": "owner_user_id" if body.owner_user_id else
                                                  "owner_member_id", "message": message}])
    try:
        action, _ = ops.add_action(plan, goal_id=body.goal_id, what=body.what, done_when=body.done_when,
                                   owner_user=owner_user, owner_member=owner_member, due=body.due,
                                   due_text=body.due_text or None, agreed_by=body.agreed_by,
                                   agreed_on=body.agreed_on, actor=work_actor(), today=utcnow().date())
    except ops.SmartRefused as exc:
        db.session.rollback()
        verdict = exc.verdict
        return respond(SmartErrorResponse(error=SmartErrorBody(
            code="niet_smart", message=exc.message,
            details=[{"field": f.field, "code": f.code, "message": f.message} for f in verdict.blocking],
            advice=[{"field": f.field, "code": f.code, "message": f.message} for f in verdict.advice])), 422)
    except ops.OperationError as exc:
        db.session.rollback()
        return _refused(exc, ACTION_FIELDS)
    out = _action_out(action, True)
    db.session.commit()
    return _etag(respond(out, 201), out.version)


def _load_action(action_id: str) -> PlanAction:
    action = load_or_404(PlanAction, action_id)
    if action.plan.status == "afgesloten" or not _may_update(action):
        abort(404)
    return action


@endpoint("/actions/{action_id}", "PATCH",
          'Werk status en voortgang van een actie bij; vereist If-Match: "<versie>" (de ETag). '
          "Een verouderde versie geeft 409 met de huidige stand",
          request_model=ActionPatch, response_model=ActionOut, permission=WORK, errors=(412, 428),
          error_models=((409, StaleResponse),), scope="actions:write")
def update_action(action_id: str, body: ActionPatch) -> Response:
    action = _load_action(action_id)
    expected = _expected_version()
    if isinstance(expected, Response):
        return expected
    actor = work_actor()
    try:
        ops.update_action(action, status=body.status, progress=body.progress, failure_reason=body.failure_reason,
                          due=body.due, expected_version=expected, actor=actor, today=utcnow().date())
    except ops.StaleVersion as exc:
        db.session.rollback()
        current = db.session.get(PlanAction, exc.current.id)
        db.session.refresh(current)
        out = _actions_out(actor, [current], "api.stale")[0]
        db.session.commit()  # the gate's audit entry
        return _etag(respond(StaleResponse(error=StaleBody(code="verouderd", message=exc.message), current=out),
                             409), out.version)
    except ops.OperationError as exc:
        db.session.rollback()
        return _refused(exc, {"status": "status", "progress": "progress", "failure_reason": "failure_reason",
                              "due": "due"})
    out = _actions_out(actor, [action], "api.update")[0]
    db.session.commit()
    return _etag(respond(out), out.version)


@endpoint("/me/actions", "GET", "Open acties van u en uw organisatie, op volgorde van datum",
          response_model=ActionList, permission=WORK, scope="actions:read")
def my_actions() -> Response:
    actions = queries.my_open_actions(current_user)
    out = _actions_out(work_actor(), actions, "mijn_acties") if actions else []
    db.session.commit()  # the gate's audit entries
    return respond(ActionList(actions=out))

