"""What the daily scan proposes, in bulk.

A first scan after deployment can find thousands of stalled cases at once. Proposing them
one by one (:func:`escalation.operations.lifecycle.propose`: its checks, a savepoint, the
raisers, a notice and a mail per case) took minutes. Here the checks, the open proposals,
the subjects and the raisers are read once per overleg; every proposal still gets its own
step and its own audit entry, so the family's trail names it. The raisers are told once per
run and overleg, with one notice and one mail linking to the overleg's open proposals on the
board, instead of once per case: a chair who gets forty mails in a morning reads none.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from escalation.ladder import local_day
from escalation.models import OPEN_STATUSES, RULE_CODES, Escalation, EscalationStep
from escalation.operations.common import MAX_BLOCKED_ACTIONS, _audit
from escalation.operations.lifecycle import _rule_explanation, propose
from escalation.rules import Firing
from meetings.models import OverlegMember
from netwerk.db import db
from netwerk.mail import queue_mail
from netwerk.models import Family, FamilyMember, Notification, OutboxMail, User
from netwerk.models.plans import CoordinatorTerm, Plan, PlanAction
from privacy.audit import Actor, blind

ACTOR = Actor.system("job:escalation-scan")
CHUNK = 2000  # ids per IN (...): well under SQLite's and PostgreSQL's parameter limits
T = TypeVar("T")


def _chunks(items: list[T]) -> Iterator[list[T]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def board_link(overleg_id: uuid.UUID) -> str:
    """The board filtered to the overleg's proposals: what a scan's notice links to."""
    return f"/opschaling?overleg={overleg_id}&status=voorgesteld"


def propose_found(overleg: Any, firings: list[Firing], now: datetime) -> tuple[int, int]:
    """Propose every firing of one overleg that has no open proposal of its rule yet.
    Returns (proposed, refused): a firing naming an unknown family, an unknown rule or an
    action of another family is refused and counted, never fatal."""
    valid, owners = _valid(firings)
    refused = len(firings) - len(valid)
    fresh = _without_open(overleg.id, valid)
    if not fresh:
        return 0, refused
    escalations = [_new(overleg.id, f, owners, now) for f in fresh]
    try:
        with db.session.begin_nested():
            db.session.add_all(escalations)
            db.session.flush()
    except IntegrityError:
        # Someone proposed one of these meanwhile (the partial unique index): one by one,
        # which leaves the existing ones alone.
        return _one_by_one(overleg, fresh, now), refused
    subjects = _subjects_of({e.household_id for e in escalations})
    for esc in escalations:
        _audit("escalation.proposed", esc, ACTOR, "escalation proposed",
               {"source": "regel", "rule": esc.rule_code, "actions": len(esc.blocked_action_ids)},
               subjects=subjects[esc.household_id])
    _tell_raisers(overleg.id, {e.household_id for e in escalations}, now)
    return len(escalations), refused


def _valid(firings: list[Firing]) -> tuple[list[Firing], dict[uuid.UUID, uuid.UUID | None]]:
    """The firings with a known rule, an existing family and only that family's actions
    (at most MAX_BLOCKED_ACTIONS); and each blocked action's owner organisation."""
    families: set[uuid.UUID] = set()
    for chunk in _chunks(sorted({f.household_id for f in firings}, key=str)):
        families.update(db.session.scalars(select(Family.id).where(Family.id.in_(chunk))))
    action_ids: list[uuid.UUID] = []
    for f in firings:
        try:
            action_ids += [uuid.UUID(str(a)) for a in f.blocked_action_ids]
        except ValueError:
            continue  # refused below
    found: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID | None]] = {}
    for chunk in _chunks(sorted(set(action_ids), key=str)):
        for action_id, family_id, owner in db.session.execute(
                select(PlanAction.id, Plan.family_id, PlanAction.owner_org_id)
                .join(Plan, Plan.id == PlanAction.plan_id).where(PlanAction.id.in_(chunk))):
            found[action_id] = (family_id, owner)

    def ok(f: Firing) -> bool:
        try:
            ids = [uuid.UUID(str(a)) for a in f.blocked_action_ids]
        except ValueError:
            return False
        return (f.rule_code in RULE_CODES and f.household_id in families and len(ids) <= MAX_BLOCKED_ACTIONS
                and all(found.get(a, (None,))[0] == f.household_id for a in ids))

    return [f for f in firings if ok(f)], {a: owner for a, (_, owner) in found.items()}


def _without_open(overleg_id: uuid.UUID, firings: list[Firing]) -> list[Firing]:
    """Drop the firings whose rule has an open proposal for the family in this overleg
    (and repeats within the batch)."""
    taken = {(h, r) for h, r in db.session.execute(select(Escalation.household_id, Escalation.rule_code).where(
        Escalation.overleg_id == overleg_id, Escalation.rule_code.is_not(None),
        Escalation.status.in_(OPEN_STATUSES)))}
    out = []
    for f in firings:
        if (f.household_id, f.rule_code) not in taken:
            taken.add((f.household_id, f.rule_code))
            out.append(f)
    return out


def _new(overleg_id: uuid.UUID, f: Firing, owners: dict[uuid.UUID, uuid.UUID | None], now: datetime) -> Escalation:
    ids = [str(a) for a in dict.fromkeys(f.blocked_action_ids)]
    stuck = f.stuck_organisation_id or next((owners[uuid.UUID(a)] for a in ids if owners.get(uuid.UUID(a))), None)
    esc = Escalation(id=uuid.uuid4(), overleg_id=overleg_id, household_id=f.household_id, status="voorgesteld",
                     level=0, source="regel", rule_code=f.rule_code, blocked_action_ids=ids,
                     stuck_organisation_id=stuck,
                     explanation=(f.explanation or _rule_explanation(overleg_id, f.rule_code))[:400],
                     proposed_at=now, proposed_by_id=None, version=1)
    # Set on the new object, so no lazy load of its (empty) steps follows.
    esc.steps = [EscalationStep(position=0, at=now, actor_id=None, kind="voorgesteld", to_level=0)]
    return esc


def _one_by_one(overleg: Any, firings: Iterable[Firing], now: datetime) -> int:
    made = 0
    for f in firings:
        made += propose(overleg=overleg, household_id=f.household_id, source="regel", rule_code=f.rule_code,
                        blocked_action_ids=f.blocked_action_ids, stuck_organisation_id=f.stuck_organisation_id,
                        explanation=f.explanation, now=now) is not None
    return made


def _subjects_of(households: set[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    persons: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for chunk in _chunks(sorted(households, key=str)):
        for family_id, person_id in db.session.execute(
                select(FamilyMember.family_id, FamilyMember.person_id).where(FamilyMember.family_id.in_(chunk))):
            persons[family_id].append(person_id)
    return {h: [blind("family", h), *(blind("person", p) for p in persons[h])] for h in households}


def _tell_raisers(overleg_id: uuid.UUID, households: set[uuid.UUID], now: datetime) -> int:
    """One notice and one mail per raiser: the overleg's chairs (still holding the role)
    and the zorgcoördinatoren of the households just proposed. A retried run on the same
    day mails no one twice (the dedupe key names the day)."""
    chairs = set(db.session.scalars(select(OverlegMember.user_id).where(
        OverlegMember.overleg_id == overleg_id, OverlegMember.role == "voorzitter")))
    coordinators: set[uuid.UUID] = set()
    for chunk in _chunks(sorted(households, key=str)):
        coordinators.update(db.session.scalars(
            select(CoordinatorTerm.user_id).join(Plan, Plan.id == CoordinatorTerm.plan_id)
            .where(Plan.family_id.in_(chunk), Plan.status != "afgesloten", CoordinatorTerm.end_on.is_(None))))
    users = [u for chunk in _chunks(sorted(chairs | coordinators, key=str))
             for u in db.session.scalars(select(User).where(User.id.in_(chunk), User.active.is_(True)))]
    path, day = board_link(overleg_id), local_day(now).isoformat()
    keys = {u.id: f"scan:{day}:{overleg_id.hex}:{u.id.hex}" for u in users}
    mailed = set(db.session.scalars(select(OutboxMail.dedupe_key).where(OutboxMail.dedupe_key.in_(keys.values()))))
    sent = 0
    for user in users:
        if user.id not in coordinators and "voorzitter" not in user.roles:
            continue  # a chair member who no longer holds the role
        db.session.add(Notification(user_id=user.id, kind="escalation_proposals", link=path))
        if user.email and keys[user.id] not in mailed:  # a second run that day: the notice, no second mail
            queue_mail("escalation_proposals", user.email, user.name, path, dedupe_key=keys[user.id])
        sent += 1
    return sent
