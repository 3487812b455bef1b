"""postal: the delivery address of a result returned by post, and the pickup that brought a postal dossier

Revision ID: c73917deb3bc
Revises: 27b1b6d57408
Create Date: 2026-11-26 01:18:56.622394

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'c73917deb3bc'
down_revision: Union[str, None] = '27b1b6d57408'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX: SQLite does both in place, without rebuilding `dossier`,
    # which attachments, supplements and idempotency records refer to.
    op.add_column('dossier', sa.Column('delivery_address', sa.JSON(), nullable=True))
    op.add_column('dossier', sa.Column('pickup_id', sa.String(length=36), nullable=True))
    op.create_index(op.f('ix_dossier_pickup_id'), 'dossier', ['pickup_id'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_dossier_pickup_id'), table_name='dossier')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('pickup_id')
        batch_op.drop_column('delivery_address')
