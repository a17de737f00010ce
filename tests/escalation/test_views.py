"""The escalation screens: the stalled-cases board, a household's escalations with their
history, every lifecycle step through its form (and its refusals), who sees what (the
minimal package for addressees up the ladder), and the open escalation as a fixed item on
the next meeting's agenda. The world is CORE's (``tests/escalation/conftest.py``)."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from flask.testing import FlaskClient
from sqlalchemy import select

from escalation import operations as esc_ops
from escalation.models import Escalation
from meetings import operations as meeting_ops
from meetings.models import AgendaItem, Meeting
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.models import Notification, User
from tests.conftest import post_form
from tests.escalation.conftest import TODAY, World, at
from tests.factories import make_user
from tests.helpers import html, logged_in, path_of
from tests.netwerk.test_plans import WHAT

BOARD = "/opschaling"


def second_factor(user: User) -> User:
    """The chair's role needs a second factor before it can log in."""
    if "voorzitter" in user.roles and not user.totp_enabled:
        user.totp_secret, user.totp_enabled = pyotp.random_base32(), True
        db.session.commit()
    return user


def client_for(app, user: User) -> FlaskClient:
    client = app.test_client()
    logged_in(client, second_factor(user))
    return client


def family_url(world: World) -> str:
    return f"/gezinnen/{world.family.id}/opschaling"


def step(client: FlaskClient, world: World, esc: Escalation, name: str, data: dict | None = None,
         version: int | None = None):
    db.session.refresh(esc)
    payload = {"version": str(esc.version if version is None else version), **(data or {})}
    return post_form(client, f"/opschaling/{esc.id}/{name}", payload, token_from=family_url(world))


def current(esc: Escalation) -> Escalation:
    db.session.expire_all()
    return db.session.get(Escalation, esc.id)


def test_every_lifecycle_step_through_the_screens_with_its_refusals(app, world: World):
    esc = world.propose()
    chair = client_for(app, world.chair)
    board = html(chair.get(BOARD))
    assert world.family.pseudonym in board and "Voorgesteld" in board and "Hét Overleg Esc" in board
    assert f'href="{family_url(world)}#opschalen-{esc.id}"' in board  # the step the chair may take
    page = html(chair.get(family_url(world)))
    assert f'id="opschalen-{esc.id}"' in page and f'id="afwijzen-{esc.id}"' in page
    assert f'id="besluiten-{esc.id}"' not in page  # deciding is the addressee's

    # Bad input: a clear Dutch message on the form, nothing written.
    refused = step(chair, world, esc, "opschalen", {"reason_category": "capaciteit", "ask": ""})
    assert refused.status_code == 422 and "Dit veld is verplicht." in html(refused)
    refused = step(chair, world, esc, "opschalen", {"reason_category": "geen_idee", "ask": "Wijkagent vrijmaken?"})
    assert refused.status_code == 422 and "Ongeldige keuze." in html(refused)
    assert current(esc).status == "voorgesteld" and current(esc).version == 1
    # A step the viewer cannot take here: the operation's refusal, in Dutch, on the page.
    officer = client_for(app, world.officer)
    assert step(officer, world, esc, "opschalen", {"reason_category": "capaciteit", "ask": "Zelf opschalen?"}
                ).status_code == 404  # a proposal is not the action owner's to see yet

    done = step(chair, world, esc, "opschalen", {"reason_category": "capaciteit",
                                                 "ask": "Kan de politie een wijkagent vrijmaken?"})
    assert done.status_code == 302 and path_of(done) == family_url(world)
    raised = current(esc)
    assert (raised.status, raised.level, raised.reason_category) == ("opgeschaald", 0, "capaciteit")
    assert raised.ask == "Kan de politie een wijkagent vrijmaken?" and raised.deadline is not None

    # A stale page: the version seen is older than the escalation's.
    stale = step(chair, world, esc, "oplossen", {"note": "Opgelost volgens mij."}, version=1)
    assert stale.status_code == 422 and "intussen gewijzigd" in html(stale)
    assert current(esc).status == "opgeschaald"

    # The addressee at level 0 (the action's owner): the minimal package, and the receipt
    # is one click on the board.
    board = html(officer.get(BOARD))
    assert "minimaal pakket" in board and "Kan de politie een wijkagent vrijmaken?" in board
    assert f'action="/opschaling/{esc.id}/ontvangen"' in board
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', board).group(1)
    done = officer.post(f"/opschaling/{esc.id}/ontvangen", data={"csrf_token": token, "version": str(raised.version)})
    assert done.status_code == 302 and current(esc).status == "ontvangen"
    assert step(officer, world, esc, "besluiten", {"decision": "x"}).status_code == 422  # too short for the operation
    done = step(officer, world, esc, "besluiten", {"decision": "De wijkagent gaat volgende week langs."})
    assert done.status_code == 302 and current(esc).status == "besloten"
    refused = step(officer, world, esc, "oplossen", {"note": "Klaar, wat mij betreft."})
    assert refused.status_code == 422 and "Alleen de voorzitter van het overleg of de zorgcoördinator" in html(refused)

    done = step(chair, world, esc, "oplossen", {"note": "De wijkagent is langs geweest."})
    assert done.status_code == 302 and current(esc).status == "opgelost"
    history = html(chair.get(family_url(world)))
    for kind in ("Voorgesteld", "Opgeschaald", "Ontvangen", "Besloten", "Opgelost"):
        assert kind in history
    assert "De wijkagent is langs geweest." in history and "Paula Politie (Politie Esc)" in history
    # The board shows open escalations; the closed one is found by its status.
    assert world.family.pseudonym not in html(chair.get(BOARD))
    assert world.family.pseudonym in html(chair.get(BOARD + "?status=opgelost"))
    # Closed: no step is offered, and one forced through the URL is refused.
    assert 'class="step-form"' not in history
    refused = step(chair, world, esc, "afschalen", {"note": "Toch afschalen."})
    assert refused.status_code == 422 and "afgesloten" in html(refused)
    assert post_form(chair, f"/opschaling/{esc.id}/onbekend", {}, token_from=BOARD).status_code == 404


def test_a_proposal_can_be_dismissed_and_a_raised_one_stepped_down(app, world: World):
    esc = world.propose()
    coordinator = client_for(app, world.coordinator)  # the zorgcoördinator may do what the chair may
    assert step(coordinator, world, esc, "afwijzen", {"note": "Loopt inmiddels weer."}).status_code == 302
    assert current(esc).status == "afgewezen"
    again = world.raised()
    assert step(coordinator, world, again, "afschalen", {"note": "Netwerk pakt het zelf op."}).status_code == 302
    assert current(again).status == "afgeschaald"


def test_who_sees_what_the_minimal_package_for_managers(app, world: World):
    esc = world.raised(level=1)  # addressed to the police's team leader
    leader = client_for(app, world.team_leader)
    page = html(leader.get(BOARD))
    assert world.family.pseudonym in page and "minimaal pakket" in page
    assert "Kan de politie een wijkagent vrijmaken?" in page and "Capaciteit" in page
    # The blocked action: its frame always; its text because it is the leader's own
    # organisation's, which the gate allows without a purpose.
    assert "Politie Esc" in page and WHAT in page
    detail = html(leader.get(family_url(world)))
    assert f'id="ontvangen-{esc.id}"' in detail and f'id="besluiten-{esc.id}"' in detail
    assert f'id="oplossen-{esc.id}"' not in detail
    assert step(leader, world, esc, "besluiten", {"decision": "Wij zetten er een extra agent op."}).status_code == 302

    chair = client_for(app, world.chair)
    assert step(chair, world, esc, "afschalen", {"note": "NOTITIE-ALLEEN-VOOR-DE-VOORZITTER"}).status_code == 302
    assert "NOTITIE-ALLEEN-VOOR-DE-VOORZITTER" in html(chair.get(family_url(world)))
    detail = html(leader.get(family_url(world)))  # took part: still sees it, minimal
    assert "minimale pakket" in detail and "Wij zetten er een extra agent op." in detail  # their own decision
    assert "NOTITIE-ALLEEN-VOOR-DE-VOORZITTER" not in detail and "Vera Voorzitter" not in detail

    # The chair is not involved with the family: the police's action text stays withheld.
    board = html(chair.get(BOARD + "?status=afgeschaald"))
    assert WHAT not in board and "De tekst van de actie is voor u niet zichtbaar." in board
    # Not on this rung, nor involved: nothing, and the family page does not exist for them.
    for user in (world.manager, world.alderman):
        client = client_for(app, user)
        assert world.family.pseudonym not in html(client.get(BOARD + "?status=afgeschaald"))
        assert client.get(family_url(world)).status_code == 404
        assert client.get(f"{BOARD}?escalatie={esc.id}").status_code == 404
    # Involved with the family but no part in the escalation: an empty page, not a 404.
    outsider = client_for(app, world.outsider)
    assert "geen escalaties" in html(outsider.get(family_url(world)))
    assert step(outsider, world, esc, "ontvangen").status_code == 404
    # A notification's link leads to the escalation on its family page.
    found = leader.get(f"{BOARD}?escalatie={esc.id}")
    assert found.status_code == 302 and found.headers["Location"].endswith(f"{family_url(world)}#escalatie-{esc.id}")


def test_the_board_filters_and_refuses_filters_it_does_not_offer(app, world: World):
    esc = world.raised(level=1)
    leader = client_for(app, world.team_leader)
    assert 'href="/opschaling"' in html(leader.get("/"))  # the menu
    assert world.family.pseudonym in html(leader.get(f"{BOARD}?niveau=1&overleg={esc.overleg_id}"))
    assert world.family.pseudonym not in html(leader.get(f"{BOARD}?niveau=2"))
    assert world.family.pseudonym not in html(leader.get(f"{BOARD}?status=besloten"))
    for bad in ("niveau=7", "niveau=een", "status=kwijt", "overleg=niet-een-id", f"escalatie={esc.id}x"):
        answer = leader.get(f"{BOARD}?{bad}")
        assert answer.status_code in (400, 404), bad
        if answer.status_code == 400:
            assert "Dit filter bestaat niet" in html(answer)
    beheerder = client_for(app, make_user("beheerder", totp=True))
    assert 'href="/opschaling"' not in html(beheerder.get("/"))
    assert beheerder.get(BOARD).status_code == 403


def test_an_open_escalation_is_a_fixed_item_on_the_next_agenda(app, world: World):
    esc = world.raised()
    meeting = Meeting(overleg_id=world.overleg.id, date=TODAY + timedelta(days=7), start_time=world.overleg.start_time,
                      duration_minutes=180, place="Zaal")
    db.session.add(meeting)
    db.session.commit()
    added = meeting_ops.prepare_meeting(meeting, world.chair, actor_for(world.chair))
    assert [(i.family_id, i.reasons, i.section.name) for i in added] == [(world.family.id, ["escalatie"], "Preventief")]
    db.session.commit()
    # Prepared again: nothing doubled; closed, the next meeting does not bring it back.
    assert meeting_ops.prepare_meeting(meeting, world.chair, actor_for(world.chair)) == []
    esc_ops.resolve(current(esc), by=world.chair, note="Weer op gang.", now=at(TODAY))
    later = Meeting(overleg_id=world.overleg.id, date=TODAY + timedelta(days=21), start_time=world.overleg.start_time,
                    duration_minutes=180, place="Zaal")
    db.session.add(later)
    db.session.commit()
    items = meeting_ops.prepare_meeting(later, world.chair, actor_for(world.chair))
    assert all("escalatie" not in i.reasons for i in items)
    assert db.session.scalar(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)).reasons == ["escalatie"]


def test_a_notifications_link_leads_to_the_escalation(app, world: World):
    esc = world.raised(level=1)
    notice = db.session.scalar(select(Notification).where(Notification.user_id == world.team_leader.id,
                                                          Notification.kind == "escalation_raised"))
    assert notice is not None and notice.link == esc_ops.link(esc)
    found = client_for(app, world.team_leader).get(notice.link)
    assert found.status_code == 302 and found.headers["Location"].endswith(f"{family_url(world)}#escalatie-{esc.id}")
