"""plan lifecycle: evaluations, closing reason, goals dropped

Revision ID: 0010_plan_lifecycle
Revises: 0009_personal_tokens
Create Date: 2026-11-23 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0010_plan_lifecycle"
down_revision = "0009_personal_tokens"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "plan_evaluation",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("next_evaluation", sa.Date(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("author_user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("next_evaluation > held_on", name=op.f("ck_plan_evaluation_next_after_held")),
        sa.ForeignKeyConstraint(["author_user_id"], ["user_account.id"],
                                name=op.f("fk_plan_evaluation_author_user_id_user_account")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"],
                                name=op.f("fk_plan_evaluation_organisation_id_organisation")),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_plan_evaluation_plan_id_plan")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_evaluation")),
    )
    with op.batch_alter_table("plan_evaluation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_evaluation_plan_id"), ["plan_id"], unique=False)
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(sa.Column("close_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("plan_goal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dropped_on", sa.Date(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_plan_goal_one_outcome"), "achieved_on IS NULL OR dropped_on IS NULL")


def downgrade():
    with op.batch_alter_table("plan_goal", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_plan_goal_one_outcome"), type_="check")
        batch_op.drop_column("dropped_on")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("close_reason")
    with op.batch_alter_table("plan_evaluation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_evaluation_plan_id"))
    op.drop_table("plan_evaluation")
