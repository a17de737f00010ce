"""The letter that tells a parent or youth their family is discussed: plain Dutch (B1),
from the municipality's letterhead, with who sits at the table and what rights they have.
It never says *why* the family is on the agenda, and names nobody but the addressee."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from meetings.models import OVERLEG_KINDS, AgendaItem, Letter
from netwerk.db import db
from netwerk.models import Organisation, Person
from netwerk.pdf import Document, Letterhead, dutch_date
from privacy.audit import Actor, blind, record


def _table(item: AgendaItem) -> list[str]:
    ids = item.section.organisation_ids
    return list(db.session.scalars(select(Organisation.name).where(Organisation.id.in_(ids))
                                   .order_by(Organisation.name)))


def body(person: Person, item: AgendaItem, head: Letterhead) -> list[str]:
    meeting = item.meeting
    kind = OVERLEG_KINDS[meeting.overleg.kind].lower()
    contact = head.lines[-1] if head.lines else head.name
    return [
        f"Beste {person.first_name} {person.last_name},",
        f"Op {dutch_date(meeting.date)} bespreken wij uw gezin in het {kind}. "
        "In dit overleg werken organisaties samen. Zo krijgt uw gezin de juiste hulp.",
        "Aan tafel zitten: " + ", ".join(_table(item)) + ".",
        "Wat gebeurt er met uw gegevens? De organisaties delen alleen wat nodig is. "
        "Daarover zijn afspraken gemaakt. Alles wat wordt gedeeld, wordt vastgelegd.",
        "Uw rechten: u mag vragen welke gegevens over u zijn gedeeld. "
        "U mag vragen om gegevens te verbeteren of te verwijderen. "
        "U mag het ook oneens zijn met het bespreken.",
        f"Heeft u vragen? Neem dan contact met ons op: {contact}.",
        "Met vriendelijke groet,",
        head.name,
    ]


def render(letter: Letter, item: AgendaItem, actor: Actor, today: date) -> bytes:
    """The PDF; reading the addressee's name and address is audited."""
    person = db.session.get(Person, letter.person_id)
    head = Letterhead.from_config()
    doc = Document("Uw gezin wordt besproken", head, confidential=False)
    doc.paragraph(f"{person.first_name} {person.last_name}\n{person.address}")
    doc.paragraph(dutch_date(today))
    doc.title_block()
    for paragraph in body(person, item, head):
        doc.paragraph(paragraph)
    record("meetings.letter_opened", actor=actor, summary="letter to family opened (name and address)",
           subjects=[blind("person", person.id)], object_type="family_letter", object_id=letter.id,
           purpose=item.section.purpose, meta={"agenda_item": str(item.id)})
    return doc.render()
