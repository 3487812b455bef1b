"""recipient tracking key hash: the citizen can change the notification preferences later

Revision ID: 22766de56e7e
Revises: 3ff79189c66f
Create Date: 2026-11-26 00:19:43.013266
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '22766de56e7e'
down_revision: str | None = '3ff79189c66f'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking_key_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('recipient', schema=None) as batch_op:
        batch_op.drop_column('tracking_key_hash')
