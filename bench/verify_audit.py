"""How long ``privacy.audit.verify_chain()`` takes on a large audit log.

The log is filled with K entries quickly: the chain is computed here with
``privacy.audit.entry_digest`` (exactly what ``record()`` hashes) and the rows are
bulk-inserted, 1,000 per statement, one transaction per 5,000. Like production
(AUDIT_CHECKPOINT_EVERY=1000) a signed checkpoint is made after every 1,000 entries via
``create_checkpoint()``. Then a few entries are appended through the real ``record()``
(so the bulk rows demonstrably chain with what the app writes) and a final checkpoint
signs the head. ``verify_chain()`` is timed R times (fresh session each time) and must
report ok, every entry and every checkpoint.

    .venv/bin/python bench/verify_audit.py [-k 100000] [--repeat 3] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import random
import uuid
from datetime import timedelta
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask

from netwerk.db import db, utcnow
from privacy.audit import (
    GENESIS_HASH,
    Actor,
    audit_head,
    blind,
    count_entries,
    create_checkpoint,
    entry_digest,
    record,
    verify_chain,
)
from privacy.models import AuditCheckpoint, AuditEntry

INSERT_ROWS = 1000
COMMIT_ROWS = 5000
TAIL_VIA_RECORD = 10


class EntryMaker:
    """Plausible entries: logins, case views, failed logins and system jobs, with blinded
    subjects from a pool of users and clients."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.users = [(uuid.UUID(int=self.rng.getrandbits(128)), blind("user", i)) for i in range(200)]
        self.orgs = [uuid.UUID(int=self.rng.getrandbits(128)) for _ in range(20)]
        self.clients = [blind("client", i) for i in range(1000)]
        self.start = utcnow() - timedelta(days=365)

    def values(self, seq: int, prev_hash: str) -> dict[str, Any]:
        rng = self.rng
        user_id, user_subject = rng.choice(self.users)
        kind = rng.random()
        base: dict[str, Any] = {
            "seq": seq,
            "occurred_at": self.start + timedelta(seconds=seq * 7, microseconds=rng.randrange(10**6)),
            "actor_user_id": user_id, "actor_org_id": rng.choice(self.orgs), "actor_role": "regisseur",
            "on_behalf_of_user_id": None, "access_point": "web", "ip": f"192.0.2.{rng.randrange(1, 255)}",
            "outcome": "success", "object_type": None, "object_id": None, "data_categories": [],
            "purpose": None, "covenant_version": None, "covenant_article": None, "legal_basis": None,
            "prev_hash": prev_hash,
        }
        if kind < 0.6:
            base.update(action="case.view", summary="case viewed", object_type="case",
                        object_id=str(uuid.UUID(int=rng.getrandbits(128))),
                        subject_ids=sorted(rng.sample(self.clients, 2)),
                        data_categories=["contact", "zorg"], purpose="coordination",
                        covenant_version="2024.1", covenant_article="7", legal_basis="convenant",
                        meta={"fields": rng.randrange(1, 12)})
        elif kind < 0.85:
            base.update(action="auth.login", summary="login succeeded", subject_ids=[user_subject],
                        meta={"two_factor": rng.random() < 0.3})
        elif kind < 0.95:
            base.update(action="auth.login", outcome="failure", summary="login failed",
                        subject_ids=[user_subject], meta={"reason": "bad_password", "failures": 1})
        else:
            base.update(actor_user_id=None, actor_org_id=None, actor_role=None, access_point="jobs",
                        ip=None, action="retention.purge", summary="retention purge ran",
                        subject_ids=[], meta={"purged": rng.randrange(0, 50)})
        return base


def fill(app: Flask, k: int, checkpoint_every: int) -> tuple[float, int]:
    """Bulk-insert a valid chain of ``k`` entries; returns (seconds, checkpoints made)."""
    table = AuditEntry.__table__
    checkpoints = 0
    with app.app_context():
        start = bench.now()
        maker = EntryMaker()
        seq, prev_hash = audit_head()
        assert (seq, prev_hash) == (0, GENESIS_HASH), "the audit log is not empty"
        for batch_start in range(1, k + 1, INSERT_ROWS):
            rows = []
            for seq in range(batch_start, min(batch_start + INSERT_ROWS, k + 1)):
                values = maker.values(seq, prev_hash)
                prev_hash = values["entry_hash"] = entry_digest(values)
                rows.append(values)
            db.session.execute(table.insert(), rows)
            last = rows[-1]["seq"]
            if checkpoint_every and last % checkpoint_every == 0:
                create_checkpoint()
                checkpoints += 1
            if last % COMMIT_ROWS == 0 or last == k:
                db.session.commit()
        actor = Actor(user_id=uuid.uuid4(), org_id=uuid.uuid4(), role="regisseur", access_point="web",
                      ip="192.0.2.1")
        for i in range(TAIL_VIA_RECORD):
            record("case.view", actor=actor, summary="case viewed", subjects=[blind("client", i)],
                   object_type="case", object_id=uuid.uuid4(), categories=["contact"], meta={"n": i})
        create_checkpoint()
        checkpoints += 1
        db.session.commit()
        seconds = bench.now() - start
        stored = count_entries()
        db.session.remove()
    assert stored == k + TAIL_VIA_RECORD, f"{stored} entries stored, expected {k + TAIL_VIA_RECORD}"
    return seconds, checkpoints


def timed_verify(app: Flask, expected_entries: int, expected_checkpoints: int) -> tuple[float, Any]:
    with app.app_context():
        db.session.remove()
        seconds, result = bench.time_call(verify_chain)
        db.session.remove()
    assert result.ok, f"verify_chain failed: {result}"
    assert result.entries == expected_entries, result
    assert result.checkpoints == expected_checkpoints, result
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-k", type=int, default=100_000, help="bulk entries (default %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed verify runs (default %(default)s)")
    parser.add_argument("--checkpoint-every", type=int, default=1000,
                        help="a checkpoint per this many bulk entries, 0 for none (default %(default)s)")
    bench.backends_arg(parser)
    args = parser.parse_args()
    if args.checkpoint_every and args.checkpoint_every % INSERT_ROWS:
        parser.error(f"--checkpoint-every must be a multiple of {INSERT_ROWS}")

    rows = []
    with bench.workspace("verify") as dbs:
        for backend in bench.parse_backends(args.backends):
            database = dbs.new(backend)
            app = bench.migrated_app(database.instance, database.url)
            try:
                fill_seconds, checkpoints = fill(app, args.k, args.checkpoint_every)
                entries = args.k + TAIL_VIA_RECORD
                with app.app_context():
                    assert db.session.scalar(db.select(db.func.count()).select_from(AuditCheckpoint)) \
                        == checkpoints
                    db.session.remove()
                runs = []
                for _ in range(args.repeat):
                    seconds, result = timed_verify(app, entries, checkpoints)
                    runs.append(seconds)
                print(f"verify_chain() on {backend}: {result}")
            finally:
                bench.dispose(app)
            s = bench.Summary.of(runs)
            rows.append([backend, f"{entries:,}", checkpoints, f"{fill_seconds:.1f}",
                         f"{s.median:.2f}", f"{s.minimum:.2f}", f"{s.maximum:.2f}",
                         bench.rate(entries, s.median), f"{s.median / entries * 100_000:.2f}"])
        bench.print_environment(dbs)
    bench.print_table(
        ["backend", "entries", "checkpoints", "fill s", "verify median s", "min s", "max s",
         "entries/s", "s per 100,000"],
        rows, title=f"verify_chain() over the whole log ({args.repeat} runs each; entries/s from the median)",
    )


if __name__ == "__main__":
    main()
