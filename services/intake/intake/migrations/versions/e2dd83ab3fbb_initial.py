"""initial: procedure cache, code sequences, dossiers, attachments, idempotency records, outbox and inbox

Revision ID: e2dd83ab3fbb
Revises: 
Create Date: 2026-11-25 22:49:22.009503

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'e2dd83ab3fbb'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('code_sequence',
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('agency_code', 'day', name=op.f('pk_code_sequence'))
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

    op.create_table('procedure_version',
    sa.Column('procedure_code', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('procedure_code', 'version', name=op.f('pk_procedure_version'))
    )
    op.create_table('processed_message',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'message_id', name=op.f('pk_processed_message'))
    )
    op.create_table('dossier',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('procedure_code', sa.String(length=64), nullable=False),
    sa.Column('procedure_version', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('return_method', sa.String(length=16), nullable=False),
    sa.Column('applicant', sa.JSON(), nullable=False),
    sa.Column('form', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('appointment_date', sa.Date(), nullable=False),
    sa.Column('tracking_key_hash', sa.String(length=64), nullable=False),
    sa.Column('receipt', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_code', 'procedure_version'], ['procedure_version.procedure_code', 'procedure_version.version'], name=op.f('fk_dossier_procedure_version')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_dossier'))
    )
    op.create_table('attachment',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('document_code', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], name=op.f('fk_attachment_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachment'))
    )
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachment_dossier_code'), ['dossier_code'], unique=False)

    op.create_table('idempotency_record',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('sealed_tracking_key', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], name=op.f('fk_idempotency_record_dossier')),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_idempotency_record'))
    )


def downgrade() -> None:
    op.drop_table('idempotency_record')
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachment_dossier_code'))

    op.drop_table('attachment')
    op.drop_table('dossier')
    op.drop_table('processed_message')
    op.drop_table('procedure_version')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_unpublished')

    op.drop_table('outbox_message')
    op.drop_table('code_sequence')
