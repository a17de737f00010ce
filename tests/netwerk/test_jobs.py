"""The job queue runs a real job (the audit checkpoint, and mail delivery) embedded in the
app process and through real Redis with an rq worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from netwerk import jobqueue
from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import OutboxMail
from privacy.audit import Actor, record
from privacy.models import AuditCheckpoint
from tests.conftest import make_app
from tests.factories import SYSTEM, make_org

REPO = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        # End the transaction before sleeping: on SQLite it holds the write lock the
        # worker thread needs (every transaction is BEGIN IMMEDIATE).
        db.session.rollback()
        if found:
            return True
        time.sleep(0.05)
    return False


def _append(n: int) -> None:
    for i in range(n):
        record("test.event", actor=Actor.system("tests"), summary="test event", meta={"i": i})
    db.session.commit()


def test_embedded_worker_runs_the_checkpoint_job(app, monkeypatch):
    # The scheduler would queue the daily jobs at start; the daily audit verification writes
    # an entry of its own, which would move the checkpoint this test counts on.
    monkeypatch.setattr(jobqueue, "PERIODIC", [])
    app.config["AUDIT_CHECKPOINT_EVERY"] = 5
    runtime = jobqueue.start_embedded(app)
    try:
        _append(5)
        assert _wait_for(lambda: db.session.scalar(select(AuditCheckpoint.seq)) == 5)
    finally:
        runtime.stop()
        app.extensions.pop("netwerk.embedded_runtime", None)
        app.config["AUDIT_CHECKPOINT_EVERY"] = 0


def test_embedded_scheduler_runs_a_delayed_job(app, monkeypatch):
    from datetime import timedelta

    monkeypatch.setattr(jobqueue, "PERIODIC", [])
    _append(2)
    runtime = jobqueue.start_embedded(app)
    try:
        jobqueue.enqueue("privacy.jobs.audit_checkpoint", job_id="delayed-cp", delay=timedelta(seconds=1))
        assert _wait_for(lambda: db.session.scalar(select(AuditCheckpoint)) is not None)
    finally:
        runtime.stop()
        app.extensions.pop("netwerk.embedded_runtime", None)


def test_mail_is_queued_after_commit_and_kept_in_the_local_outbox(app):
    org = make_org()
    ops.create_user(ops.UserData(email="nieuw@example.test", name="Nieuwe Collega", organisation_id=org.id,
                                 roles={"deelnemer"}), SYSTEM)
    assert len(jobqueue.get_queue()) == 0  # nothing leaves before the commit
    db.session.commit()
    assert len(jobqueue.get_queue()) == 1
    assert jobqueue.drain(app) == 1
    mail = db.session.scalar(select(OutboxMail))
    assert mail.state == "kept_local"
    assert mail.body.count("http://netwerk.test/inloggen") == 1


def test_rolled_back_work_queues_nothing(app):
    org = make_org()
    ops.create_user(ops.UserData(email="weg@example.test", name="Weg Weg", organisation_id=org.id,
                                 roles={"deelnemer"}), SYSTEM)
    db.session.rollback()
    db.session.commit()
    assert len(jobqueue.get_queue()) == 0


def test_the_same_job_id_is_not_queued_twice(app):
    jobqueue.enqueue("privacy.jobs.audit_checkpoint", job_id="once")
    jobqueue.enqueue("privacy.jobs.audit_checkpoint", job_id="once")
    assert len(jobqueue.get_queue()) == 1


def test_only_project_jobs_can_run(app):
    with pytest.raises(ValueError, match="refusing"):
        jobqueue.run_job("os.system", "true")


@pytest.mark.redis
@pytest.mark.timeout(60)
def test_real_redis_and_rq_worker_process_run_the_checkpoint_job(app, redis_server):
    """Queue through real Redis from the app; a separate `flask jobs worker --burst`
    process (a real rq worker) picks it up and writes the checkpoint."""
    redis_app = make_app(Path(app.instance_path), app.config["SQLALCHEMY_DATABASE_URI"],
                         KEY_FILE=app.config["KEY_FILE"], REDIS_URL=redis_server.url)
    redis_app.extensions["netwerk.redis"].flushall()
    with redis_app.app_context():
        _append(3)
        job = jobqueue.enqueue("privacy.jobs.audit_checkpoint", job_id="cp-real")
        assert job.connection.connection_pool.connection_kwargs["port"] == redis_server.port
        db.session.remove()
    env = dict(os.environ, REDIS_URL=redis_server.url, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               NETWERK_INSTANCE_PATH=app.instance_path, NETWERK_KEY_FILE=str(app.config["KEY_FILE"]))
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "netwerk", "jobs", "worker", "--burst"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=45)
    assert done.returncode == 0, done.stderr[-2000:]
    db.session.rollback()
    assert db.session.scalar(select(AuditCheckpoint.seq)) == 3
    with redis_app.app_context():
        assert jobqueue.get_queue().fetch_job("cp-real").get_status() == "finished"
        # This second app shares the test database: close its connections, or SQLite's
        # next fresh copy of the file meets an open handle.
        db.session.remove()
        db.engine.dispose()
