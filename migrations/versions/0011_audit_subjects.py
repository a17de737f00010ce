"""audit subject index: (subject, seq) rows for the audit explorer, backfilled

Revision ID: 0011_audit_subjects
Revises: 0010_plan_lifecycle
Create Date: 2026-11-23 05:00:00

The index is derived from ``audit_entry.subject_ids`` and is not part of the hashed
content, so existing entries and their chain are left exactly as they are. The foreign
key cascades: the index follows whatever happens to an entry (the application never
updates or deletes entries; a database administrator who does is caught by the chain).
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0011_audit_subjects"
down_revision = "0010_plan_lifecycle"
branch_labels = None
depends_on = None

BATCH = 5000
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ENTRIES = sa.table("audit_entry", sa.column("seq", sa.BigInteger()), sa.column("subject_ids", JSON_DOC))
SUBJECTS = sa.table("audit_subject", sa.column("subject", sa.String(64)), sa.column("seq", sa.BigInteger()))

def backfill(conn, batch: int = BATCH) -> int:
    """Index every existing entry, ``batch`` entries per statement pair (keyset by seq, so
    memory stays flat on millions of entries). Returns the number of index rows written."""
    written, last = 0, 0
    while True:
        chunk = conn.execute(sa.select(ENTRIES.c.seq, ENTRIES.c.subject_ids).where(ENTRIES.c.seq > last)
                             .order_by(ENTRIES.c.seq).limit(batch)).all()
        if not chunk:
            return written
        # set(): a caller may have named a subject twice; the index holds it once.
        rows = [{"subject": subject, "seq": seq} for seq, subjects in chunk for subject in set(subjects or ())]
        if rows:
            conn.execute(SUBJECTS.insert(), rows)
        written += len(rows)
        last = chunk[-1][0]


def upgrade():
    op.create_table(
        "audit_subject",
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["seq"], ["audit_entry.seq"], name=op.f("fk_audit_subject_seq_audit_entry"),
                                ondelete="CASCADE", onupdate="CASCADE"),
        sa.PrimaryKeyConstraint("subject", "seq", name=op.f("pk_audit_subject")),
    )
    backfill(op.get_bind())


def downgrade():
    op.drop_table("audit_subject")
