"""stagnation state kept by the escalation scan

Revision ID: 0016_escalation_scan
Revises: 0015_retention
Create Date: 2026-11-23 07:25:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# revision identifiers, used by Alembic.
revision = '0016_escalation_scan'
down_revision = '0015_retention'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('escalation_scan_action',
    sa.Column('action_id', sa.Uuid(), nullable=False),
    sa.Column('first_due', sa.Date(), nullable=False),
    sa.Column('line_root_id', sa.Uuid(), nullable=False),
    sa.Column('criterion_met', sa.Boolean(), nullable=True),
    sa.Column('seen_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['plan_action.id'], name=op.f('fk_escalation_scan_action_action_id_plan_action'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_escalation_scan_action'))
    )
    with op.batch_alter_table('escalation_scan_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_scan_action_line_root_id'), ['line_root_id'], unique=False)

    op.create_table('escalation_scan_lock',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=40), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_escalation_scan_lock'))
    )


def downgrade():
    op.drop_table('escalation_scan_lock')
    with op.batch_alter_table('escalation_scan_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_scan_action_line_root_id'))

    op.drop_table('escalation_scan_action')
