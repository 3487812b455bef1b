"""dossier gauges: an index that answers the gauges' GROUP BY (status.gauges) from the index alone

Revision ID: 0006_dossier_gauges
Revises: 0005_department_commands
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0006_dossier_gauges"
down_revision: str | None = "0005_department_commands"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_dossier_state_holder_agency_code_legal_due_date_received_at"), "dossier",
                    ["state", "holder_agency_code", "legal_due_date", "received_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dossier_state_holder_agency_code_legal_due_date_received_at"), table_name="dossier")
