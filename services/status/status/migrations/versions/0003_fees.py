"""fees: the procedure's fee schedule pinned with each dossier, for the national export

Revision ID: 0003_fees
Revises: 0002_desk
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_fees"
down_revision: str | None = "0002_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Dossiers registered before this revision had no schedule recorded: an empty list, not a guess.
    op.add_column("dossier", sa.Column("fees", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("dossier") as batch:
        batch.drop_column("fees")
