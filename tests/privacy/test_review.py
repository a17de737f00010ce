"""The privacy officer's review queue (issue 7 item 2): each rule fires at its threshold and
not below, the job is incremental and idempotent, decisions are validated, revisable and
audited, the screens show audit metadata and never case content, and only privacy officers
get in."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from netwerk import jobqueue
from netwerk import operations as ops
from netwerk.content import content_for
from netwerk.db import db, utcnow
from netwerk.models import PurposeClaim, User
from privacy import review
from privacy.audit import Actor, record
from privacy.models import AuditEntry, ReviewCursor, ReviewDecision, ReviewFlag
from privacy.review_rules import Candidate, Event, Settings, detect
from tests.conftest import csrf_token
from tests.factories import SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import html, logged_in, path_of

URL = "/privacy/beoordelen"
MARKER = "GEHEIM-REVIEW-9c1e"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
U1, U2, U3, U4 = (uuid.UUID(int=n) for n in range(1, 5))


# --- the rules, on events in memory ------------------------------------------------------------

def ev(seq: int, user: uuid.UUID, minutes: float, action: str = "content.read", outcome: str = "allowed",
       subjects: tuple[str, ...] = (), **meta: object) -> Event:
    return Event(seq, T0 + timedelta(minutes=minutes), user, None, action, outcome, subjects, dict(meta))


def views(user: uuid.UUID, families: int, span: float, start_seq: int, **meta: object) -> list[Event]:
    """``families`` reads of distinct families spread evenly over ``span`` minutes."""
    step = span / max(families - 1, 1)
    return [ev(start_seq + i, user, i * step, subjects=(f"family:{user.int}-{i}",), reason="covenant_rule",
               context="plan", **meta) for i in range(families)]


def kinds(candidates: list[Candidate]) -> list[tuple[str, uuid.UUID, int, int]]:
    return sorted((c.kind, c.user_id, len(c.events), c.measure) for c in candidates)


def test_burst_fires_at_15_families_within_10_minutes_and_not_below():
    s = Settings()  # the defaults: 15 families in 10 minutes
    events = (views(U1, 15, 9.9, 100)  # fires
              + views(U2, 14, 5, 200)  # one family short
              + views(U3, 15, 10, 300)  # the first one has left the window when the 15th arrives
              + views(U4, 20, 1, 400, objects=["a", "b"]))  # Mijn acties list views do not count
    assert kinds(detect(events, s)) == [("piek", U1, 15, 15)]
    # Two members of one household are one family once the household is known.
    same = [ev(500 + i, U2, i * 0.5, subjects=(f"person:{i}",), reason="covenant_rule", context="plan")
            for i in range(15)]
    assert kinds(detect(same, s)) == [("piek", U2, 15, 15)]  # unresolved: 15 persons
    assert detect(same, s, household=lambda u: "family:x" if u in ("person:0", "person:1") else u) == []
    # A longer run is one episode; a run after a quiet spell is another.
    long_run = views(U1, 30, 18, 600) + views(U1, 15, 5, 700)
    long_run[30:] = [replace(e, at=e.at + timedelta(hours=2)) for e in long_run[30:]]
    assert [len(c.events) for c in detect(long_run, s)] == [30, 15]


def test_denials_outside_context_lookups_and_emergencies_fire_at_their_thresholds():
    s = Settings(denials=5, denials_window=timedelta(minutes=10), group_window=timedelta(minutes=60))
    denials = [ev(i, U1, i, outcome="denied", reason="covenant_forbids") for i in range(5)]
    below = [ev(10 + i, U2, i, outcome="denied", reason="covenant_forbids") for i in range(4)]
    routine = [ev(20 + i, U2, 5 + i * 0.1, outcome="denied", reason="no_purpose") for i in range(10)]
    spread = [ev(40 + i, U3, i * 2.6, outcome="denied", reason="consent_missing") for i in range(5)]  # 10.4 min
    assert kinds(detect(denials + below + routine + spread, s)) == [("weigeringen", U1, 5, 5)]

    outside = [ev(50, U1, 0, reason="covenant_rule", context="noodtoegang"),
               ev(51, U1, 59, reason="covenant_rule"),  # no context at all: outside too, same episode
               ev(52, U1, 120, reason="covenant_rule", context="noodtoegang"),  # 61 minutes later: a new flag
               ev(53, U2, 0, reason="covenant_rule", context="plan"),
               ev(54, U2, 1, reason="covenant_rule", context="match"),
               ev(55, U2, 2, reason="own_organisation", context="noodtoegang"),
               ev(56, U2, 3, outcome="denied", reason="covenant_forbids", context="noodtoegang")]
    assert kinds(detect(outside, s)) == [("buiten_context", U1, 1, 1), ("buiten_context", U1, 2, 2)]

    lookups = [ev(60, U1, 0, "person.lookup_throttled", "denied", flag="review"),
               ev(61, U1, 3, "person.identity_conflict", "denied", flag="review"),
               ev(62, U2, 0, "family.member_added", "success", existing_person=False),
               ev(63, U3, 0, "family.member_added", "success", existing_person=True, flag="review")]
    assert kinds(detect(lookups, s)) == [("opzoeken", U1, 2, 2), ("opzoeken", U3, 1, 1)]

    claims = [ev(70, U1, 0, "content.emergency_access", "emergency"),
              ev(71, U1, 1, "content.emergency_access", "emergency"), ev(72, None, 1, "content.emergency_access",
                                                                         "emergency")]
    assert kinds(detect(claims, s)) == [("noodtoegang", U1, 1, 1), ("noodtoegang", U1, 1, 1)]


# --- the job: incremental, idempotent ----------------------------------------------------------

def actor_of(user: User, role: str = "deelnemer") -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role=role, roles=frozenset({role}))


def view_at(actor: Actor, family: int, minutes: float) -> int:
    """A content read of one family, written at T0 + ``minutes`` (the clock travels)."""
    with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
        seq = record("content.read", actor=actor, outcome="allowed", subjects=[f"family:{family}"],
                     categories=["zorgen"], purpose="procesregie", summary="content disclosed",
                     meta={"reason": "covenant_rule", "context": "plan"}).seq
    db.session.commit()
    return seq


def flags(kind: str | None = None) -> list[ReviewFlag]:
    db.session.expire_all()
    stmt = select(ReviewFlag).order_by(ReviewFlag.id)
    return list(db.session.scalars(stmt.where(ReviewFlag.kind == kind) if kind else stmt))


def test_the_job_reads_incrementally_looks_back_and_stores_each_flag_once(app):
    worker = actor_of(make_user("deelnemer"))
    with time_machine.travel(T0, tick=False):  # Mijn acties: 20 households in one list view is no burst
        record("content.read", actor=worker, outcome="allowed", subjects=[f"family:{i}" for i in range(100, 120)],
               categories=["plan"], purpose="procesregie", summary="content disclosed",
               meta={"reason": "covenant_rule", "context": "mijn_acties", "objects": ["a", "b"]})
    seqs = [view_at(worker, i, i * 0.5) for i in range(10)]
    assert review.run_locked().state == "ok" and flags() == []  # 10 families: below the threshold
    seqs += [view_at(worker, i, 6 + (i - 10) * 0.5) for i in range(10, 15)]  # 15 in 8 minutes, over two runs
    assert (review.JOB, timedelta(hours=1)) in jobqueue.PERIODIC
    assert jobqueue.run_job(review.JOB) == "ok"
    [burst] = flags("piek")
    assert (burst.user_id, burst.measure, burst.seqs) == (worker.user_id, 15, seqs)
    assert burst.organisation_id == worker.org_id and burst.period_start == T0

    assert review.run_locked().state == "empty"
    db.session.get(ReviewCursor, review.CURSOR).last_seq = 0  # reading everything again changes nothing
    db.session.commit()
    assert review.run_locked().state == "ok" and [f.id for f in flags()] == [burst.id]

    seqs.append(view_at(worker, 15, 8.5))  # the burst goes on: its open flag grows
    review.run_locked()
    [burst] = flags("piek")
    assert burst.seqs == seqs and burst.measure == 16

    officer = actor_of(make_user("privacy"), "privacy")
    review.decide_flag(burst, "in_orde", "Werkvoorraad van de wijk doorgelopen.", 0, officer)
    db.session.commit()
    later = view_at(worker, 16, 9)  # still a burst, but the decided flag is not changed
    review.run_locked()
    first, second = flags("piek")
    assert first.seqs == seqs and first.decision == "in_orde"
    assert later in second.seqs and second.key.endswith(f":{later}") and second.decision is None

    jobqueue.connection().set(review.RUN_LOCK, "someone", ex=60)
    view_at(worker, 17, 9.5)
    assert review.run_locked().state == "busy"  # another run holds the lock: nothing happens
    jobqueue.connection().delete(review.RUN_LOCK)
    assert review.run_locked().state == "ok"

    # Reads under an emergency claim 50 minutes apart are one flag (across runs), 70 are two.
    outside = []
    for minutes in (30, 80, 150):
        with time_machine.travel(T0 + timedelta(minutes=minutes), tick=False):
            outside.append(record("content.read", actor=worker, outcome="allowed", subjects=["family:1"],
                                  categories=["zorgen"], purpose="signalering", summary="content disclosed",
                                  meta={"reason": "covenant_rule", "context": "noodtoegang"}).seq)
        db.session.commit()
        review.run_locked()
    assert [f.seqs for f in flags("buiten_context")] == [outside[:2], outside[2:]]


# --- screens -------------------------------------------------------------------------------------

@pytest.fixture
def officer(app):
    user = make_user("privacy", totp=True, name="Petra Privacy")
    client = app.test_client()
    logged_in(client, user)
    return client, user


@pytest.fixture
def emergency(app):
    """A GGZ worker claims emergency access to a child's file and reads a note carrying a
    marker; a CJG worker hits the look-up limit. Returns the worker."""
    cjg, ggz = make_org("CJG Oost", "cjg"), make_org("GGZ Oost", "ggz")
    make_covenant(cjg, ggz, rules=[allow(cjg), allow(ggz)])
    author, reader = make_user(org=cjg), make_user(org=ggz, name="Gerrit GGZ")
    child = ops.register_person(ops.PersonData("Noortje", "Markers", date(2014, 5, 6)), SYSTEM, date.today(),
                                confirmed_new=True)
    ops.add_note(child, author, "zorgen", f"Notitie {MARKER}", actor_of(author), date.today())
    ops.claim_purpose(child, "signalering", "Acute zorg gemeld door de huisarts, vandaag.", actor_of(reader), utcnow())
    assert MARKER in content_for(actor_of(reader), [child], "signalering", "noodtoegang")[child.id].notes[0].text
    record("person.lookup_throttled", actor=actor_of(author), outcome="denied", summary="too many person look-ups",
           meta={"flag": "review", "attempts_last_hour": 30})
    db.session.commit()
    return reader


def test_the_queue_computes_on_the_fly_and_shows_metadata_never_content(officer, emergency):
    client, _ = officer
    page = html(client.get(URL))  # computed on the fly: the job has not run
    for label in ("Noodtoegang", "Inzage buiten overleg of plan", "Opzoeken zonder betrokkenheid", "Gerrit GGZ"):
        assert label in page
    assert MARKER not in page and "Noortje" not in page and "Markers" not in page
    assert "<strong>3</strong> open signalen" in html(client.get("/privacy/"))
    for flag in flags():
        detail = html(client.get(f"{URL}/{flag.id}"))
        assert MARKER not in detail and "Noortje" not in detail and "Acute zorg" not in detail  # nor the reason
        assert "/privacy/audit?" in detail and "Besluit vastleggen" in detail
    outside = flags("buiten_context")[0]
    detail = html(client.get(f"{URL}/{outside.id}"))
    assert "inhoud ingezien" in detail and "Signalering" in detail
    viewed = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.viewed")).all()
    assert len(viewed) == 4 and all(MARKER not in str(e.meta) for e in viewed)

    assert html(client.get(URL, query_string={"soort": "noodtoegang"})).count("noodtoegang gevraagd") == 1
    for args, message in (({"soort": "verdacht"}, "Deze soort signaal bestaat niet."),
                          ({"van": "2026-11-05", "tot": "2026-11-01"}, "de einddatum ligt vóór de begindatum"),
                          ({"van": "31-02-2026"}, "geen geldige datum"), ({"status": "dicht"}, "Kies als status")):
        response = client.get(URL, query_string=args)
        assert response.status_code == 422 and message in html(response)


def decide(client, flag_id: int, **data: str):
    token = csrf_token(client, f"{URL}/{flag_id}") if flag_id in {f.id for f in flags()} else csrf_token(client, URL)
    return client.post(f"{URL}/{flag_id}/besluit", data={"csrf_token": token, **data})


def decisions_written() -> tuple[int, int]:
    rows = db.session.scalar(select(func.count()).select_from(ReviewDecision))
    audited = db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action.in_(("review.decided", "review.revised"))))
    return rows, audited


def test_decisions_need_a_known_value_and_a_note_and_a_revision_keeps_the_history(officer, emergency):
    client, petra = officer
    client.get(URL)
    flag = flags("noodtoegang")[0]
    for data, status, message in (
            ({"besluit": "in_orde", "toelichting": "   ", "versie": "0"}, 422, "Schrijf een toelichting"),
            ({"besluit": "goedgekeurd", "toelichting": "Prima", "versie": "0"}, 422, "Kies een besluit"),
            ({"toelichting": "Prima", "versie": "0"}, 422, "Kies een besluit"),
            ({"besluit": "in_orde", "toelichting": "x" * 2001, "versie": "0"}, 422, "hoogstens 2000 tekens"),
            ({"besluit": "in_orde", "toelichting": "Prima"}, 422, "Het formulier is onvolledig")):
        response = decide(client, flag.id, **data)
        assert response.status_code == status and message in html(response)
    assert decisions_written() == (0, 0) and flags("noodtoegang")[0].decision is None

    missing = decide(client, 987654, besluit="in_orde", toelichting="Prima", versie="0")
    assert missing.status_code == 404 and "Dit signaal bestaat niet." in html(missing)
    assert client.get(f"{URL}/987654").status_code == 404

    assert [c.reviewed for c in db.session.scalars(select(PurposeClaim))] == [False]
    response = decide(client, flag.id, besluit="navragen", toelichting="Reden navragen bij de GGZ.", versie="0")
    assert response.status_code == 302 and path_of(response) == f"{URL}/{flag.id}"
    db.session.expire_all()
    assert [c.reviewed for c in db.session.scalars(select(PurposeClaim))] == [True]  # the claim itself is marked
    stale = decide(client, flag.id, besluit="in_orde", toelichting="Dubbel verstuurd", versie="0")
    assert stale.status_code == 409 and "intussen (opnieuw) beoordeeld" in html(stale)
    assert decisions_written() == (1, 1)
    response = decide(client, flag.id, besluit="in_orde", toelichting="Huisarts bevestigt de melding.", versie="1")
    assert response.status_code == 302 and decisions_written() == (2, 2)
    flag = flags("noodtoegang")[0]
    assert (flag.decision, flag.revisions, flag.decided_by_user_id) == ("in_orde", 2, petra.id)
    page = html(client.get(f"{URL}/{flag.id}"))
    assert "Reden navragen bij de GGZ." in page and "Huisarts bevestigt de melding." in page  # history kept
    revised = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "review.revised")).one()
    assert revised.meta == {"kind": "noodtoegang", "decision": "in_orde", "previous": "navragen", "revision": 2}
    assert "Huisarts" not in str(revised.meta) + revised.summary  # the note stays out of the log
    assert "<strong>2</strong> open signalen" in html(client.get("/privacy/"))

    lookup = Event(1, T0, petra.id, None, "person.lookup_throttled", "denied")
    own = Candidate("opzoeken", petra.id, (lookup,), 1)
    assert review.store(own, utcnow()) == "created"
    db.session.commit()
    mine = flags()[-1]
    response = decide(client, mine.id, besluit="in_orde", toelichting="Zelf gedaan", versie="0")
    assert response.status_code == 403 and "niet zelf beoordelen" in html(response) and decisions_written() == (2, 2)


def test_only_privacy_officers_see_or_decide(app, emergency):
    review.run_locked()
    flag = flags()[0]
    for role in ("beheerder", "deelnemer", "voorzitter"):
        client = app.test_client()
        logged_in(client, make_user(role, totp=True))
        assert client.get(URL).status_code == 403
        assert client.get(f"{URL}/{flag.id}").status_code == 403
        token = csrf_token(client, "/account/")
        response = client.post(f"{URL}/{flag.id}/besluit", data={"csrf_token": token, "besluit": "in_orde",
                                                               "toelichting": "Prima", "versie": "0"})
        assert response.status_code == 403 and decisions_written() == (0, 0), role
    anonymous = app.test_client().get(URL)
    assert anonymous.status_code == 302 and path_of(anonymous) == "/inloggen"
