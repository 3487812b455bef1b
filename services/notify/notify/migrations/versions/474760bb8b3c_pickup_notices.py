"""pickup notices: pickup recipients, notifications keyed by pickup until the dossier is registered

Revision ID: 474760bb8b3c
Revises: 22766de56e7e
Create Date: 2026-11-26 01:19:21.207229
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '474760bb8b3c'
down_revision: str | None = '22766de56e7e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('pickup_recipient',
    sa.Column('pickup_id', sa.Uuid(), nullable=False),
    sa.Column('given_name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('preferences', sa.JSON(), nullable=False),
    sa.Column('procedure_name', sa.Text(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('pickup_id', name=op.f('pk_pickup_recipient'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pickup_id', sa.Uuid(), nullable=True))
        batch_op.alter_column('dossier_code',
               existing_type=sa.VARCHAR(length=40),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_notification_pickup_id'), ['pickup_id'], unique=False)
        batch_op.create_check_constraint(op.f('ck_notification_about'),
                                         'dossier_code IS NOT NULL OR pickup_id IS NOT NULL')


def downgrade() -> None:
    # The notices of pickups never registered as a dossier have no dossier code to keep them by.
    op.execute("DELETE FROM notification WHERE dossier_code IS NULL")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_notification_about'), type_='check')
        batch_op.drop_index(batch_op.f('ix_notification_pickup_id'))
        batch_op.alter_column('dossier_code',
               existing_type=sa.VARCHAR(length=40),
               nullable=False)
        batch_op.drop_column('pickup_id')

    op.drop_table('pickup_recipient')
