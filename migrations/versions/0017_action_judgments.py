"""judgments about an action's texts are kept on the action, made when it is written

The stagnation scan used to decrypt completion notes and action texts itself to decide
whether "gereed" was earned and whether a new action re-creates a failed one: a second
path to content besides the privacy gate. The plan operations now judge both from the
writer's own text and store a flag and a link; the scan reads only those. What earlier
scans judged is carried over.

Revision ID: 0017_action_judgments
Revises: 0016_escalation_scan
Create Date: 2026-11-23 10:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0017_action_judgments'
down_revision = '0016_escalation_scan'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('criterion_met', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('continues_action_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_plan_action_continues_action_id_plan_action'), 'plan_action',
                                    ['continues_action_id'], ['id'], ondelete='SET NULL')
    op.execute("UPDATE plan_action SET criterion_met = (SELECT s.criterion_met FROM escalation_scan_action s "
               "WHERE s.action_id = plan_action.id)")
    # A line the scan joined keeps its root: the re-created action continues the line's first action.
    op.execute("UPDATE plan_action SET continues_action_id = (SELECT s.line_root_id FROM escalation_scan_action s "
               "WHERE s.action_id = plan_action.id AND s.line_root_id <> s.action_id)")
    with op.batch_alter_table('escalation_scan_action', schema=None) as batch_op:
        batch_op.drop_column('criterion_met')


def downgrade():
    with op.batch_alter_table('escalation_scan_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('criterion_met', sa.Boolean(), nullable=True))
    op.execute("UPDATE escalation_scan_action SET criterion_met = (SELECT a.criterion_met FROM plan_action a "
               "WHERE a.id = escalation_scan_action.action_id)")
    with op.batch_alter_table('plan_action', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plan_action_continues_action_id_plan_action'), type_='foreignkey')
        batch_op.drop_column('continues_action_id')
        batch_op.drop_column('criterion_met')
