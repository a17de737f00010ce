"""Content is read only through the privacy gate: marker strings in notes reach a viewer
only where the covenant (and consent) allow, every disclosure has its audit entry, the
owning organisation sees its own notes, and what is withheld is said in "that" terms."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, func, select, text

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.content import notes_for
from netwerk.db import db
from netwerk.models import Note
from netwerk.operations.notes import add_note
from privacy.models import AuditEntry
from tests.factories import SYSTEM, allow, make_covenant, make_org, make_user

TODAY = date.today()


@pytest.fixture
def world(app):
    cjg, police, school = (make_org("CJG Test", "cjg"), make_org("Politie Test", "politie", "veiligheid"),
                           make_org("School Test", "school", "onderwijs"))
    make_covenant(cjg, police, school, rules=[allow(police, "strafrechtelijk", "signalering"),
                                              allow(school, "zorgen", "signalering")])
    noor = ops.register_person(ops.PersonData("Noor", "Jansen", date(2012, 3, 4)), SYSTEM, TODAY)
    ops.register_involvement(noor, ops.InvolvementData(cjg.id, "Wijkcoach Wim", "wim@cjg.example.test",
                                                       TODAY, contact_phone="071 123 4567"), SYSTEM, TODAY)
    writer = make_user("deelnemer", org=cjg)
    for category in ("zorgen", "strafrechtelijk", "gezondheid"):
        add_note(noor, writer, category, f"MARKER-{category}", actor_for(writer, "deelnemer"), TODAY)
    db.session.commit()
    return {"person": noor, "writer": writer, "police": make_user("deelnemer", org=police),
            "school": make_user("deelnemer", org=school), "admin": make_user("beheerder", org=cjg)}


CATEGORIES = ("zorgen", "strafrechtelijk", "gezondheid")


def shown(viewer, person, purpose="signalering", role="deelnemer") -> dict[str, str | None]:
    """Category -> text as disclosed, None where withheld."""
    view = notes_for(actor_for(viewer, role), person, purpose)
    disclosed = {v.category: v.text for v in view.notes}
    return {c: disclosed.get(c) for c in CATEGORIES}


def test_note_text_is_encrypted_at_rest(world):
    raw = db.session.execute(text("SELECT text FROM note")).scalars().all()
    assert raw and all(value.startswith("nw1:") and "MARKER" not in value for value in raw)


def test_each_viewer_sees_exactly_what_the_covenant_allows(world):
    noor = world["person"]
    assert shown(world["writer"], noor) == {c: f"MARKER-{c}" for c in ("zorgen", "strafrechtelijk", "gezondheid")}
    assert shown(world["police"], noor) == {"zorgen": None, "strafrechtelijk": "MARKER-strafrechtelijk",
                                            "gezondheid": None}
    assert shown(world["school"], noor) == {"zorgen": "MARKER-zorgen", "strafrechtelijk": None, "gezondheid": None}
    assert set(shown(world["police"], noor, purpose="nazorg").values()) == {None}
    assert set(shown(world["admin"], noor, role="beheerder").values()) == {None}  # not even their own org's


def test_withheld_content_is_said_in_that_terms(world):
    view = notes_for(actor_for(world["police"], "deelnemer"), world["person"], "signalering")
    assert [n.category for n in view.notes] == ["strafrechtelijk"]
    # One line for the organisation, however many categories it withholds: not what, not how much.
    assert view.withheld == ["Er is informatie bij CJG Test — neem contact op met Wijkcoach Wim, 071 123 4567."]
    assert "MARKER-zorgen" not in repr(view) and "MARKER-gezondheid" not in repr(view)


def test_without_a_purpose_only_own_content_is_shown(world):
    assert shown(world["writer"], world["person"], purpose=None) == {c: f"MARKER-{c}" for c in CATEGORIES}
    assert set(shown(world["police"], world["person"], purpose=None).values()) == {None}
    denied = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read",
                                                         AuditEntry.outcome == "denied")).all()
    assert denied and {e.meta["reason"] for e in denied} == {"no_purpose"}


def test_every_disclosure_and_refusal_is_audited_with_the_note_ids(world):
    before = db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "content.read"))
    shown(world["police"], world["person"])
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "content.read")
                                 .order_by(AuditEntry.seq)).all()[before:]
    assert sorted((e.data_categories[0], e.outcome) for e in entries) == [
        ("gezondheid", "denied"), ("strafrechtelijk", "allowed"), ("zorgen", "denied")]
    note_ids = {str(n.id) for n in db.session.scalars(select(Note))}
    assert {i for e in entries for i in e.meta["notes"]} == note_ids
    assert all("MARKER" not in str(e.meta) + e.summary for e in entries)


def test_a_person_page_costs_the_same_statements_however_many_notes(world):
    def statements_for_page() -> int:
        count = 0

        def tick(*args, **kwargs) -> None:
            nonlocal count
            count += 1

        engine = db.engine
        event.listen(engine, "before_cursor_execute", tick)
        try:
            notes_for(actor_for(world["police"], "deelnemer"), world["person"], "signalering")
        finally:
            event.remove(engine, "before_cursor_execute", tick)
        db.session.rollback()
        return count

    statements_for_page()  # warm: the compiled covenant is cached per process
    few = statements_for_page()
    for n in range(12):  # more notes in the same three categories
        add_note(world["person"], world["writer"], ("zorgen", "strafrechtelijk", "gezondheid")[n % 3],
                 f"extra {n}", SYSTEM, TODAY)
    db.session.commit()
    assert statements_for_page() == few


@pytest.mark.parametrize(("category", "body", "message"), [
    ("onbekend", "tekst", "categorie"), ("zorgen", "   ", "Schrijf"), ("zorgen", "x" * 10_001, "hoogstens"),
    ("zorgen", "nul\x00teken", "ongeldige tekens"),
])
def test_bad_notes_are_refused_and_write_nothing(world, category, body, message):
    before = db.session.scalar(select(func.count()).select_from(Note))
    with pytest.raises(ops.OperationError, match=message):
        add_note(world["person"], world["writer"], category, body, SYSTEM, TODAY)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Note)) == before


FIVE = ("zorgen", "strafrechtelijk", "gezondheid", "school", "wonen")


def test_a_family_page_costs_the_same_statements_however_many_notes(app, client):
    """The issue's measure: a family page with 20 notes across 5 categories, then 40, in
    the same number of SQL statements (decisions are per person, category and owner)."""
    from tests.helpers import html, logged_in

    cjg, police = make_org("CJG Tel", "cjg"), make_org("Politie Tel", "politie", "veiligheid")
    make_covenant(cjg, police, rules=[allow(police, c, "signalering") for c in FIVE[:3]])
    mother = ops.register_person(ops.PersonData("Mona", "Tel", date(1980, 1, 1)), SYSTEM, TODAY)
    kids = [ops.register_person(ops.PersonData(n, "Tel", date(2012, 1, 1 + i)), SYSTEM, TODAY)
            for i, n in enumerate(("Kees", "Kim"))]
    family = ops.compose_family([(mother, "ouder"), (kids[0], "kind"), (kids[1], "kind")], SYSTEM)
    for kid in kids:
        for org, who in ((cjg, "cjg"), (police, "pol")):
            ops.register_involvement(kid, ops.InvolvementData(org.id, f"Contact {who}", f"{who}@example.test",
                                                              TODAY), SYSTEM, TODAY)
    writer, viewer = make_user("deelnemer", org=cjg), make_user("deelnemer", org=police)

    def write(n: int) -> None:
        for i in range(n):
            add_note(kids[i % 2], writer, FIVE[i % 5], f"note {i}", SYSTEM, TODAY)
        db.session.commit()

    def statements() -> tuple[int, str]:
        count = 0

        def tick(*args, **kwargs) -> None:
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", tick)
        try:
            response = client.get(f"/gezinnen/{family.id}")
        finally:
            event.remove(db.engine, "before_cursor_execute", tick)
        assert response.status_code == 200
        return count, html(response)

    write(20)
    db.session.commit()
    logged_in(client, viewer)
    statements()  # warm: the compiled covenant is cached per process
    twenty, page = statements()
    assert page.count('class="note"') == 12  # 3 allowed categories of 5, 20 notes
    write(20)
    forty, page = statements()
    assert page.count('class="note"') == 24
    assert forty == twenty
