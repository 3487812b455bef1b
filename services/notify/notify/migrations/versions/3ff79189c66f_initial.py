"""initial

Revision ID: 3ff79189c66f
Revises: 
Create Date: 2026-11-26 00:11:04.382251
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '3ff79189c66f'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('event_occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('template_id', sa.String(length=32), nullable=False),
    sa.Column('template_version', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('length', sa.Integer(), nullable=False),
    sa.Column('segments', sa.Integer(), nullable=False),
    sa.Column('encoding', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_message_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('event_id', 'template_id', 'channel', name=op.f('uq_notification_event_id_template_id_channel'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_dossier_code_created_at'), ['dossier_code', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_provider_message_id'), ['provider_message_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_status_channel_not_before'), ['status', 'channel', 'not_before'], unique=False)

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
    op.create_table('recipient',
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('given_name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('preferences', sa.JSON(), nullable=False),
    sa.Column('procedure_name', sa.Text(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dossier_code', name=op.f('pk_recipient'))
    )
    op.create_table('seen_signature',
    sa.Column('signature', sa.String(length=256), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('signature', name=op.f('pk_seen_signature'))
    )
    with op.batch_alter_table('seen_signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_seen_signature_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('seen_signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seen_signature_expires_at'))

    op.drop_table('seen_signature')
    op.drop_table('recipient')
    op.drop_table('processed_message')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_unpublished')

    op.drop_table('outbox_message')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_status_channel_not_before'))
        batch_op.drop_index(batch_op.f('ix_notification_provider_message_id'))
        batch_op.drop_index(batch_op.f('ix_notification_dossier_code_created_at'))

    op.drop_table('notification')
