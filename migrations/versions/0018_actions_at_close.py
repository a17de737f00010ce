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
    sa.Column('agenda_item_id', sa.Uuid(), nullable=False),
    sa.Column('action_id', sa.Uuid(), nullable=False),
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=300), nullable=False),
    sa.Column('new', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['plan_action.id'], name=op.f('fk_meeting_action_at_close_action_id_plan_action'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], name=op.f('fk_meeting_action_at_close_agenda_item_id_agenda_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_action_at_close_meeting_id_meeting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('agenda_item_id', 'action_id', name=op.f('pk_meeting_action_at_close'))
    )
    with op.batch_alter_table('meeting_action_at_close', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_action_at_close_action_id'), ['action_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_action_at_close_meeting_id'), ['meeting_id'], unique=False)
    # Meetings closed before this keep reading their actions as they are now (not kept).
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actions_kept', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_column('actions_kept')
    with op.batch_alter_table('meeting_action_at_close', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_action_at_close_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_action_at_close_action_id'))
    op.drop_table('meeting_action_at_close')
