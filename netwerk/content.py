"""Reading content: the one path from stored notes to a screen, API answer or export.

Every note is read through ``privacy.policy.decide`` for the viewer and a purpose; one
decision (and one audit entry, listing the note ids) covers the notes of one category
from one organisation about one person, so a page costs a fixed number of statements
however many notes there are. What is withheld is said in "that" terms, once per
organisation: that it has information and whom to call — not what, how much or when.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from netwerk.db import db
from netwerk.models import (
    FamilyMember,
    Involvement,
    NetworkMember,
    Note,
    Organisation,
    Person,
    Plan,
    PlanAction,
    PlanConcern,
    PlanGoal,
)
from netwerk.operations.families import subject_of
from privacy.audit import Actor, blind
from privacy.policy import decide


@dataclass(frozen=True)
class NoteView:
    id: uuid.UUID
    person_id: uuid.UUID
    category: str
    organisation: str
    written_on: str
    text: str


@dataclass
class ContentView:
    """What one viewer may see of one person's content for one purpose."""

    purpose: str | None
    notes: list[NoteView] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # one "that" line per organisation


def contact_line(org: Organisation, contact: Involvement | None) -> str:
    if contact is not None:
        phone = f", {contact.contact_phone}" if contact.contact_phone else ""
        return f"Er is informatie bij {org.name} — neem contact op met {contact.contact_name}{phone}."
    reach = org.phone or org.email or "de organisatie"
    return f"Er is informatie bij {org.name} — neem contact op via {reach}."


def content_for(viewer: Actor, persons: list[Person], purpose: str | None,
                context: str | None = None) -> dict[uuid.UUID, ContentView]:
    """The notes of ``persons`` as ``viewer`` may see them for ``purpose``, newest first.
    ``context`` (match, noodtoegang, plan, ...) goes into each audit entry."""
    ids = [p.id for p in persons]
    notes = db.session.scalars(
        select(Note).where(Note.person_id.in_(ids)).options(selectinload(Note.organisation))
        .order_by(Note.written_on.desc(), Note.created_at.desc())
    ).all()
    contacts = {(i.person_id, i.organisation_id): i for i in db.session.scalars(
        select(Involvement).where(Involvement.person_id.in_(ids), Involvement.status == "actief")
        .order_by(Involvement.registered_at))}
    groups: dict[tuple[uuid.UUID, str, uuid.UUID], list[Note]] = defaultdict(list)
    for note in notes:
        groups[(note.person_id, note.category, note.organisation_id)].append(note)
    by_id = {p.id: p for p in persons}
    allowed = {key: decide(viewer, subjects=[subject_of(by_id[key[0]])], category=key[1], purpose=purpose,
                           object_type="note", owner_org_id=key[2],
                           meta={"notes": [str(n.id) for n in members]} | ({"context": context} if context else {})
                           ).allowed
               for key, members in groups.items()}
    views = {p.id: ContentView(purpose) for p in persons}
    for note in notes:
        view = views[note.person_id]
        if allowed[(note.person_id, note.category, note.organisation_id)]:
            view.notes.append(NoteView(note.id, note.person_id, note.category, note.organisation.name,
                                       note.written_on.isoformat(), note.text))
        else:
            line = contact_line(note.organisation, contacts.get((note.person_id, note.organisation_id)))
            if line not in view.withheld:
                view.withheld.append(line)
    return views


def notes_for(viewer: Actor, person: Person, purpose: str | None, context: str | None = None) -> ContentView:
    """One person's content as ``viewer`` may see it for ``purpose``."""
    return content_for(viewer, [person], purpose, context)[person.id]


# --- the plan (1gezin1plan) -------------------------------------------------------------

@dataclass
class PlanContent:
    """What one viewer may see of a family's plan for one purpose. The plan's frame —
    status, dates, the zorgcoördinator and whom to call — is "that" and always present;
    each written piece is disclosed per (category, owning organisation) by the gate."""

    purpose: str | None
    family_view: str | None = None
    strengths: str | None = None
    goals: list[PlanGoal] = field(default_factory=list)
    concerns: list[PlanConcern] = field(default_factory=list)
    actions: list[PlanAction] = field(default_factory=list)
    network: list[NetworkMember] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)
    plan_text: bool = False  # the plan's own text (family view, strengths) was disclosed


def plan_content(viewer: Actor, plan: Plan, purpose: str | None, context: str | None = None,
                 categories: Collection[str] | None = None) -> PlanContent:
    """The plan's content as ``viewer`` may see it: one decision per (category, owner).
    ``categories`` limits what is asked for (and so audited as read) to the pieces a
    screen shows — a meeting screen shows goals and actions ("plan"), never concerns."""
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == plan.family_id))
    subjects = [blind("person", person_id) for person_id in members]
    goals = db.session.scalars(select(PlanGoal).where(PlanGoal.plan_id == plan.id).order_by(PlanGoal.created_at)).all()
    concerns = db.session.scalars(select(PlanConcern).where(PlanConcern.plan_id == plan.id)
                                  .order_by(PlanConcern.created_at)).all()
    actions = db.session.scalars(select(PlanAction).where(PlanAction.plan_id == plan.id)
                                 .order_by(PlanAction.due, PlanAction.created_at)).all()
    network = db.session.scalars(select(NetworkMember).where(NetworkMember.plan_id == plan.id)).all()
    pieces: list[tuple[str, object, object]] = [("plan", plan.organisation_id, plan)]
    pieces += [("plan", g.organisation_id, g) for g in goals] + [("plan", plan.organisation_id, m) for m in network]
    pieces += [(c.category, c.organisation_id, c) for c in concerns]
    # An action assigned to an organisation is that organisation's to see, as is its author's.
    pieces += [("plan", a.owner_org_id or a.organisation_id, a) for a in actions]
    groups: dict[tuple[str, object], list[object]] = defaultdict(list)
    for category, owner, piece in pieces:
        if categories is None or category in categories:
            groups[(category, owner)].append(piece)
    allowed = {key: decide(viewer, subjects=[blind("family", plan.family_id), *subjects], category=key[0],
                           purpose=purpose, object_type="plan", object_id=plan.id, owner_org_id=key[1],
                           meta={"pieces": len(items)} | ({"context": context} if context else {})).allowed
               for key, items in groups.items()}
    view = PlanContent(purpose)
    orgs = {o.id: o for o in db.session.scalars(select(Organisation).where(Organisation.id.in_(
        [owner for _, owner in groups])))}
    for (category, owner), items in groups.items():
        if not allowed[(category, owner)]:
            line = contact_line(orgs[owner], None)
            if line not in view.withheld:
                view.withheld.append(line)
            continue
        for piece in items:
            _place(view, piece)
    return view


def _place(view: PlanContent, piece: object) -> None:
    if isinstance(piece, Plan):
        view.family_view, view.strengths, view.plan_text = piece.family_view, piece.strengths, True
    elif isinstance(piece, PlanGoal):
        view.goals.append(piece)
    elif isinstance(piece, PlanConcern):
        view.concerns.append(piece)
    elif isinstance(piece, PlanAction):
        view.actions.append(piece)
    elif isinstance(piece, NetworkMember):
        view.network.append(piece)
