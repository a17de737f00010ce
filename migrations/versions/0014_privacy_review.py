"""privacy review queue flags and decisions

Revision ID: 0014_privacy_review
Revises: 0013_escalation
Create Date: 2026-11-23 07:25:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# revision identifiers, used by Alembic.
revision = '0014_privacy_review'
down_revision = '0013_escalation'
branch_labels = None
depends_on = None


SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "review_flag",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_seq", SEQ, nullable=False),
        sa.Column("last_seq", SEQ, nullable=False),
        sa.Column("seqs", JSON_DOC, nullable=False),
        sa.Column("measure", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("revisions", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('noodtoegang', 'buiten_context', 'piek', 'opzoeken', 'weigeringen')",
                           name=op.f("ck_review_flag_kind")),
        sa.CheckConstraint("decision IS NULL OR decision IN ('in_orde', 'navragen', 'incident')",
                           name=op.f("ck_review_flag_decision")),
        sa.CheckConstraint("(decision IS NULL) = (decided_at IS NULL)", name=op.f("ck_review_flag_decided")),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_review_flag_period")),
        sa.CheckConstraint("last_seq >= first_seq", name=op.f("ck_review_flag_seq_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_flag")),
        sa.UniqueConstraint("key", name=op.f("uq_review_flag_key")),
    )
    with op.batch_alter_table("review_flag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_flag_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_flag_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_flag_decision"), ["decision"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_flag_last_seq"), ["last_seq"], unique=False)

    op.create_table(
        "review_decision",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("decided_by_user_id", sa.Uuid(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('in_orde', 'navragen', 'incident')", name=op.f("ck_review_decision_decision")),
        sa.CheckConstraint("note <> ''", name=op.f("ck_review_decision_note")),
        sa.ForeignKeyConstraint(["flag_id"], ["review_flag.id"], name=op.f("fk_review_decision_flag_id_review_flag"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decision")),
        sa.UniqueConstraint("flag_id", "revision", name=op.f("uq_review_decision_flag_id_revision")),
    )
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_decision_flag_id"), ["flag_id"], unique=False)

    op.create_table(
        "review_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_seq", SEQ, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_review_cursor")),
    )


def downgrade():
    op.drop_table("review_cursor")
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decision_flag_id"))
    op.drop_table("review_decision")
    with op.batch_alter_table("review_flag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_flag_last_seq"))
        batch_op.drop_index(batch_op.f("ix_review_flag_decision"))
        batch_op.drop_index(batch_op.f("ix_review_flag_user_id"))
        batch_op.drop_index(batch_op.f("ix_review_flag_kind"))
    op.drop_table("review_flag")
