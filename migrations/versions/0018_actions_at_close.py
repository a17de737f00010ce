"""the besluitenlijst keeps the actions as they stood when the meeting closed

Revision ID: 0018_actions_at_close
Revises: 0017_action_judgments
Create Date: 2026-11-23 12:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0018_actions_at_close'
down_revision = '0017_action_judgments'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('meeting_action_at_close',
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('action_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('new', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['plan_action.id'], name=op.f('fk_meeting_action_at_close_action_id_plan_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_action_at_close_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('meeting_id', 'action_id', name=op.f('pk_meeting_action_at_close'))
    )
    with op.batch_alter_table('meeting_action_at_close', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_action_at_close_action_id'), ['action_id'], unique=False)


def downgrade():
    with op.batch_alter_table('meeting_action_at_close', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_action_at_close_action_id'))
    op.drop_table('meeting_action_at_close')
