"""overleggen, sections, meetings, attendance, guests, calendar feeds, agenda, letters, event log, decisions, projector links

Revision ID: 0012_meetings
Revises: 0011_audit_subjects
Create Date: 2026-11-23 05:22:18.896268

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# revision identifiers, used by Alembic.
revision = '0012_meetings'
down_revision = '0011_audit_subjects'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('overleg',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('every_weeks', sa.Integer(), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('signaleringsoverleg', 'procesoverleg', 'cjg_overleg', 'mpg_overleg', 'anders')", name=op.f('ck_overleg_kind')),
    sa.CheckConstraint('duration_minutes BETWEEN 15 AND 480', name=op.f('ck_overleg_duration_minutes')),
    sa.CheckConstraint('every_weeks BETWEEN 1 AND 12', name=op.f('ck_overleg_every_weeks')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_overleg_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overleg')),
    sa.UniqueConstraint('name', name=op.f('uq_overleg_name'))
    )
    op.create_table('calendar_feed',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_calendar_feed_user_id_user_account')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feed')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_feed_token_hash'))
    )
    op.create_table('meeting',
    sa.Column('overleg_id', sa.Uuid(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('current_item_id', sa.Uuid(), nullable=True),
    sa.Column('item_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('live_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('blanked', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('gepland', 'voorbereid', 'live', 'gesloten')", name=op.f('ck_meeting_status')),
    sa.ForeignKeyConstraint(['overleg_id'], ['overleg.id'], name=op.f('fk_meeting_overleg_id_overleg')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting')),
    sa.UniqueConstraint('overleg_id', 'date', name=op.f('uq_meeting_overleg_id_date'))
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_date'), ['date'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_overleg_id'), ['overleg_id'], unique=False)

    op.create_table('overleg_member',
    sa.Column('overleg_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.CheckConstraint("role IN ('voorzitter', 'secretaris')", name=op.f('ck_overleg_member_role')),
    sa.ForeignKeyConstraint(['overleg_id'], ['overleg.id'], name=op.f('fk_overleg_member_overleg_id_overleg')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_overleg_member_user_id_user_account')),
    sa.PrimaryKeyConstraint('overleg_id', 'user_id', 'role', name=op.f('pk_overleg_member'))
    )
    with op.batch_alter_table('overleg_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overleg_member_user_id'), ['user_id'], unique=False)

    op.create_table('overleg_section',
    sa.Column('overleg_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['overleg_id'], ['overleg.id'], name=op.f('fk_overleg_section_overleg_id_overleg')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overleg_section')),
    sa.UniqueConstraint('overleg_id', 'name', name=op.f('uq_overleg_section_overleg_id_name'))
    )
    with op.batch_alter_table('overleg_section', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overleg_section_overleg_id'), ['overleg_id'], unique=False)

    op.create_table('agenda_item',
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('section_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('reasons', JSON_DOC, nullable=False),
    sa.Column('decision_needed', sa.Boolean(), nullable=False),
    sa.Column('planned_minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('used_seconds', sa.Integer(), nullable=False),
    sa.Column('carried_from_id', sa.Uuid(), nullable=True),
    sa.Column('added_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inform_state', sa.String(length=16), nullable=False),
    sa.Column('inform_reason', sa.Text(), nullable=True),
    sa.Column('inform_review_on', sa.Date(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("inform_state IN ('te_versturen', 'klaar', 'verstuurd', 'geen_ontvanger', 'uitgesteld', 'anoniem')", name=op.f('ck_agenda_item_inform_state')),
    sa.CheckConstraint("status IN ('gepland', 'besproken', 'doorgeschoven')", name=op.f('ck_agenda_item_status')),
    sa.CheckConstraint('planned_minutes BETWEEN 1 AND 90', name=op.f('ck_agenda_item_planned_minutes')),
    sa.ForeignKeyConstraint(['added_by_user_id'], ['user_account.id'], name=op.f('fk_agenda_item_added_by_user_id_user_account')),
    sa.ForeignKeyConstraint(['carried_from_id'], ['agenda_item.id'], name=op.f('fk_agenda_item_carried_from_id_agenda_item')),
    sa.ForeignKeyConstraint(['family_id'], ['family.id'], name=op.f('fk_agenda_item_family_id_family')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_agenda_item_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['section_id'], ['overleg_section.id'], name=op.f('fk_agenda_item_section_id_overleg_section')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_item')),
    sa.UniqueConstraint('meeting_id', 'family_id', name=op.f('uq_agenda_item_meeting_id_family_id'))
    )
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agenda_item_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agenda_item_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('meeting_attendance',
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('section_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('aanwezig', 'afwezig', 'afgemeld', 'later')", name=op.f('ck_meeting_attendance_status')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_attendance_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['user_account.id'], name=op.f('fk_meeting_attendance_recorded_by_user_id_user_account')),
    sa.ForeignKeyConstraint(['section_id'], ['overleg_section.id'], name=op.f('fk_meeting_attendance_section_id_overleg_section')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_meeting_attendance_user_id_user_account')),
    sa.PrimaryKeyConstraint('meeting_id', 'section_id', 'user_id', name=op.f('pk_meeting_attendance'))
    )
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_attendance_user_id'), ['user_id'], unique=False)

    op.create_table('meeting_guest',
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('section_id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('organisation_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('statement_signed_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_guest_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['user_account.id'], name=op.f('fk_meeting_guest_recorded_by_user_id_user_account')),
    sa.ForeignKeyConstraint(['section_id'], ['overleg_section.id'], name=op.f('fk_meeting_guest_section_id_overleg_section')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_guest'))
    )
    with op.batch_alter_table('meeting_guest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_guest_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('overleg_section_party',
    sa.Column('section_id', sa.Uuid(), nullable=False),
    sa.Column('organisation_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_overleg_section_party_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['section_id'], ['overleg_section.id'], name=op.f('fk_overleg_section_party_section_id_overleg_section')),
    sa.PrimaryKeyConstraint('section_id', 'organisation_id', name=op.f('pk_overleg_section_party'))
    )
    with op.batch_alter_table('overleg_section_party', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overleg_section_party_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('projector_link',
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user_account.id'], name=op.f('fk_projector_link_created_by_user_id_user_account')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_projector_link_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projector_link')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_projector_link_token_hash'))
    )
    with op.batch_alter_table('projector_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projector_link_meeting_id'), ['meeting_id'], unique=False)

    op.create_table('family_letter',
    sa.Column('agenda_item_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=True),
    sa.Column('sent_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("status IN ('klaar', 'verstuurd')", name=op.f('ck_family_letter_status')),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], name=op.f('fk_family_letter_agenda_item_id_agenda_item')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_family_letter_person_id_person')),
    sa.ForeignKeyConstraint(['sent_by_user_id'], ['user_account.id'], name=op.f('fk_family_letter_sent_by_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_letter')),
    sa.UniqueConstraint('agenda_item_id', 'person_id', name=op.f('uq_family_letter_agenda_item_id_person_id'))
    )
    with op.batch_alter_table('family_letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_letter_agenda_item_id'), ['agenda_item_id'], unique=False)

    op.create_table('meeting_decision',
    sa.Column('agenda_item_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('on_date', sa.Date(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('decided_by_user_id', sa.Uuid(), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("kind IN ('plan_starten', 'zorgcoordinator', 'opschalen', 'afschalen', 'terug_op_agenda', 'ouders_informeren', 'geen_actie')", name=op.f('ck_meeting_decision_kind')),
    sa.ForeignKeyConstraint(['agenda_item_id'], ['agenda_item.id'], name=op.f('fk_meeting_decision_agenda_item_id_agenda_item')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['user_account.id'], name=op.f('fk_meeting_decision_decided_by_user_id_user_account')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_meeting_decision_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_decision'))
    )
    with op.batch_alter_table('meeting_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_decision_agenda_item_id'), ['agenda_item_id'], unique=False)

    op.create_table('meeting_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('meeting_id', sa.Uuid(), nullable=False),
    sa.Column('section_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('item_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['agenda_item.id'], name=op.f('fk_meeting_event_item_id_agenda_item')),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_event_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['section_id'], ['overleg_section.id'], name=op.f('fk_meeting_event_section_id_overleg_section')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_event'))
    )
    with op.batch_alter_table('meeting_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_event_meeting_id'), ['meeting_id'], unique=False)



def downgrade():
    with op.batch_alter_table('meeting_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_event_meeting_id'))

    op.drop_table('meeting_event')
    with op.batch_alter_table('meeting_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_decision_agenda_item_id'))

    op.drop_table('meeting_decision')
    with op.batch_alter_table('family_letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_letter_agenda_item_id'))

    op.drop_table('family_letter')
    with op.batch_alter_table('projector_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projector_link_meeting_id'))

    op.drop_table('projector_link')
    with op.batch_alter_table('overleg_section_party', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overleg_section_party_organisation_id'))

    op.drop_table('overleg_section_party')
    with op.batch_alter_table('meeting_guest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_guest_meeting_id'))

    op.drop_table('meeting_guest')
    with op.batch_alter_table('meeting_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_attendance_user_id'))

    op.drop_table('meeting_attendance')
    with op.batch_alter_table('agenda_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agenda_item_meeting_id'))
        batch_op.drop_index(batch_op.f('ix_agenda_item_family_id'))

    op.drop_table('agenda_item')
    with op.batch_alter_table('overleg_section', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overleg_section_overleg_id'))

    op.drop_table('overleg_section')
    with op.batch_alter_table('overleg_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overleg_member_user_id'))

    op.drop_table('overleg_member')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_overleg_id'))
        batch_op.drop_index(batch_op.f('ix_meeting_date'))

    op.drop_table('meeting')
    op.drop_table('calendar_feed')
    op.drop_table('overleg')
