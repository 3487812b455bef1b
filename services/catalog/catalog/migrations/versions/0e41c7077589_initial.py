"""initial: agency tree (with materialised paths), fields, procedures, versions with search columns, outbox and inbox

Revision ID: 0e41c7077589
Revises: 
Create Date: 2026-11-25 22:55:36.589320

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0e41c7077589'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('agency',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('level', sa.String(length=32), nullable=False),
    sa.Column('parent_code', sa.String(length=32), nullable=True),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['parent_code'], ['agency.code'], name=op.f('fk_agency_parent_code_agency')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_agency'))
    )
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.create_index('ix_agency_path', ['path'], unique=False, postgresql_ops={'path': 'varchar_pattern_ops'})

    op.create_table('field',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_field'))
    )
    op.create_table('outbox_message',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('exchange', sa.String(length=200), nullable=False),
    sa.Column('routing_key', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_message_event_id'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_unpublished', ['published_at', 'seq'], unique=False)

    op.create_table('processed_message',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'message_id', name=op.f('pk_processed_message'))
    )
    op.create_table('procedure',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('field_code', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['field_code'], ['field.code'], name=op.f('fk_procedure_field_code_field')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_procedure'))
    )
    op.create_table('procedure_version',
    sa.Column('procedure_code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('field_code', sa.String(length=64), nullable=False),
    sa.Column('legacy_level', sa.Integer(), nullable=True),
    sa.Column('online_level', sa.String(length=16), nullable=True),
    sa.Column('time_limit_working_days', sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['agency_code'], ['agency.code'], name=op.f('fk_procedure_version_agency_code_agency')),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedure.code'], name=op.f('fk_procedure_version_procedure_code_procedure')),
    sa.PrimaryKeyConstraint('procedure_code', 'version', name=op.f('pk_procedure_version'))
    )
    with op.batch_alter_table('procedure_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procedure_version_agency_code'), ['agency_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_procedure_version_field_code'), ['field_code'], unique=False)
        batch_op.create_index('ix_procedure_version_in_force', ['status', 'valid_from'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('procedure_version', schema=None) as batch_op:
        batch_op.drop_index('ix_procedure_version_in_force')
        batch_op.drop_index(batch_op.f('ix_procedure_version_field_code'))
        batch_op.drop_index(batch_op.f('ix_procedure_version_agency_code'))

    op.drop_table('procedure_version')
    op.drop_table('procedure')
    op.drop_table('processed_message')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_unpublished')

    op.drop_table('outbox_message')
    op.drop_table('field')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_index('ix_agency_path', postgresql_ops={'path': 'varchar_pattern_ops'})

    op.drop_table('agency')
