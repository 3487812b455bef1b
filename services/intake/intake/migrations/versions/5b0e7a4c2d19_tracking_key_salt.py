"""tracking key salt: a retried submission's tracking key derives from a salt, as postal's does

Records written before keep their sealed key (intake.domain.tracking) and still answer their
retries; each record has exactly one of the two.

Revision ID: 5b0e7a4c2d19
Revises: c73917deb3bc
Create Date: 2026-12-07 17:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '5b0e7a4c2d19'
down_revision: Union[str, None] = 'c73917deb3bc'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ONE_FORM = 'ck_idempotency_record_one_tracking_key_form'


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to relax NOT NULL and add the check (nothing refers to it).
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tracking_key_salt', sa.String(length=32), nullable=True))
        batch_op.alter_column('sealed_tracking_key', existing_type=sa.String(length=128), nullable=True)
        batch_op.create_check_constraint(ONE_FORM, '(tracking_key_salt IS NULL) <> (sealed_tracking_key IS NULL)')


def downgrade() -> None:
    # A record with only a salt cannot be sealed without its Idempotency-Key: those records go, and their
    # retries are then taken as new submissions.
    op.execute('DELETE FROM idempotency_record WHERE sealed_tracking_key IS NULL')
    with op.batch_alter_table('idempotency_record', schema=None) as batch_op:
        batch_op.drop_constraint(ONE_FORM, type_='check')
        batch_op.alter_column('sealed_tracking_key', existing_type=sa.String(length=128), nullable=False)
        batch_op.drop_column('tracking_key_salt')
