"""supplements: the citizen's supplements, and their files as attachment rows with a supplement_id

Revision ID: 27b1b6d57408
Revises: e2dd83ab3fbb
Create Date: 2026-11-25 23:38:07.407986

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '27b1b6d57408'
down_revision: Union[str, None] = 'e2dd83ab3fbb'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('supplement',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], name=op.f('fk_supplement_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplement')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_supplement_idempotency_key'))
    )
    with op.batch_alter_table('supplement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplement_dossier_code'), ['dossier_code'], unique=False)

    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('supplement_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachment_supplement_id'), ['supplement_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_attachment_supplement'), 'supplement', ['supplement_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attachment_supplement'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachment_supplement_id'))
        batch_op.drop_column('supplement_id')

    with op.batch_alter_table('supplement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplement_dossier_code'))

    op.drop_table('supplement')
