"""escalation ladder, stagnation rules, escalations

Revision ID: 0013_escalation
Revises: 0012_meetings
Create Date: 2026-11-23 07:25:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# revision identifiers, used by Alembic.
revision = '0013_escalation'
down_revision = '0012_meetings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('escalation',
    sa.Column('overleg_id', sa.Uuid(), nullable=False),
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('rule_code', sa.String(length=32), nullable=True),
    sa.Column('stuck_organisation_id', sa.Uuid(), nullable=True),
    sa.Column('blocked_action_ids', JSON_DOC, nullable=False),
    sa.Column('reason_category', sa.String(length=24), nullable=True),
    sa.Column('ask', sa.Text(), nullable=True),
    sa.Column('explanation', sa.String(length=400), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('proposed_by_id', sa.Uuid(), nullable=True),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('raised_by_id', sa.Uuid(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Uuid(), nullable=True),
    sa.Column('decision_action_ids', JSON_DOC, nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Uuid(), nullable=True),
    sa.Column('top_overdue_since', sa.Date(), nullable=True),
    sa.Column('level_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("reason_category IS NULL OR reason_category IN ('capaciteit', 'mandaat', 'onenigheid', 'geen_instemming', 'wachtlijst', 'gezin_onbereikbaar', 'anders')", name=op.f('ck_escalation_reason_category')),
    sa.CheckConstraint("source IN ('regel', 'handmatig')", name=op.f('ck_escalation_source')),
    sa.CheckConstraint("status = 'voorgesteld' OR status = 'afgewezen' OR reason_category IS NOT NULL", name=op.f('ck_escalation_raised_has_reason')),
    sa.CheckConstraint("status IN ('voorgesteld', 'opgeschaald', 'ontvangen', 'besloten', 'opgelost', 'afgeschaald', 'afgewezen')", name=op.f('ck_escalation_status')),
    sa.CheckConstraint('level BETWEEN 0 AND 3', name=op.f('ck_escalation_level')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'], name=op.f('fk_escalation_acknowledged_by_id_user_account')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['user_account.id'], name=op.f('fk_escalation_closed_by_id_user_account')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_escalation_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['household_id'], ['family.id'], name=op.f('fk_escalation_household_id_family')),
    sa.ForeignKeyConstraint(['overleg_id'], ['overleg.id'], name=op.f('fk_escalation_overleg_id_overleg')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['user_account.id'], name=op.f('fk_escalation_proposed_by_id_user_account')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['user_account.id'], name=op.f('fk_escalation_raised_by_id_user_account')),
    sa.ForeignKeyConstraint(['stuck_organisation_id'], ['organisation.id'], name=op.f('fk_escalation_stuck_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation'))
    )
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_overleg_id'), ['overleg_id'], unique=False)
        batch_op.create_index('ix_escalation_status_deadline', ['status', 'deadline'], unique=False)
        batch_op.create_index('uq_escalation_open', ['household_id', 'overleg_id', 'rule_code'], unique=True, postgresql_where=sa.text("status IN ('voorgesteld', 'opgeschaald', 'ontvangen', 'besloten')"), sqlite_where=sa.text("status IN ('voorgesteld', 'opgeschaald', 'ontvangen', 'besloten')"))

    op.create_table('escalation_ladder_level',
    sa.Column('overleg_id', sa.Uuid(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('recipient_role', sa.String(length=32), nullable=False),
    sa.Column('recipient_scope', sa.String(length=16), nullable=False),
    sa.Column('recipient_organisation_id', sa.Uuid(), nullable=True),
    sa.Column('deadline_working_days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("recipient_scope <> 'organisation' OR recipient_organisation_id IS NOT NULL", name=op.f('ck_escalation_ladder_level_scope_organisation')),
    sa.CheckConstraint("recipient_scope IN ('action_owners', 'stuck_partner', 'overleg_owner', 'organisation', 'municipality')", name=op.f('ck_escalation_ladder_level_recipient_scope')),
    sa.CheckConstraint('deadline_working_days BETWEEN 1 AND 120', name=op.f('ck_escalation_ladder_level_deadline_working_days')),
    sa.CheckConstraint('level BETWEEN 0 AND 3', name=op.f('ck_escalation_ladder_level_level')),
    sa.ForeignKeyConstraint(['overleg_id'], ['overleg.id'], name=op.f('fk_escalation_ladder_level_overleg_id_overleg')),
    sa.ForeignKeyConstraint(['recipient_organisation_id'], ['organisation.id'], name=op.f('fk_escalation_ladder_level_recipient_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_ladder_level')),
    sa.UniqueConstraint('overleg_id', 'level', name=op.f('uq_escalation_ladder_level_overleg_id_level'))
    )
    with op.batch_alter_table('escalation_ladder_level', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_ladder_level_overleg_id'), ['overleg_id'], unique=False)

    op.create_table('escalation_rule',
    sa.Column('overleg_id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('params', JSON_DOC, nullable=False),
    sa.Column('explanation', sa.String(length=400), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("code IN ('action_overdue', 'action_carried_over', 'recurring_on_agenda', 'owner_silent', 'match_unacknowledged', 'coordinator_absent', 'due_date_pushed', 'plan_evaluation_passed', 'letter_or_consent_pending')", name=op.f('ck_escalation_rule_code')),
    sa.ForeignKeyConstraint(['overleg_id'], ['overleg.id'], name=op.f('fk_escalation_rule_overleg_id_overleg')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_rule')),
    sa.UniqueConstraint('overleg_id', 'code', name=op.f('uq_escalation_rule_overleg_id_code'))
    )
    with op.batch_alter_table('escalation_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_rule_overleg_id'), ['overleg_id'], unique=False)

    op.create_table('escalation_step',
    sa.Column('escalation_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('from_level', sa.Integer(), nullable=True),
    sa.Column('to_level', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('voorgesteld', 'opgeschaald', 'ontvangen', 'besloten', 'opgelost', 'afgeschaald', 'afgewezen', 'niveau_omhoog')", name=op.f('ck_escalation_step_kind')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_escalation_step_actor_id_user_account')),
    sa.ForeignKeyConstraint(['escalation_id'], ['escalation.id'], name=op.f('fk_escalation_step_escalation_id_escalation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_step')),
    sa.UniqueConstraint('escalation_id', 'position', name=op.f('uq_escalation_step_escalation_id_position'))
    )
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_step_escalation_id'), ['escalation_id'], unique=False)



def downgrade():
    with op.batch_alter_table('escalation_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_step_escalation_id'))

    op.drop_table('escalation_step')
    with op.batch_alter_table('escalation_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_rule_overleg_id'))

    op.drop_table('escalation_rule')
    with op.batch_alter_table('escalation_ladder_level', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_ladder_level_overleg_id'))

    op.drop_table('escalation_ladder_level')
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index('uq_escalation_open', postgresql_where=sa.text("status IN ('voorgesteld', 'opgeschaald', 'ontvangen', 'besloten')"), sqlite_where=sa.text("status IN ('voorgesteld', 'opgeschaald', 'ontvangen', 'besloten')"))
        batch_op.drop_index('ix_escalation_status_deadline')
        batch_op.drop_index(batch_op.f('ix_escalation_overleg_id'))
        batch_op.drop_index(batch_op.f('ix_escalation_household_id'))

    op.drop_table('escalation')
