"""agency place name: the địa danh written before the date on the agency's papers (receipt 01)

Agencies already imported keep NULL (their receipts print the date alone) until the catalogue is imported again.

Revision ID: 08e443c81af2
Revises: 0e41c7077589
Create Date: 2026-12-07 20:25:00.262881

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '08e443c81af2'
down_revision: Union[str, None] = '0e41c7077589'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('place_name', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('place_name')
