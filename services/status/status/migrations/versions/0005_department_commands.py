"""department_command: the first outcome of each department system's command

Revision ID: 0005_department_commands
Revises: 0004_delivery
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_department_commands"
down_revision: str | None = "0004_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "department_command",
        sa.Column("command_id", sa.String(length=128), nullable=False),
        sa.Column("agency_code", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("command_id", name=op.f("pk_department_command")),
    )


def downgrade() -> None:
    op.drop_table("department_command")
