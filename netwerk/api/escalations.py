"""Escalations over the API: the ones the caller may see, as the minimal package only
(pseudonym, blocked actions — owner organisation, due date, status, and the text only
where the privacy gate allows it for the caller —, reason category, the ask, level,
deadline, the rule's explanation), and an addressee's decision.

``POST /escalations/{escalation_id}/decision`` needs ``If-Match: "<version>"`` (the
``ETag`` of the escalation, or its ``version``), like ``PATCH /actions/{action_id}``:
without it 428, malformed 412, older 409 with the escalation as it is now.

Imported by ``netwerk.setup.register_blueprints`` (not by ``netwerk.api``): escalation
builds on netwerk and meetings, so the core does not import it at module level.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from flask import Response, abort
from flask_login import current_user
from pydantic import Field, field_validator

from escalation import operations as ops
from escalation import policy, queries
from escalation.models import LEVELS, STATUSES, Escalation
from netwerk.api.core import PATH_PARAMETERS, StrictModel, endpoint, respond
from netwerk.api.persons import _refused
from netwerk.api.plans import _etag, _expected_version
from netwerk.db import db, utcnow
from netwerk.errors import api_error
from netwerk.web import load_or_404

VIEW = "escalations.view"
PATH_PARAMETERS.setdefault("escalation_id", {"type": "string", "format": "uuid"})


class EscalationQuery(StrictModel):
    overleg: uuid.UUID | None = Field(default=None, description="Alleen escalaties van dit overleg")
    level: int | None = Field(default=None, ge=min(LEVELS), le=max(LEVELS), description="Alleen dit niveau")
    status: Literal[tuple(STATUSES)] | None = Field(default=None,
                                                    description="Deze status; leeg: alle open escalaties")

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value  # ?level= is no filter, as on the board


class BlockedActionOut(StrictModel):
    id: str
    owner_organisation: str
    due: date | None
    status: str | None
    what: str | None  # None: the gate withholds the text from the caller


class EscalationOut(StrictModel):
    id: str
    pseudonym: str
    overleg_id: str
    overleg: str
    status: Literal[tuple(STATUSES)]
    level: int
    level_name: str
    rule_code: str | None
    explanation: str
    reason_category: str | None
    ask: str | None
    deadline: date | None
    overdue: bool
    top_overdue_since: date | None
    since: datetime
    blocked_actions: list[BlockedActionOut]
    may: list[str]  # the lifecycle steps the caller may take now (ontvangen, besluiten, ...)
    version: int


class EscalationList(StrictModel):
    escalations: list[EscalationOut]


class DecisionIn(StrictModel):
    decision: str = Field(min_length=5, max_length=2000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+$")
    new_action_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class EscalationStaleBody(StrictModel):
    code: str
    message: str


class EscalationStaleResponse(StrictModel):
    error: EscalationStaleBody
    current: EscalationOut


def _out(row: queries.Row) -> EscalationOut:
    e = row.esc
    return EscalationOut(
        id=str(e.id), pseudonym=row.pseudonym, overleg_id=str(e.overleg_id), overleg=row.overleg, status=e.status,
        level=e.level, level_name=row.level_name, rule_code=e.rule_code, explanation=e.explanation or "",
        reason_category=e.reason_category, ask=e.ask, deadline=e.deadline, overdue=row.overdue,
        top_overdue_since=e.top_overdue_since, since=row.since,
        blocked_actions=[BlockedActionOut(id=a.id, owner_organisation=a.organisation, due=a.due, status=a.status,
                                          what=a.text) for a in row.actions],
        may=row.steps, version=e.version)


def _minimal(escalations: list[Escalation], context: str) -> list[EscalationOut]:
    """The API gives everyone the minimal package: the texts as the gate allows them
    without a purpose (only the caller's own organisation's actions)."""
    user = current_user._get_current_object()
    return [_out(r) for r in queries.rows_for(user, escalations, utcnow().date(), context, minimal=True)]


@endpoint("/escalations", "GET", "Vastgelopen zaken die u mag zien, als minimaal pakket (nooit het dossier)",
          query_model=EscalationQuery, response_model=EscalationList, permission=VIEW, scope="escalations:read")
def list_escalations(query: EscalationQuery) -> Response:
    found = queries.board(current_user._get_current_object(), overleg_id=query.overleg, level=query.level,
                          status=query.status)
    body = EscalationList(escalations=_minimal(found, "api.escalaties"))
    db.session.commit()  # the gate's audit entries
    return respond(body)


@endpoint("/escalations/{escalation_id}/decision", "POST",
          'Leg als ontvanger een besluit vast; vereist If-Match: "<versie>" (de ETag). '
          "Een verouderde versie geeft 409 met de huidige stand",
          request_model=DecisionIn, response_model=EscalationOut, permission=VIEW, errors=(412, 428),
          error_models=((409, EscalationStaleResponse),), scope="escalations:write")
def decide_escalation(escalation_id: str, body: DecisionIn) -> Response:
    esc = load_or_404(Escalation, escalation_id)
    user = current_user._get_current_object()
    if not policy.may_act(user, esc, "view"):
        abort(404)  # one the caller may not see answers like one that does not exist
    expected = _expected_version()
    if isinstance(expected, Response):
        return expected
    try:
        ops.decide(esc, by=user, decision=body.decision, new_action_ids=body.new_action_ids, version=expected,
                   now=utcnow())
    except ops.StaleEscalation as exc:
        db.session.rollback()
        current = db.session.get(Escalation, exc.current.id)
        db.session.refresh(current)
        out = _minimal([current], "api.verouderd")[0]
        db.session.commit()
        stale = EscalationStaleResponse(error=EscalationStaleBody(code="verouderd", message=exc.message), current=out)
        return _etag(respond(stale, 409), out.version)
    except ops.EscalationRefused as exc:
        db.session.rollback()
        if exc.code == "geen_recht":
            return api_error(403, exc.message, "geen_recht")
        return _refused(exc, {"decision": "decision", "blocked_action_ids": "new_action_ids"})
    out = _minimal([esc], "api.besluit")[0]
    db.session.commit()
    return _etag(respond(out), out.version)
