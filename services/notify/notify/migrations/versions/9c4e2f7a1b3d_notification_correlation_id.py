"""notification correlation id: the sender logs a send under the id of the request that queued it

Revision ID: 9c4e2f7a1b3d
Revises: 474760bb8b3c
Create Date: 2026-12-07 21:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '9c4e2f7a1b3d'
down_revision: str | None = '474760bb8b3c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, no default: the rows queued before keep none, and the sender logs them under its own run's id.
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correlation_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('correlation_id')
