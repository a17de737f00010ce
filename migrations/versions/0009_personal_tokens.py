"""personal API tokens: kind, name, scopes, last use

Revision ID: 0009_personal_tokens
Revises: 0008_plans
Create Date: 2026-11-23 04:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0009_personal_tokens"
down_revision = "0008_plans"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="sessie", nullable=False))
        batch_op.add_column(sa.Column("name", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("scopes", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(op.f("ck_api_token_kind"), "kind IN ('sessie', 'persoonlijk')")


def downgrade():
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_token_kind"), type_="check")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("scopes")
        batch_op.drop_column("name")
        batch_op.drop_column("kind")
