"""Writing content: a note about a person, in a covenant category, owned by the author's
organisation."""

from __future__ import annotations

from datetime import date

from netwerk.db import db
from netwerk.models import Note, Person, User
from netwerk.operations.common import OperationError
from netwerk.operations.families import subject_of
from privacy.audit import Actor, record
from privacy.queries import covenant_in_force, vocabulary

MAX_NOTE_LENGTH = 10_000


def add_note(person: Person, author: User, category: str, text: str, actor: Actor, today: date) -> Note:
    covenant = covenant_in_force(today)
    if covenant is None:
        raise OperationError("Er is geen convenant van kracht; inhoud vastleggen kan nu niet.")
    if category not in vocabulary(covenant).categories:
        raise OperationError("Kies een categorie uit het convenant.", field="category")
    text = (text or "").strip()
    if not text:
        raise OperationError("Schrijf een notitie.", field="text")
    if len(text) > MAX_NOTE_LENGTH:
        raise OperationError(f"Een notitie is hoogstens {MAX_NOTE_LENGTH} tekens.", field="text")
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in text):
        raise OperationError("De notitie bevat ongeldige tekens.", field="text")
    note = Note(person_id=person.id, organisation_id=author.organisation_id, author_user_id=author.id,
                category=category, written_on=today)
    note.text = text
    db.session.add(note)
    db.session.flush()
    record("note.added", actor=actor, summary="note added", subjects=[subject_of(person)], object_type="note",
           object_id=note.id, categories=[category], covenant_version=covenant.version)
    return note
