"""Two processes append to the audit chain at once: the chain stays whole.

PostgreSQL serialises the appends with an advisory lock, SQLite with BEGIN IMMEDIATE."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from netwerk.db import db
from privacy.audit import verify_chain
from privacy.models import AuditEntry

REPO = Path(__file__).resolve().parents[2]
WRITER = textwrap.dedent("""
    import sys
    import time
    from netwerk import create_app
    from netwerk.db import db
    from privacy.audit import Actor, record

    app = create_app({"EMBEDDED_WORKER_AUTOSTART": False, "AUDIT_CHECKPOINT_EVERY": 0})
    name, count = sys.argv[1], int(sys.argv[2])
    with app.app_context():
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        sys.stdin.readline()  # start together
        for i in range(count):
            record("test.concurrent", actor=Actor.system(name), summary="concurrent append", meta={"i": i})
            db.session.commit()
            time.sleep(0.002)  # a request's think time, so the other writer gets a turn
    print("done")
""")


@pytest.mark.timeout(120)
def test_two_processes_keep_one_chain(app):
    env = dict(os.environ, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               NETWERK_INSTANCE_PATH=app.instance_path, NETWERK_KEY_FILE=str(app.config["KEY_FILE"]),
               SECRET_KEY="x" * 40, PYTHONPATH=str(REPO))
    env.pop("REDIS_URL", None)
    per_writer = 150
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, f"writer{n}", str(per_writer)], cwd=REPO, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in (1, 2)]
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            out, err = p.communicate(timeout=90)
            assert p.returncode == 0, err
            assert "done" in out
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 2 * per_writer
    seqs = db.session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)).all()
    assert seqs == list(range(1, 2 * per_writer + 1))
    writers = db.session.scalars(select(AuditEntry.access_point).order_by(AuditEntry.seq)).all()
    switches = sum(1 for a, b in itertools.pairwise(writers) if a != b)
    assert switches > 1, "the writers did not interleave, so the test proved nothing"
    result = verify_chain()
    assert result.ok, result.problem
