"""delivery: the result's journey by post, one summary per dossier

Revision ID: 0004_delivery
Revises: 0003_fees
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_delivery"
down_revision: str | None = "0003_fees"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("dossier_code", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("waybill", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dossier_code"], ["dossier.code"], name=op.f("fk_delivery_dossier_code_dossier")),
        sa.PrimaryKeyConstraint("dossier_code", name=op.f("pk_delivery")),
    )


def downgrade() -> None:
    op.drop_table("delivery")
