"""blind index of a person's birth date, so the duplicate check decrypts only that day

Revision ID: 0005_person_birth_date_index
Revises: 0004_involvements

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005_person_birth_date_index"
down_revision = '0004_involvements'
branch_labels = None
depends_on = None


def upgrade():
    # Existing rows keep NULL: the duplicate check falls back to their birth year.
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birth_date_index', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_person_birth_date_index'), ['birth_date_index'], unique=False)


def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_birth_date_index'))
        batch_op.drop_column('birth_date_index')
