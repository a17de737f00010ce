"""Integrity on the privacy dashboard (issue 7 item 5): the daily full verification of the audit
chain, recorded as an audit entry of its own, alerting the privacy officers (only them, only a
link, once a day) when the chain was tampered with; and the dashboard that shows the state."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select, text

from netwerk import jobqueue
from netwerk.db import db, utcnow
from netwerk.mail import TEMPLATES
from netwerk.models import Notification, OutboxMail
from privacy import integrity
from privacy.audit import create_checkpoint, record
from privacy.jobs import verify_audit_chain
from privacy.models import AuditEntry
from tests.conftest import csrf_token
from tests.factories import SYSTEM, make_user
from tests.helpers import html, logged_in, path_of
from tests.privacy.test_audit import _tamper

DASHBOARD = "/privacy/"


def _fill(n: int) -> None:
    for i in range(n):
        record("test.event", actor=SYSTEM, summary="test event", meta={"i": i})
    db.session.commit()


def verifications() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == integrity.VERIFIED).order_by(AuditEntry.seq)))


def alerts() -> tuple[list[OutboxMail], list[Notification]]:
    db.session.expire_all()
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.kind == integrity.ALERT_KIND)
                               .order_by(OutboxMail.recipient)).all()
    notices = db.session.scalars(select(Notification).where(Notification.kind == integrity.ALERT_KIND)).all()
    return list(mails), list(notices)


@pytest.fixture
def people(app):
    """Two active privacy officers, one deactivated, and users of other roles."""
    officers = [make_user("privacy", totp=True, name=f"Officer {n}") for n in (1, 2)]
    gone = make_user("privacy", totp=True, name="Vertrokken Officer")
    gone.active = False
    others = [make_user("beheerder", totp=True), make_user("deelnemer"), make_user("voorzitter", totp=True)]
    db.session.commit()
    return officers, gone, others


def queued_runs() -> int:
    """Verification jobs waiting in the queue (creating users queues their mails too)."""
    return sum(1 for job in jobqueue.get_queue().get_jobs() if job.args and job.args[0] == integrity.JOB)


def officer_client(app, officer):
    client = app.test_client()
    logged_in(client, officer)
    return client


# --- the job ---------------------------------------------------------------------------------

def test_a_sound_chain_is_recorded_as_verified_and_alerts_nobody(app, people):
    _fill(5)
    head = db.session.scalar(select(func.max(AuditEntry.seq)))
    assert verify_audit_chain() == "ok"
    [entry] = verifications()
    assert (entry.outcome, entry.summary, entry.object_type) == ("success", "audit chain verified", "audit_chain")
    assert entry.seq == head + 1  # the record of verification is itself part of the chain
    assert entry.meta["entries"] == entry.meta["last_seq"] == head
    assert entry.meta["first_bad_seq"] is None and entry.meta["duration_ms"] >= 0
    assert alerts() == ([], [])
    # the next run checks the previous run's own entry too
    assert verify_audit_chain() == "ok"
    assert verifications()[-1].meta["entries"] == head + 1


def test_a_tampered_entry_fails_and_alerts_every_active_officer_once_a_day(app, people):
    officers, gone, others = people
    _fill(5)
    _tamper("UPDATE audit_entry SET summary = 'nothing to see' WHERE seq = 3")
    assert verify_audit_chain() == "failed"
    [entry] = verifications()
    assert entry.outcome == "failure" and entry.meta["first_bad_seq"] == 3
    assert entry.meta["entries"] == 2  # the walk stopped at the changed entry

    mails, notices = alerts()
    assert sorted(m.recipient for m in mails) == sorted(o.email for o in officers)
    assert sorted(n.user_id for n in notices) == sorted(o.id for o in officers)
    assert {n.link for n in notices} == {DASHBOARD}
    subject, body = TEMPLATES[integrity.ALERT_KIND]
    for mail in mails:
        officer = next(o for o in officers if o.email == mail.recipient)
        # exactly the fixed text: a name and a link, no entry number, no problem, no content
        assert mail.subject == subject
        assert mail.body == body.format(name=officer.name, link="http://netwerk.test/privacy/")
        assert "nothing to see" not in mail.body
    assert gone.email not in {m.recipient for m in mails}
    assert not {m.recipient for m in mails} & {u.email for u in others}

    # a second run the same day records its result but alerts nobody again
    assert verify_audit_chain() == "failed"
    assert len(verifications()) == 2
    assert tuple(map(len, alerts())) == (2, 2)

    # the next day the still-broken chain alerts again
    with time_machine.travel(utcnow() + timedelta(days=1)):
        assert verify_audit_chain() == "failed"
    assert tuple(map(len, alerts())) == (4, 4)


def test_the_dashboard_shows_the_failure_as_a_banner(app, people):
    officers, _, _ = people
    _fill(5)
    _tamper("UPDATE audit_entry SET summary = 'nothing to see' WHERE seq = 4")
    verify_audit_chain()
    page = html(officer_client(app, officers[0]).get(DASHBOARD))
    assert 'id="integriteit-waarschuwing"' in page
    assert "niet in orde" in page and "eerste afwijkende regel: 4" in page
    assert "nothing to see" not in page


def test_an_empty_log_has_nothing_to_verify_but_an_emptied_one_fails(app):
    assert verify_audit_chain() == "empty"
    assert verifications() == []
    _fill(3)
    create_checkpoint()
    db.session.commit()
    _tamper("DELETE FROM audit_entry")
    _tamper("DELETE FROM audit_checkpoint")  # the checkpoint file outside the database remains
    assert verify_audit_chain() == "failed"
    [entry] = verifications()
    assert entry.meta["first_bad_seq"] == 1


def test_a_run_while_another_holds_the_lock_does_nothing(app):
    _fill(2)
    jobqueue.connection().set(integrity.RUN_LOCK, "other", ex=60)
    assert verify_audit_chain() == "busy"
    assert verifications() == []
    jobqueue.connection().delete(integrity.RUN_LOCK)
    assert verify_audit_chain() == "ok"
    assert jobqueue.connection().get(integrity.RUN_LOCK) is None  # released after the run


def test_the_job_runs_daily_through_the_queue(app):
    assert (integrity.JOB, timedelta(days=1)) in jobqueue.PERIODIC
    _fill(2)
    now = 1_900_000_000.0
    assert integrity.JOB in jobqueue.enqueue_periodic(now)
    assert integrity.JOB not in jobqueue.enqueue_periodic(now + 60)
    jobqueue.drain(app)
    assert [e.outcome for e in verifications()] == ["success"]


# --- the dashboard ---------------------------------------------------------------------------

def test_a_fresh_successful_verification_shows_no_banner(app, people):
    officers, _, _ = people
    _fill(3)
    verify_audit_chain()
    client = officer_client(app, officers[0])
    page = html(client.get(DASHBOARD))
    assert "in orde" in page and 'id="integriteit-waarschuwing"' not in page
    head = db.session.scalar(select(func.max(AuditEntry.seq)))
    assert f"<dd>{head}</dd>" in page  # the chain's head (logging in added entries after the run)


def test_never_verified_and_stale_verifications_are_warned_about(app, people):
    officers, _, _ = people
    client = officer_client(app, officers[0])
    assert "nog nooit volledig gecontroleerd" in html(client.get(DASHBOARD))
    verify_audit_chain()
    # log in again at each moment: the session itself would have expired by then
    with time_machine.travel(utcnow() + timedelta(hours=35)):
        page = html(officer_client(app, officers[0]).get(DASHBOARD))
        assert "Laatste volledige controle" in page and 'id="integriteit-waarschuwing"' not in page
    with time_machine.travel(utcnow() + timedelta(hours=37)):
        assert "ouder dan 36 uur" in html(officer_client(app, officers[0]).get(DASHBOARD))


def test_the_last_checkpoint_and_the_key_fingerprint_are_shown(app, people):
    officers, _, _ = people
    _fill(3)
    cp = create_checkpoint()
    db.session.commit()
    client = officer_client(app, officers[0])
    page = html(client.get(DASHBOARD))
    assert f"regel {cp.seq}," in page and "handtekening <strong>geldig</strong>" in page
    keys = app.extensions["netwerk.master_keys"]
    digest = hashlib.sha256(keys.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest().upper()
    grouped = " ".join(digest[i:i + 4] for i in range(0, 64, 4))
    assert grouped in page and keys.signing_fingerprint in page
    assert keys.signing_fingerprint.removeprefix("ed25519:").upper() == digest[:32]
    # a checkpoint whose signature was rewritten in the database is shown as invalid
    db.session.execute(text("UPDATE audit_checkpoint SET signature = :s"), {"s": "00" * 64})
    db.session.commit()
    assert "ongeldig of van een onbekende sleutel" in html(client.get(DASHBOARD))


def test_verify_now_queues_one_run_and_refuses_spamming(app, people):
    officers, _, _ = people
    client = officer_client(app, officers[0])
    token = csrf_token(client, DASHBOARD)
    response = client.post("/privacy/controleren", data={"csrf_token": token})
    assert response.status_code == 302 and path_of(response) == DASHBOARD
    assert queued_runs() == 1
    again = client.post("/privacy/controleren", data={"csrf_token": token}, follow_redirects=True)
    assert "al een controle gestart" in html(again)
    assert queued_runs() == 1  # not queued twice
    jobqueue.drain(app)
    assert queued_runs() == 0
    [entry] = verifications()
    assert entry.outcome == "success" and entry.on_behalf_of_user_id == officers[0].id
    assert "in orde" in html(client.get(DASHBOARD))


def test_verify_now_needs_the_csrf_token(app, people):
    officers, _, _ = people
    client = officer_client(app, officers[0])
    assert client.post("/privacy/controleren").status_code == 400
    assert queued_runs() == 0


@pytest.mark.parametrize("role", ["beheerder", "deelnemer", "voorzitter"])
def test_other_roles_may_not_see_or_start_it(app, role):
    user = make_user(role, totp=role in app.config["TWO_FACTOR_ROLES"])
    client = app.test_client()
    logged_in(client, user)
    token = csrf_token(client, "/account/")
    assert client.get(DASHBOARD).status_code == 403
    assert client.post("/privacy/controleren", data={"csrf_token": token}).status_code == 403
    assert queued_runs() == 0


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and path_of(response) == "/inloggen"
