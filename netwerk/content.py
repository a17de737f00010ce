"""Reading content: the one path from stored notes to a screen, API answer or export.

Every note is read through ``privacy.policy.decide`` for the viewer and a purpose; one
decision (and one audit entry, listing the note ids) covers the notes of one category
from one organisation. What is withheld is shown in "that" terms: which organisation has
information and whom to call, never what it is.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from netwerk.db import db
from netwerk.models import Involvement, Note, Organisation, Person
from netwerk.operations.families import subject_of
from privacy.audit import Actor
from privacy.policy import decide


@dataclass(frozen=True)
class NoteView:
    category: str
    organisation: str
    written_on: str
    text: str | None  # None when withheld
    withheld: str | None = None  # the "that" message shown instead


def _contact_line(org: Organisation, involvements: dict[object, Involvement]) -> str:
    contact = involvements.get(org.id)
    if contact is not None:
        phone = f", {contact.contact_phone}" if contact.contact_phone else ""
        return f"Er is informatie bij {org.name} — neem contact op met {contact.contact_name}{phone}."
    reach = org.phone or org.email or "de organisatie"
    return f"Er is informatie bij {org.name} — neem contact op via {reach}."


def notes_for(viewer: Actor, person: Person, purpose: str) -> list[NoteView]:
    """The person's notes as ``viewer`` may see them for ``purpose``, newest first."""
    notes = db.session.scalars(
        select(Note).where(Note.person_id == person.id).options(selectinload(Note.organisation))
        .order_by(Note.written_on.desc(), Note.created_at.desc())
    ).all()
    involvements = {i.organisation_id: i for i in db.session.scalars(
        select(Involvement).where(Involvement.person_id == person.id, Involvement.status == "actief"))}
    groups: dict[tuple[str, object], list[Note]] = defaultdict(list)
    for note in notes:
        groups[(note.category, note.organisation_id)].append(note)
    allowed: dict[tuple[str, object], bool] = {}
    for (category, owner), members in groups.items():
        decision = decide(viewer, subjects=[subject_of(person)], category=category, purpose=purpose,
                          object_type="note", owner_org_id=owner,
                          meta={"notes": [str(n.id) for n in members]})
        allowed[(category, owner)] = decision.allowed
    return [
        NoteView(n.category, n.organisation.name, n.written_on.isoformat(), n.text)
        if allowed[(n.category, n.organisation_id)]
        else NoteView(n.category, n.organisation.name, n.written_on.isoformat(), None,
                      _contact_line(n.organisation, involvements))
        for n in notes
    ]
