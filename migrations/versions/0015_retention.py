"""retention periods, erasure and rectification requests

Revision ID: 0015_retention
Revises: 0014_privacy_review
Create Date: 2026-11-23 07:25:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# revision identifiers, used by Alembic.
revision = '0015_retention'
down_revision = '0014_privacy_review'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('covenant_retention',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('covenant_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category_code', sa.String(length=40), nullable=False),
    sa.Column('purpose_code', sa.String(length=40), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('betrokkenheid', 'notitie', 'plan', 'agendapunt', 'persoon')", name=op.f('ck_covenant_retention_kind')),
    sa.CheckConstraint('months BETWEEN 1 AND 1200', name=op.f('ck_covenant_retention_months')),
    sa.ForeignKeyConstraint(['covenant_id'], ['covenant_version.id'], name=op.f('fk_covenant_retention_covenant_id_covenant_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_covenant_retention')),
    sa.UniqueConstraint('covenant_id', 'kind', 'category_code', 'purpose_code', name=op.f('uq_covenant_retention_target'))
    )
    with op.batch_alter_table('covenant_retention', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_covenant_retention_covenant_id'), ['covenant_id'], unique=False)

    op.create_table('retention_anchor',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('last_involvement_end', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_retention_anchor_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_retention_anchor'))
    )
    op.create_table('retention_run',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reference_day', sa.Date(), nullable=False),
    sa.Column('covenant_version', sa.String(length=32), nullable=True),
    sa.Column('proposal', JSON_DOC, nullable=False),
    sa.Column('counts', JSON_DOC, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('approved_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('executed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed', JSON_DOC, nullable=False),
    sa.Column('audit_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("status IN ('voorstel', 'uitgevoerd', 'vervallen')", name=op.f('ck_retention_run_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_run'))
    )
    op.create_table('retention_statistic',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=True),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.CheckConstraint('removed >= 0', name=op.f('ck_retention_statistic_removed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_statistic'))
    )
    op.create_table('rights_request',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=True),
    sa.Column('person_pseudonym', sa.String(length=20), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('respond_by', sa.Date(), nullable=False),
    sa.Column('requester', sa.Text(), nullable=False),
    sa.Column('asked', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('registered_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('carried_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('carried_out_by_user_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("kind IN ('wissen', 'rectificatie')", name=op.f('ck_rights_request_kind')),
    sa.CheckConstraint("status IN ('ontvangen', 'toegewezen', 'gedeeltelijk', 'afgewezen')", name=op.f('ck_rights_request_status')),
    sa.CheckConstraint("scope IS NULL OR scope IN ('alles', 'notities')", name=op.f('ck_rights_request_scope')),
    sa.CheckConstraint("status = 'ontvangen' OR decided_by_user_id IS NOT NULL", name=op.f('ck_rights_request_decided_by')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_rights_request_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rights_request'))
    )
    with op.batch_alter_table('rights_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rights_request_person_id'), ['person_id'], unique=False)

    op.create_table('rectification_task',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by_user_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'gecorrigeerd', 'niet_nodig')", name=op.f('ck_rectification_task_status')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_rectification_task_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['request_id'], ['rights_request.id'], name=op.f('fk_rectification_task_request_id_rights_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_task')),
    sa.UniqueConstraint('request_id', 'organisation_id', name=op.f('uq_rectification_task_request_id_organisation_id'))
    )
    with op.batch_alter_table('rectification_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_task_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_task_request_id'), ['request_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rectification_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_task_request_id'))
        batch_op.drop_index(batch_op.f('ix_rectification_task_organisation_id'))
    op.drop_table('rectification_task')
    with op.batch_alter_table('rights_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rights_request_person_id'))
    op.drop_table('rights_request')
    op.drop_table('retention_statistic')
    op.drop_table('retention_run')
    op.drop_table('retention_anchor')
    with op.batch_alter_table('covenant_retention', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_covenant_retention_covenant_id'))
    op.drop_table('covenant_retention')
