"""The escalation lifecycle and the configuration of the ladder.

proposed (by a rule or by hand) → raised (chair or zorgcoördinator, with a reason and an
ask) → acknowledged (an addressee of the level) → decided (decision, new actions) →
resolved or de-escalated; a proposal that is not raised can be dismissed. When the
deadline of a level passes without a decision, :func:`level_up_overdue` moves the
escalation one level up with a new deadline; at the top level it stays and is flagged.

Every step writes an :class:`EscalationStep` and an audit entry (ids and codes only), and
notifies the people who must act next with a link and no content, after the commit. An
escalation carries a ``version``: a step that expected an older one raises
:class:`StaleEscalation`; the version is claimed with a conditional UPDATE so two
concurrent steps (or a step and the scheduler) cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from escalation import ladder
from escalation.models import (
    AWAITING_DECISION,
    OPEN_STATUSES,
    REASON_CATEGORIES,
    RECIPIENT_SCOPES,
    RULE_CODES,
    SOURCES,
    TOP_LEVEL,
    Escalation,
    EscalationStep,
    LadderLevel,
    StagnationRule,
)
from escalation.policy import addressees as _addressees
from escalation.policy import addressees_at, coordinator_id, is_chair, may_act
from meetings.models import OverlegMember
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.mail import queue_mail
from netwerk.models import ROLES, Family, FamilyMember, Notification, Organisation, User
from netwerk.models.plans import Plan, PlanAction
from netwerk.operations.common import OperationError
from privacy.audit import Actor, blind, record

TIMEZONE = ZoneInfo("Europe/Amsterdam")
ASK_LENGTH = (5, 1000)
NOTE_LENGTH = (5, 2000)
DECISION_LENGTH = (5, 2000)
MAX_BLOCKED_ACTIONS = 50


def link(esc: Escalation) -> str:
    """The one place an escalation's address is made (notifications, mails): the board
    sends it on to the escalation on its family's page, for whoever may see it."""
    return f"/opschaling?escalatie={esc.id}"


NOT_RAISER = "Alleen de voorzitter van het overleg of de zorgcoördinator van het gezin kan dit doen."
NOT_ADDRESSEE = "Alleen wie de escalatie op dit niveau ontvangt, kan dit doen."
NOT_CHAIR = "Alleen de voorzitter van het overleg kan de escalatieladder en de signaleringsregels aanpassen."
# Closing status -> (policy action, audit action).
CLOSING: dict[str, tuple[str, str]] = {
    "opgelost": ("resolve", "escalation.resolved"),
    "afgeschaald": ("deescalate", "escalation.deescalated"),
    "afgewezen": ("dismiss", "escalation.dismissed"),
}
CLOSED = "Deze escalatie is afgesloten en kan niet meer worden gewijzigd."


class EscalationRefused(OperationError):
    """A refusal with a Dutch message (wrong role, wrong state, missing input)."""


class StaleEscalation(OperationError):
    """The caller acted on an older version; ``current`` is the escalation as it is now."""

    def __init__(self, current: Escalation) -> None:
        super().__init__("Iemand anders heeft deze escalatie intussen gewijzigd; bekijk de nieuwe stand.",
                         field="version", code="verouderd")
        self.current = current


# ---------------------------------------------------------------------------- helpers

def local_day(now: datetime) -> date:
    """The Dutch calendar day of ``now``: deadlines are days in the Netherlands."""
    return now.astimezone(TIMEZONE).date()


def _refuse_role(message: str) -> EscalationRefused:
    return EscalationRefused(message, code="geen_recht")


def _check(by: User, esc: Escalation, action: str, message: str) -> None:
    if not may_act(by, esc, action):
        raise _refuse_role(message)


def _claim(esc: Escalation, expected: int | None) -> None:
    """Bump the version only if it is still the one the caller saw (a concurrent step loses)."""
    current = esc.version
    if expected is not None and expected != current:
        raise StaleEscalation(esc)
    done = db.session.execute(update(Escalation).where(Escalation.id == esc.id, Escalation.version == current)
                              .values(version=current + 1).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.refresh(esc)
        raise StaleEscalation(esc)
    esc.version = current + 1


def _text(value: str | None, field: str, bounds: tuple[int, int], label: str) -> str:
    cleaned = (value or "").strip()
    low, high = bounds
    if len(cleaned) < low:
        raise EscalationRefused(f"{label} is verplicht (minstens {low} tekens).", field=field)
    if len(cleaned) > high:
        raise EscalationRefused(f"{label} is te lang (hoogstens {high} tekens).", field=field)
    if any(ord(c) < 32 and c not in "\n\r\t" for c in cleaned):
        raise EscalationRefused(f"{label} bevat ongeldige tekens.", field=field)
    return cleaned


def _actor(user: User | None, role: str | None = None) -> Actor:
    return actor_for(user, role) if user is not None else Actor.system("job:escalation")


def _role_for(user: User, esc: Escalation) -> str:
    if is_chair(user, esc.overleg_id):
        return "voorzitter"
    return user.primary_role


def _subjects(household_id: uuid.UUID) -> list[str]:
    persons = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == household_id))
    return [blind("family", household_id), *(blind("person", p) for p in persons)]


def _audit(action: str, esc: Escalation, actor: Actor, summary: str, meta: dict[str, Any] | None = None) -> None:
    """Ids and codes only: the ask, the decision and notes never enter the log."""
    base = {"overleg": str(esc.overleg_id), "status": esc.status, "level": esc.level, "version": esc.version}
    record(action, actor=actor, summary=summary, subjects=_subjects(esc.household_id), object_type="escalation",
           object_id=esc.id, categories=["plan"], meta=base | (meta or {}))


def _step(esc: Escalation, kind: str, actor: User | None, at: datetime, *, from_level: int | None = None,
          to_level: int | None = None, note: str | None = None) -> EscalationStep:
    step = EscalationStep(escalation_id=esc.id, position=len(esc.steps), at=at,
                          actor_id=actor.id if actor else None, kind=kind, from_level=from_level, to_level=to_level)
    step.note = note
    esc.steps.append(step)
    return step


def _raisers(esc: Escalation) -> list[User]:
    chair_ids = select(OverlegMember.user_id).where(OverlegMember.overleg_id == esc.overleg_id,
                                                    OverlegMember.role == "voorzitter")
    users = [u for u in db.session.scalars(select(User).where(User.id.in_(chair_ids), User.active.is_(True)))
             if "voorzitter" in u.roles]
    coordinator = coordinator_id(esc.household_id)
    if coordinator is not None and all(u.id != coordinator for u in users):
        user = db.session.get(User, coordinator)
        if user is not None and user.active:
            users.append(user)
    return users


def _notify(esc: Escalation, kind: str, users: Iterable[User], actor: User | None) -> int:
    """A notice and a mail per recipient: a link, never content. One per step (the
    dedupe key names the version), so a retried job cannot send twice."""
    sent, path = 0, link(esc)
    for user in {u.id: u for u in users}.values():
        if actor is not None and user.id == actor.id:
            continue
        db.session.add(Notification(user_id=user.id, kind=kind, link=path))
        if user.email:
            queue_mail(kind, user.email, user.name, path,
                       dedupe_key=f"esc:{esc.id.hex}:{esc.version}:{kind}:{user.id.hex}"[:120])
        sent += 1
    return sent


def _open_duplicate(household_id: uuid.UUID, overleg_id: uuid.UUID, rule_code: str | None) -> bool:
    rule = Escalation.rule_code.is_(None) if rule_code is None else Escalation.rule_code == rule_code
    return db.session.scalar(select(Escalation.id).where(
        Escalation.household_id == household_id, Escalation.overleg_id == overleg_id, rule,
        Escalation.status.in_(OPEN_STATUSES)).limit(1)) is not None


def _ensure_open(esc: Escalation) -> None:
    if not esc.is_open:
        raise EscalationRefused(CLOSED, code="verkeerde_stand")


def _new_deadline(esc: Escalation, level: int, now: datetime) -> date:
    return ladder.deadline_from(local_day(now), ladder.deadline_days(esc.overleg_id, level))


# ---------------------------------------------------------------------------- lifecycle

def propose(*, overleg: Any, household_id: uuid.UUID, source: str, rule_code: str | None = None,
            blocked_action_ids: Iterable[uuid.UUID | str] = (), stuck_organisation_id: uuid.UUID | None = None,
            explanation: str = "", proposed_by: User | None = None, now: datetime | None = None) -> Escalation | None:
    """Propose an escalation (by a rule: ``proposed_by`` None; by hand: the chair or the
    coordinator). Idempotent: while an escalation for the same family, overleg and rule is
    open, nothing changes and None is returned."""
    now = now or utcnow()
    if source not in SOURCES:
        raise EscalationRefused("Onbekende bron van de escalatie.", field="source")
    if rule_code is not None and rule_code not in RULE_CODES:
        raise EscalationRefused("Onbekende signaleringsregel.", field="rule_code")
    if source == "regel" and rule_code is None:
        raise EscalationRefused("Een voorstel van een regel noemt de regel.", field="rule_code")
    if db.session.get(Family, household_id) is None:
        raise EscalationRefused("Dit gezin bestaat niet.", field="household_id")
    if proposed_by is not None and not (is_chair(proposed_by, overleg.id)
                                        or coordinator_id(household_id) == proposed_by.id):
        raise _refuse_role(NOT_RAISER)
    action_ids = _blocked_actions(household_id, blocked_action_ids)
    if _open_duplicate(household_id, overleg.id, rule_code):
        return None
    esc = Escalation(overleg_id=overleg.id, household_id=household_id, status="voorgesteld", level=0,
                     source=source, rule_code=rule_code, blocked_action_ids=[str(a) for a in action_ids],
                     stuck_organisation_id=stuck_organisation_id or _stuck_organisation(action_ids),
                     explanation=(explanation or _rule_explanation(overleg.id, rule_code))[:400],
                     proposed_at=now, proposed_by_id=proposed_by.id if proposed_by else None, version=1)
    try:
        # A concurrent scan may have proposed the same one: the partial unique index decides.
        with db.session.begin_nested():
            db.session.add(esc)
            db.session.flush()
    except IntegrityError:
        return None
    _step(esc, "voorgesteld", proposed_by, now, to_level=0)
    _audit("escalation.proposed", esc, _actor(proposed_by), "escalation proposed",
           {"source": source, "rule": rule_code, "actions": len(action_ids)})
    _notify(esc, "escalation_proposed", _raisers(esc), proposed_by)
    return esc


def _blocked_actions(household_id: uuid.UUID, ids: Iterable[uuid.UUID | str],
                     field: str = "blocked_action_ids") -> list[uuid.UUID]:
    """The given action ids, each checked to be an action of this family's plans."""
    try:
        wanted = list(dict.fromkeys(uuid.UUID(str(i)) for i in ids))
    except ValueError:
        raise EscalationRefused("Een actie is onbekend.", field=field) from None
    if len(wanted) > MAX_BLOCKED_ACTIONS:
        raise EscalationRefused("Te veel acties in één escalatie.", field=field)
    if not wanted:
        return []
    found = set(db.session.scalars(select(PlanAction.id).join(Plan, Plan.id == PlanAction.plan_id)
                                   .where(PlanAction.id.in_(wanted), Plan.family_id == household_id)))
    if found != set(wanted):
        raise EscalationRefused("Een actie hoort niet bij dit gezin.", field=field)
    return wanted


def _stuck_organisation(action_ids: list[uuid.UUID]) -> uuid.UUID | None:
    if not action_ids:
        return None
    owners = db.session.scalars(select(PlanAction.owner_org_id).where(PlanAction.id.in_(action_ids),
                                                                      PlanAction.owner_org_id.is_not(None)))
    return next(iter(owners), None)


def _rule_explanation(overleg_id: uuid.UUID, rule_code: str | None) -> str:
    if rule_code is None:
        return ""
    rule = ladder.rules_of(overleg_id).get(rule_code)
    return ladder.rule_explanation(rule) if rule else ladder.explain(rule_code)


def raise_escalation(esc: Escalation, *, by: User, reason_category: str, ask: str, level: int | None = None,
                     stuck_organisation_id: uuid.UUID | None = None, version: int | None = None,
                     now: datetime | None = None) -> Escalation:
    """The chair or coordinator confirms a proposal: a reason, what is asked, and the level
    it starts at (0 unless the chair already spoke to the partner). Starts the deadline."""
    now = now or utcnow()
    _check(by, esc, "raise", NOT_RAISER)
    _ensure_open(esc)
    if esc.status != "voorgesteld":
        raise EscalationRefused("Deze escalatie is al opgeschaald.", code="verkeerde_stand")
    if reason_category not in REASON_CATEGORIES:
        raise EscalationRefused("Kies een reden: " + ", ".join(REASON_CATEGORIES.values()).lower() + ".",
                                field="reason_category")
    text = _text(ask, "ask", ASK_LENGTH, "Wat er gevraagd wordt")
    start = esc.level if level is None else level
    if start not in ladder.LEVEL_DEFAULTS:
        raise EscalationRefused("Kies een niveau van 0 tot en met 3.", field="level")
    if stuck_organisation_id is not None:
        if db.session.get(Organisation, stuck_organisation_id) is None:
            raise EscalationRefused("Deze organisatie bestaat niet.", field="stuck_organisation_id")
        esc.stuck_organisation_id = stuck_organisation_id
    if not addressees_at(esc, start):
        raise EscalationRefused("Op dit niveau is niemand om de escalatie aan te richten; kies de partner die "
                                "vastzit of een ander niveau, of pas de ladder aan.", field="level")
    _claim(esc, version)
    esc.status, esc.level, esc.reason_category, esc.ask = "opgeschaald", start, reason_category, text
    esc.raised_at, esc.raised_by_id, esc.level_changed_at = now, by.id, now
    esc.deadline = _new_deadline(esc, start, now)
    _step(esc, "opgeschaald", by, now, from_level=None, to_level=start)
    _audit("escalation.raised", esc, _actor(by, _role_for(by, esc)), "escalation raised",
           {"reason": reason_category, "deadline": esc.deadline.isoformat()})
    _notify(esc, "escalation_raised", addressees_at(esc, start), by)
    return esc


def acknowledge(esc: Escalation, *, by: User, version: int | None = None, now: datetime | None = None) -> Escalation:
    """An addressee confirms receipt (once per level: a level-up asks the new addressees)."""
    now = now or utcnow()
    _ensure_open(esc)
    if esc.status == "voorgesteld":
        raise EscalationRefused("Deze escalatie is nog niet opgeschaald.", code="verkeerde_stand")
    if esc.status != "opgeschaald":
        raise EscalationRefused("De ontvangst van deze escalatie is al bevestigd.", code="verkeerde_stand")
    _check(by, esc, "acknowledge", NOT_ADDRESSEE)
    _claim(esc, version)
    esc.status, esc.acknowledged_at, esc.acknowledged_by_id = "ontvangen", now, by.id
    _step(esc, "ontvangen", by, now, from_level=esc.level, to_level=esc.level)
    _audit("escalation.acknowledged", esc, _actor(by), "escalation acknowledged")
    _notify(esc, "escalation_acknowledged", _raisers(esc), by)
    return esc


def decide(esc: Escalation, *, by: User, decision: str, new_action_ids: Iterable[uuid.UUID | str] = (),
           version: int | None = None, now: datetime | None = None) -> Escalation:
    """An addressee decides (with or without acknowledging first); new actions agreed in
    the decision are linked by id. Stops the clock: a decided escalation does not move up."""
    now = now or utcnow()
    _ensure_open(esc)
    if esc.status not in AWAITING_DECISION:
        message = ("Deze escalatie is nog niet opgeschaald." if esc.status == "voorgesteld"
                   else "Over deze escalatie is al besloten.")
        raise EscalationRefused(message, code="verkeerde_stand")
    _check(by, esc, "decide", NOT_ADDRESSEE)
    text = _text(decision, "decision", DECISION_LENGTH, "Het besluit")
    actions = _blocked_actions(esc.household_id, new_action_ids, "new_action_ids")
    _claim(esc, version)
    esc.status, esc.decided_at, esc.decided_by_id, esc.decision = "besloten", now, by.id, text
    esc.decision_action_ids = [str(a) for a in actions]
    if esc.acknowledged_at is None:
        esc.acknowledged_at, esc.acknowledged_by_id = now, by.id
    _step(esc, "besloten", by, now, from_level=esc.level, to_level=esc.level)
    _audit("escalation.decided", esc, _actor(by), "escalation decided", {"new_actions": len(actions)})
    _notify(esc, "escalation_decided", _raisers(esc), by)
    return esc


def _close(esc: Escalation, *, by: User, note: str, status: str, allowed_from: tuple[str, ...], wrong: str,
           version: int | None, now: datetime | None) -> Escalation:
    now = now or utcnow()
    _check(by, esc, CLOSING[status][0], NOT_RAISER)
    _ensure_open(esc)
    if esc.status not in allowed_from:
        raise EscalationRefused(wrong, code="verkeerde_stand")
    text = _text(note, "note", NOTE_LENGTH, "Een toelichting")
    told = addressees(esc)  # before closing: afterwards there are none
    _claim(esc, version)
    esc.status, esc.closed_at, esc.closed_by_id = status, now, by.id
    _step(esc, status, by, now, from_level=esc.level, to_level=None, note=text)
    _audit(CLOSING[status][1], esc, _actor(by, _role_for(by, esc)), f"escalation {status}")
    _notify(esc, "escalation_closed", [*told, *_raisers(esc)], by)
    return esc


def resolve(esc: Escalation, *, by: User, note: str, version: int | None = None,
            now: datetime | None = None) -> Escalation:
    """The case is moving again: close the escalation as solved."""
    return _close(esc, by=by, note=note, status="opgelost", allowed_from=("opgeschaald", "ontvangen", "besloten"),
                  wrong="Een voorstel dat niet is opgeschaald wordt afgewezen, niet opgelost.",
                  version=version, now=now)


def deescalate(esc: Escalation, *, by: User, note: str, version: int | None = None,
               now: datetime | None = None) -> Escalation:
    """Take it back down: the network handles it again without the ladder."""
    return _close(esc, by=by, note=note, status="afgeschaald", allowed_from=("opgeschaald", "ontvangen", "besloten"),
                  wrong="Een voorstel dat niet is opgeschaald wordt afgewezen, niet afgeschaald.",
                  version=version, now=now)


def dismiss(esc: Escalation, *, by: User, note: str, version: int | None = None,
            now: datetime | None = None) -> Escalation:
    """Turn down a proposal that was not raised (the rule may propose again later, once
    this one is closed)."""
    return _close(esc, by=by, note=note, status="afgewezen", allowed_from=("voorgesteld",),
                  wrong="Alleen een voorstel dat nog niet is opgeschaald kan worden afgewezen.",
                  version=version, now=now)


def addressees(esc: Escalation) -> list[User]:
    """The addressees of the escalation's current level."""
    return _addressees(esc)


# ---------------------------------------------------------------------------- scheduler

def overdue(today: date) -> list[Escalation]:
    """Escalations awaiting a decision whose deadline has passed (one query); at the top
    level only those not flagged yet."""
    return list(db.session.scalars(
        select(Escalation).where(Escalation.status.in_(AWAITING_DECISION), Escalation.deadline < today,
                                 (Escalation.level < TOP_LEVEL) | Escalation.top_overdue_since.is_(None))
        .order_by(Escalation.deadline, Escalation.id)))


def level_up_overdue(now: datetime | None = None) -> int:
    """Move every escalation whose deadline passed without a decision one level up, with
    the new level's deadline counted from today; at level 3 flag it instead. Idempotent:
    the new deadline lies in the future and a flagged one is not selected again. Returns
    how many escalations changed."""
    now = now or utcnow()
    today = local_day(now)
    changed = 0
    for esc in overdue(today):
        try:
            with db.session.begin_nested():
                _level_up(esc, now, today)
            changed += 1
        except StaleEscalation:
            continue  # a person acted on it meanwhile: their step stands
    return changed


def _level_up(esc: Escalation, now: datetime, today: date) -> None:
    _claim(esc, None)
    if esc.level >= TOP_LEVEL:
        esc.top_overdue_since = today
        _audit("escalation.top_overdue", esc, _actor(None), "escalation overdue at the top level",
               {"deadline": esc.deadline.isoformat() if esc.deadline else None})
        _notify(esc, "escalation_level_up", _raisers(esc), None)
        return
    before = esc.level
    esc.level, esc.status, esc.level_changed_at = before + 1, "opgeschaald", now
    esc.acknowledged_at = esc.acknowledged_by_id = None
    esc.deadline = _new_deadline(esc, esc.level, now)
    _step(esc, "niveau_omhoog", None, now, from_level=before, to_level=esc.level)
    _audit("escalation.level_up", esc, _actor(None), "escalation moved up a level (deadline passed)",
           {"from_level": before, "deadline": esc.deadline.isoformat()})
    _notify(esc, "escalation_level_up", [*addressees_at(esc, esc.level), *_raisers(esc)], None)


# ---------------------------------------------------------------------------- configuration

def configure_level(level: LadderLevel, *, by: User, recipient_role: str, recipient_scope: str,
                    deadline_working_days: int, recipient_organisation_id: uuid.UUID | None = None,
                    name: str | None = None, now: datetime | None = None) -> LadderLevel:
    """Change who receives an escalation at this level and their response time."""
    if not is_chair(by, level.overleg_id):
        raise _refuse_role(NOT_CHAIR)
    if recipient_role not in ROLES or recipient_role in {"beheerder", "privacy"}:
        raise EscalationRefused("Kies een rol die een escalatie kan ontvangen.", field="recipient_role")
    if recipient_scope not in RECIPIENT_SCOPES:
        raise EscalationRefused("Kies bij welke organisatie de ontvangers horen.", field="recipient_scope")
    if recipient_scope == "organisation":
        if recipient_organisation_id is None or db.session.get(Organisation, recipient_organisation_id) is None:
            raise EscalationRefused("Kies de organisatie van de ontvangers.", field="recipient_organisation_id")
    else:
        recipient_organisation_id = None
    if not isinstance(deadline_working_days, int) or not 1 <= deadline_working_days <= 120:
        raise EscalationRefused("De termijn is 1 tot en met 120 werkdagen.", field="deadline_working_days")
    new_name = _text(name, "name", (3, 120), "De naam van het niveau") if name is not None else level.name
    before = {"role": level.recipient_role, "scope": level.recipient_scope, "days": level.deadline_working_days}
    level.recipient_role, level.recipient_scope = recipient_role, recipient_scope
    level.recipient_organisation_id, level.deadline_working_days = recipient_organisation_id, deadline_working_days
    level.name, level.updated_at = new_name, now or utcnow()
    db.session.flush()
    record("escalation.ladder_changed", actor=_actor(by, "voorzitter"), summary="escalation ladder level changed",
           object_type="escalation_ladder_level", object_id=level.id,
           meta={"overleg": str(level.overleg_id), "level": level.level, "before": before,
                 "after": {"role": recipient_role, "scope": recipient_scope, "days": deadline_working_days,
                           "organisation": str(recipient_organisation_id) if recipient_organisation_id else None}})
    return level


def configure_rule(rule: StagnationRule, *, by: User, enabled: bool, params: dict[str, int],
                   now: datetime | None = None) -> StagnationRule:
    """Switch a stagnation rule on or off and set its parameters (the same keys as its
    default, whole numbers from 0 to 365)."""
    if not is_chair(by, rule.overleg_id):
        raise _refuse_role(NOT_CHAIR)
    expected = set(ladder.RULE_DEFAULTS[rule.code].params)
    if set(params) != expected:
        raise EscalationRefused("Deze regel heeft als instelling: " + ", ".join(sorted(expected)) + ".",
                                field="params")
    low, high = ladder.PARAM_RANGE
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise EscalationRefused(f"De instelling {key} is een heel getal van {low} tot en met {high}.",
                                    field=key)
    before = {"enabled": rule.enabled, "params": dict(rule.params)}
    rule.enabled, rule.params, rule.updated_at = bool(enabled), dict(params), now or utcnow()
    db.session.flush()
    record("escalation.rule_changed", actor=_actor(by, "voorzitter"), summary="stagnation rule changed",
           object_type="escalation_rule", object_id=rule.id,
           meta={"overleg": str(rule.overleg_id), "rule": rule.code, "before": before,
                 "after": {"enabled": rule.enabled, "params": rule.params}})
    return rule
