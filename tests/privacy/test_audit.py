"""The audit chain: appends in the caller's transaction, and verify-audit catches a changed,
deleted, inserted and reordered entry, a re-hashed chain and a truncated tail."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from netwerk.db import db
from privacy.audit import (
    GENESIS_HASH,
    Actor,
    blind,
    create_checkpoint,
    entry_digest,
    record,
    verify_chain,
)
from privacy.models import AuditCheckpoint, AuditEntry

ACTOR = Actor.system("tests")


def _fill(n: int) -> None:
    for i in range(n):
        record("test.event", actor=ACTOR, summary="test event", meta={"i": i},
               subjects=[blind("person", i)], categories=["betrokkenheid"])
    db.session.commit()


def _tamper(sql: str, **params: object) -> None:
    """Change the table as a database administrator would: around the append-only trigger."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only"))
        db.session.execute(text(sql), params)
        db.session.execute(text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only"))
    else:
        triggers = db.session.execute(text(
            "SELECT sql FROM sqlite_master WHERE type='trigger' AND tbl_name='audit_entry'")).scalars().all()
        db.session.execute(text("DROP TRIGGER audit_entry_no_update"))
        db.session.execute(text("DROP TRIGGER audit_entry_no_delete"))
        db.session.execute(text(sql), params)
        for ddl in triggers:
            db.session.execute(text(ddl))
    db.session.commit()
    db.session.expire_all()


def test_entries_chain_and_verify(app):
    _fill(10)
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [e.seq for e in entries] == list(range(1, 11))
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    result = verify_chain(batch=3)  # small batches cross page boundaries
    assert result.ok, result.problem
    assert result.entries == 10


def test_a_rolled_back_savepoint_does_not_break_the_chain(app):
    """A transaction remembers the head it wrote; entries of a savepoint that is rolled back
    are gone, so the next entry must link to the head before them."""
    record("test.event", actor=ACTOR, summary="kept")
    with pytest.raises(RuntimeError), db.session.begin_nested():
        record("test.event", actor=ACTOR, summary="rolled back with its savepoint")
        raise RuntimeError("refused")
    record("test.event", actor=ACTOR, summary="kept too")
    db.session.commit()
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [(e.seq, e.summary) for e in entries] == [(1, "kept"), (2, "kept too")]
    assert entries[1].prev_hash == entries[0].entry_hash
    assert verify_chain().ok


def test_audit_row_is_written_in_the_callers_transaction(app):
    record("test.event", actor=ACTOR, summary="rolled back")
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry)) is None


def test_database_refuses_update_and_delete(app):
    _fill(1)
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("UPDATE audit_entry SET summary = 'x'"))
        db.session.flush()
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("DELETE FROM audit_entry"))
        db.session.flush()
    db.session.rollback()


def test_detects_changed_entry(app):
    _fill(10)
    _tamper("UPDATE audit_entry SET summary = 'nothing to see' WHERE seq = 5")
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 5
    assert "changed" in result.problem


def test_detects_changed_meta(app):
    _fill(10)
    _tamper("UPDATE audit_entry SET outcome = 'allowed' WHERE seq = 7")
    assert verify_chain().first_bad_seq == 7


def test_detects_deleted_entry(app):
    _fill(10)
    _tamper("DELETE FROM audit_entry WHERE seq = 4")
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 4
    assert "missing" in result.problem


def test_detects_deleted_entry_with_renumbering(app):
    """A careful attacker deletes 4 and renumbers the rest to hide the gap."""
    _fill(10)
    _tamper("DELETE FROM audit_entry WHERE seq = 4")
    for seq in range(5, 11):
        _tamper("UPDATE audit_entry SET seq = :new WHERE seq = :old", new=seq - 1, old=seq)
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 4


def test_detects_inserted_entry(app):
    """An entry forged between 5 and 6, with a valid own hash and link to 5: the chain
    breaks at the entry that followed 5 before."""
    _fill(10)
    for seq in range(10, 5, -1):
        _tamper("UPDATE audit_entry SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    five = db.session.get(AuditEntry, 5)
    forged = {c.name: getattr(five, c.name) for c in AuditEntry.__table__.columns}
    forged.update(seq=6, summary="forged", prev_hash=five.entry_hash)
    forged["entry_hash"] = entry_digest(forged)
    db.session.execute(AuditEntry.__table__.insert().values(**forged))
    db.session.commit()
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 7


def test_detects_reordered_entries(app):
    _fill(10)
    _tamper("UPDATE audit_entry SET seq = 1000 WHERE seq = 3")
    _tamper("UPDATE audit_entry SET seq = 3 WHERE seq = 4")
    _tamper("UPDATE audit_entry SET seq = 4 WHERE seq = 1000")
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 3


def test_checkpoint_detects_rehashed_chain(app):
    """Someone with database access rewrites entry 3 and recomputes every hash after it:
    the chain is self-consistent again, but no longer matches the signed checkpoint."""
    _fill(6)
    create_checkpoint()
    db.session.commit()
    rows = [dict(r) for r in db.session.execute(
        select(AuditEntry.__table__).order_by(AuditEntry.seq)).mappings()]
    rows[2]["summary"] = "rewritten"
    prev = rows[1]["entry_hash"]
    for row in rows[2:]:
        row["prev_hash"] = prev
        row["entry_hash"] = prev = entry_digest(row)
    for row in rows[2:]:
        _tamper("UPDATE audit_entry SET summary = :s, prev_hash = :p, entry_hash = :h WHERE seq = :seq",
                s=row["summary"], p=row["prev_hash"], h=row["entry_hash"], seq=row["seq"])
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 6
    assert "checkpoint" in result.problem


def test_checkpoint_file_detects_truncation_and_deleted_checkpoints(app):
    """Removing the newest entries and the checkpoint rows that signed them is caught by
    the copy of the checkpoints outside the database."""
    _fill(8)
    create_checkpoint()
    db.session.commit()
    _tamper("DELETE FROM audit_entry WHERE seq > 5")
    db.session.execute(text("DELETE FROM audit_checkpoint"))
    db.session.commit()
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 6
    assert "missing" in result.problem


def test_forged_checkpoint_signature_is_refused(app):
    _fill(3)
    create_checkpoint()
    db.session.commit()
    cp = db.session.scalar(select(AuditCheckpoint))
    cp.signature = "00" * 64
    db.session.commit()
    result = verify_chain()
    assert not result.ok
    assert "signature" in result.problem


def test_checkpoint_is_idempotent_and_written_after_commit(app):
    _fill(3)
    first = create_checkpoint()
    path = Path(app.instance_path) / "audit-checkpoints.jsonl"
    assert not path.exists()  # nothing outside the database before the commit
    db.session.commit()
    again = create_checkpoint()
    db.session.commit()
    assert again.id == first.id
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["seq"] == 3


def test_blinded_subjects_identify_nobody(app):
    token = blind("person", "123456782")
    assert "123456782" not in token
    assert token == blind("person", "123456782")
    assert token != blind("person", "123456783")


def test_verify_audit_cli_names_first_bad_entry(app):
    _fill(5)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["privacy", "verify-audit"])
    assert ok.exit_code == 0, ok.output
    assert "in orde" in ok.output
    _tamper("UPDATE audit_entry SET summary = 'x' WHERE seq = 2")
    bad = runner.invoke(args=["privacy", "verify-audit"])
    assert bad.exit_code == 1
    assert "eerste foute regel 2" in bad.output
