"""desk at scale: indexes that read an agency's desk page in the desk's order and count it from the indexes

The desk list (status.repository.desk_page) no longer joins each dossier an agency ever held to dossier_access:
it reads what the agency holds and what it received and sent on straight from `dossier`, in the desk's order,
and counts them, and everything it sees, from the indexes alone.

Revision ID: 0007_desk_scale
Revises: 0006_dossier_gauges
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_desk_scale"
down_revision: str | None = "0006_dossier_gauges"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT_ON = "agency_code <> holder_agency_code"  # as status.repository._sent_on writes it


def upgrade() -> None:
    op.create_index(op.f("ix_dossier_holder_agency_code_appointment_date_code"), "dossier",
                    ["holder_agency_code", "appointment_date", "code"], unique=False)
    op.create_index(op.f("ix_dossier_agency_code_appointment_date_code"), "dossier",
                    ["agency_code", "appointment_date", "code"], unique=False, postgresql_include=["state"],
                    postgresql_where=sa.text(SENT_ON), sqlite_where=sa.text(SENT_ON))
    op.create_index(op.f("ix_dossier_access_agency_code_dossier_code"), "dossier_access",
                    ["agency_code", "dossier_code"], unique=False)
    op.drop_index(op.f("ix_dossier_access_agency_code"), table_name="dossier_access")


def downgrade() -> None:
    op.create_index(op.f("ix_dossier_access_agency_code"), "dossier_access", ["agency_code"], unique=False)
    op.drop_index(op.f("ix_dossier_access_agency_code_dossier_code"), table_name="dossier_access")
    op.drop_index(op.f("ix_dossier_agency_code_appointment_date_code"), table_name="dossier")
    op.drop_index(op.f("ix_dossier_holder_agency_code_appointment_date_code"), table_name="dossier")
