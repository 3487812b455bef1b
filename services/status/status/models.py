"""Tables owned by status. Column names of `dossier` are the fields of `domain.Dossier`."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from motcua.db import add_messaging_tables

# Named constraints so migrations name them the same on PostgreSQL and SQLite.
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
add_messaging_tables(metadata)


class UTCDateTime(sa.TypeDecorator):
    """Aware UTC in and out: SQLite keeps no offset, so naive values are refused going in."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


DOSSIER_CODE = sa.String(40)
AGENCY_CODE = sa.String(20)

dossier = sa.Table(
    "dossier", metadata,
    sa.Column("code", DOSSIER_CODE, primary_key=True),
    sa.Column("procedure_code", sa.String(64), nullable=False),
    sa.Column("procedure_name", sa.Text, nullable=False),
    sa.Column("procedure_version", sa.Integer, nullable=False),
    sa.Column("agency_code", AGENCY_CODE, nullable=False),
    sa.Column("holder_agency_code", AGENCY_CODE, nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("return_method", sa.String(10), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("tracking_key_hash", sa.String(64), nullable=False),
    sa.Column("applicant_given_name", sa.String(100), nullable=False),  # no full name, phone or e-mail here
    sa.Column("submitted_at", UTCDateTime, nullable=False),
    sa.Column("received_at", UTCDateTime),
    sa.Column("appointment_date", sa.Date, nullable=False),  # Asia/Ho_Chi_Minh local date
    sa.Column("time_limit_working_days", sa.Numeric(7, 2), nullable=False),
    sa.Column("cutoff_hour", sa.Time, nullable=False),
    sa.Column("assignee", sa.String(128)),
    sa.Column("supplement_requests", sa.Integer, nullable=False),
    sa.Column("counted_overdue", sa.Boolean, nullable=False),
    sa.Column("completed_at", UTCDateTime),
    sa.Column("returned_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # The desk's work queue: an agency's dossiers in a state, soonest due first.
    sa.Index(None, "holder_agency_code", "state", "appointment_date"),
)

# Append-only (the migration adds triggers refusing UPDATE and DELETE).
dossier_history = sa.Table(
    "dossier_history", metadata,
    sa.Column("dossier_code", DOSSIER_CODE, sa.ForeignKey("dossier.code"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),  # = the dossier version the entry produced
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("from_state", sa.String(24)),
    sa.Column("to_state", sa.String(24), nullable=False),
    sa.Column("agency_code", AGENCY_CODE, nullable=False),
    sa.Column("actor_kind", sa.String(24), nullable=False),
    sa.Column("actor_id", sa.String(128)),
    sa.Column("actor_agency_code", AGENCY_CODE),
    sa.Column("reason", sa.Text),
    sa.Column("idempotency_key", sa.String(128)),
    sa.Column("details", sa.Text, nullable=False),  # JSON
    sa.Column("public", sa.Boolean, nullable=False),
)

clock_pause = sa.Table(
    "clock_pause", metadata,
    sa.Column("dossier_code", DOSSIER_CODE, sa.ForeignKey("dossier.code"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("reason", sa.String(24), nullable=False),
)

command_outcome = sa.Table(
    "command_outcome", metadata,
    sa.Column("idempotency_key", sa.String(128), primary_key=True),
    sa.Column("dossier_code", DOSSIER_CODE, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # sha256 of the command without its key
    sa.Column("outcome", sa.Text, nullable=False),  # JSON, as first answered
    sa.Column("created_at", UTCDateTime, nullable=False),
)
