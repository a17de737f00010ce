"""Requests for erasure (AVG art. 17) and rectification (art. 16) as a workflow: registered
for a person with the one-month deadline, decided once with a reason, carried out — erasure
through the retention path with its proof entry, rectification as a task for the owning
organisation (the privacy officer sees whether, not what). Bad input: Dutch messages,
nothing half-written."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Family, Involvement, Note, Notification, Person
from privacy.audit import blind, verify_chain
from privacy.models import AuditEntry, RetentionStatistic
from privacy.requests import (
    NewRequest,
    RectificationTask,
    RequestError,
    RightsRequest,
    carry_out_erasure,
    decide,
    find_person,
    register,
)
from tests.conftest import post_form
from tests.factories import make_user
from tests.helpers import html, logged_in
from tests.privacy.test_retention import NOTE_TEXT, Ids, world  # noqa: F401 - the shared fixture

TODAY = date(2026, 1, 31)


def _count(model: type, *where: object) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_erasure_is_decided_once_with_a_reason_and_runs_through_retention(world, app):  # noqa: F811
    w = Ids(world)
    officer = make_user("privacy", totp=True)
    actor = actor_for(officer, "privacy")
    asked = NewRequest("wissen", date(2026, 1, 31), "Moeder van Anna", "Wis alles over mijn dochter")
    entries = _count(AuditEntry)
    with pytest.raises(RequestError, match="niet gevonden"):
        register(find_person("00000000-0000-0000-0000-000000000000"), asked, actor, TODAY)
    with pytest.raises(RequestError, match="niet gevonden"):
        register(find_person("123456789"), asked, actor, TODAY)  # fails the elfproef: no look-up at all
    with pytest.raises(RequestError, match="in de toekomst"):
        register(db.session.get(Person, w.child), NewRequest("wissen", date(2026, 2, 1), "x", "y"), actor, TODAY)
    db.session.rollback()
    assert _count(RightsRequest) == 0 and _count(AuditEntry) == entries

    request = register(find_person(str(w.child)), asked, actor, TODAY)
    db.session.commit()
    assert request.respond_by == date(2026, 2, 28)  # one month, in a short month
    with pytest.raises(RequestError, match="Beslis eerst"):
        carry_out_erasure(request, actor)
    entries = _count(AuditEntry)
    with pytest.raises(RequestError, match="reden van de beslissing"):
        decide(request, "toegewezen", "   ", actor)
    db.session.rollback()
    assert db.session.get(RightsRequest, request.id).status == "ontvangen" and _count(AuditEntry) == entries

    decide(request, "toegewezen", "Geen wettelijke plicht meer om te bewaren", actor)
    db.session.commit()
    with pytest.raises(RequestError, match="al beslist"):
        decide(request, "afgewezen", "Toch niet", actor)
    db.session.rollback()
    removed = carry_out_erasure(db.session.get(RightsRequest, request.id), actor)
    db.session.commit()
    assert removed == {"notitie": 2, "betrokkenheid": 1, "persoon": 1}  # an ended involvement is theirs too
    request = db.session.get(RightsRequest, request.id)
    assert request.person_id is None and request.person_pseudonym == "A.T. (2012)" and request.carried_out_at
    assert db.session.get(Person, w.child) is None and _count(Note, Note.person_id == w.child) == 0
    # the parent, the household and the other family stay: the erasure concerned one person
    assert db.session.get(Person, w.parent) and db.session.get(Family, w.family)
    assert _count(Involvement, Involvement.person_id == w.other_child) == 1
    proof = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retention.erased"))
    assert proof.object_id == str(request.id) and proof.meta["scope"] == "alles"
    assert NOTE_TEXT not in str(proof.meta) and "Anna" not in str(proof.meta)
    assert {s.reason for s in db.session.scalars(select(RetentionStatistic))} == {"verzoek"}
    with pytest.raises(RequestError, match="al uitgevoerd"):
        carry_out_erasure(request, actor)
    assert verify_chain().ok


def test_rectification_goes_to_the_owner_as_a_task(world, app):  # noqa: F811
    w = Ids(world)
    officer = make_user("privacy", totp=True)
    client = app.test_client()
    logged_in(client, officer)
    new = "/privacy/verzoeken/nieuw"
    refused = post_form(client, new, {"soort": "rectificatie", "persoon": "onbekend", "ontvangen_op": "2026-01-05",
                                      "verzoeker": "Cas", "gevraagd": "Mijn school klopt niet"})
    assert refused.status_code == 422 and "Deze persoon is niet gevonden" in html(refused)
    assert _count(RightsRequest) == 0
    # The miss is a look-up too, audited; a half-filled form is refused before any look-up.
    assert db.session.scalar(select(AuditEntry.actor_user_id).where(
        AuditEntry.action == "rights.request_person_not_found")) == officer.id
    half = post_form(client, new, {"soort": "rectificatie", "persoon": str(w.other_child), "ontvangen_op": "",
                                   "verzoeker": "Cas", "gevraagd": "Mijn school klopt niet"})
    assert half.status_code == 422 and "niet gevonden" not in html(half)
    created = post_form(client, new, {"soort": "rectificatie", "persoon": str(w.other_child),
                                      "ontvangen_op": "2026-01-05", "verzoeker": "Cas zelf",
                                      "gevraagd": "Mijn school klopt niet"})
    assert created.status_code == 302
    request = db.session.scalar(select(RightsRequest))
    page = f"/privacy/verzoeken/{request.id}"
    listing = html(client.get("/privacy/verzoeken"))
    assert "C.T. (2011)" in listing and "05-02-2026" in listing and "te laat" in listing  # deadline passed

    no_reason = post_form(client, page + "/beslissen", {"beslissing": "gedeeltelijk", "reden": ""}, token_from=page)
    assert no_reason.status_code == 422 and "Geef de reden van de beslissing; die is verplicht" in html(no_reason)
    assert post_form(client, page + "/beslissen", {"beslissing": "gedeeltelijk", "reden": "Alleen de school"},
                     token_from=page).status_code == 302
    twice = post_form(client, page + "/beslissen", {"beslissing": "afgewezen", "reden": "Toch niet"}, token_from=page)
    assert twice.status_code == 422 and "al beslist" in html(twice)
    none_chosen = post_form(client, page + "/uitvoeren", {}, token_from=page)
    assert none_chosen.status_code == 422 and "Kies de organisatie" in html(none_chosen)
    assert post_form(client, page + "/uitvoeren", {"organisaties": str(world.police.id)},
                     token_from=page).status_code == 302
    task = db.session.scalar(select(RectificationTask))
    assert task.organisation_id == world.police.id
    link = f"/correcties/{task.id}"
    assert db.session.scalar(select(Notification.link).where(Notification.user_id == world.officer.id)) == link
    shown = html(client.get(page))
    assert "Spijbelt" not in shown and "Open" in shown  # whether, never what the records say

    stranger = app.test_client()
    logged_in(stranger, world.worker)  # CJG: not the owner of this task
    assert stranger.get(link).status_code == 404 and client.get(link).status_code == 404
    police = app.test_client()
    logged_in(police, world.officer)
    assert "Mijn school klopt niet" in html(police.get(link))
    viewed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "rights.rectification_task_viewed"))
    entry = viewed.one()  # the person's own words shown to the owning organisation: audited, naming them
    assert entry.actor_user_id == world.officer.id and entry.subject_ids == [blind("person", request.person_id)]
    assert "Mijn school" not in str(entry.meta)
    assert post_form(police, link, {"uitkomst": "gecorrigeerd"}).status_code == 302
    again = post_form(police, link, {"uitkomst": "niet_nodig"})
    assert again.status_code == 422 and "al afgehandeld" in html(again)
    assert "Gecorrigeerd" in html(client.get(page))
    assert verify_chain().ok
