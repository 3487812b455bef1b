"""initial

Revision ID: 5926b5f14780
Revises:
Create Date: 2026-11-26 01:21:29.648014
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5926b5f14780'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('booking_key',
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('pickup_id', sa.Uuid(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('tracking_key_salt', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key_hash', name=op.f('pk_booking_key')),
    sa.UniqueConstraint('pickup_id', name=op.f('uq_booking_key_pickup_id'))
    )
    op.create_table('carrier_event',
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('waybill', sa.String(length=64), nullable=False),
    sa.Column('order_kind', sa.String(length=8), nullable=False),
    sa.Column('event', sa.String(length=24), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_carrier_event'))
    )
    with op.batch_alter_table('carrier_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_carrier_event_waybill_occurred_at'), ['waybill', 'occurred_at'], unique=False)

    op.create_table('delivery',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('waybill', sa.String(length=64), nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recipient_name', sa.String(length=200), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('dossier_code', name=op.f('uq_delivery_dossier_code')),
    sa.UniqueConstraint('waybill', name=op.f('uq_delivery_waybill'))
    )
    op.create_table('delivery_request',
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('address', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dossier_code', name=op.f('pk_delivery_request'))
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

    op.create_table('pickup',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('waybill', sa.String(length=64), nullable=False),
    sa.Column('carrier', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('procedure_code', sa.String(length=64), nullable=False),
    sa.Column('procedure_version', sa.Integer(), nullable=False),
    sa.Column('procedure_name', sa.Text(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('agency_name', sa.Text(), nullable=False),
    sa.Column('applicant', sa.JSON(), nullable=False),
    sa.Column('address', sa.JSON(), nullable=False),
    sa.Column('return_method', sa.String(length=8), nullable=False),
    sa.Column('delivery_address', sa.JSON(), nullable=True),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('quoted_fee_vnd', sa.Integer(), nullable=False),
    sa.Column('agency_fees_vnd', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('fees_collected_vnd', sa.Integer(), nullable=True),
    sa.Column('seal_number', sa.String(length=64), nullable=True),
    sa.Column('carrier_staff', sa.String(length=200), nullable=True),
    sa.Column('received_by', sa.String(length=200), nullable=True),
    sa.Column('tracking_key_hash', sa.String(length=64), nullable=False),
    sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('dossier_code', sa.String(length=40), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pickup')),
    sa.UniqueConstraint('dossier_code', name=op.f('uq_pickup_dossier_code')),
    sa.UniqueConstraint('waybill', name=op.f('uq_pickup_waybill'))
    )
    op.create_table('processed_message',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'message_id', name=op.f('pk_processed_message'))
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
    op.drop_table('processed_message')
    op.drop_table('pickup')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_message_unpublished')

    op.drop_table('outbox_message')
    op.drop_table('delivery_request')
    op.drop_table('delivery')
    with op.batch_alter_table('carrier_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_carrier_event_waybill_occurred_at'))

    op.drop_table('carrier_event')
    op.drop_table('booking_key')
