"""Tables owned by status. Column names of `dossier` are the fields of `domain.Dossier`."""
from __future__ import annotations

import sqlalchemy as sa

from motcua.db import UTCDateTime, service_metadata

metadata = service_metadata()


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
    sa.Column("workflow", sa.Text, nullable=False),  # JSON: catalog's WorkflowStepSchema list
    sa.Column("fees", sa.Text, nullable=False, server_default="[]"),  # JSON: intake's DossierFeeSchema list
    sa.Column("step_index", sa.Integer),  # null: no workflow, or not accepted yet
    sa.Column("step_role", sa.String(16)),
    sa.Column("step_due_date", sa.Date),
    # The legal due date: moved by clock pauses like appointment_date, never by an apology (KPIs use it).
    sa.Column("legal_due_date", sa.Date, nullable=False),
    sa.Column("result_document", sa.Text),  # JSON: filename, sha256, size_bytes, storage_key
    sa.Column("overdue_since", sa.Date),
    # The desk's work queue: an agency's dossiers in a state, soonest due first (and counted from the index).
    sa.Index(None, "holder_agency_code", "state", "appointment_date"),
    # The desk's page (status.repository.desk_page): what an agency holds, in the desk's order...
    sa.Index(None, "holder_agency_code", "appointment_date", "code"),
    # ...and what it received and another agency holds now, a few of its dossiers (the predicate is the query's).
    sa.Index(None, "agency_code", "appointment_date", "code", postgresql_include=["state"],
             postgresql_where=sa.text("agency_code <> holder_agency_code"),
             sqlite_where=sa.text("agency_code <> holder_agency_code")),
    # The overdue sweep: unfinished dossiers whose date passed, city-wide.
    sa.Index(None, "state", "appointment_date"),
    # The dossier gauges (status.gauges): open dossiers by state and holder, their dates, from the index alone.
    sa.Index(None, "state", "holder_agency_code", "legal_due_date", "received_at"),
)

# Every agency that held a dossier (the receiving one and each transfer's target): an official sees
# a dossier when their agency is here; the desk filters with EXISTS on it.
dossier_access = sa.Table(
    "dossier_access", metadata,
    sa.Column("dossier_code", DOSSIER_CODE, sa.ForeignKey("dossier.code"), primary_key=True),
    sa.Column("agency_code", AGENCY_CODE, primary_key=True),
    sa.Index(None, "agency_code", "dossier_code"),  # the desk counts it, and reads it for what was held in between
)

revoked_token = sa.Table(
    "revoked_token", metadata,
    sa.Column("token_id", sa.String(128), primary_key=True),
    sa.Column("expires_at", UTCDateTime, nullable=False),  # the row may go once the token expired anyway
)

# Template 04 of Circular 01/2018: one apology per missed appointment date.
apology = sa.Table(
    "apology", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("dossier_code", DOSSIER_CODE, sa.ForeignKey("dossier.code"), nullable=False),
    sa.Column("agency_code", AGENCY_CODE, nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("original_appointment_date", sa.Date, nullable=False),
    sa.Column("new_appointment_date", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.UniqueConstraint("dossier_code", "original_appointment_date"),
)

# When a periodic job (the overdue sweep) last ran: one run per interval across replicas.
sweep_run = sa.Table(
    "sweep_run", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("last_run_at", UTCDateTime, nullable=False),
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

# The result's journey by post (one delivery per dossier), as the citizen's view shows it; never moves backwards.
delivery = sa.Table(
    "delivery", metadata,
    sa.Column("dossier_code", DOSSIER_CODE, sa.ForeignKey("dossier.code"), primary_key=True),
    sa.Column("delivery_id", sa.String(36), nullable=False),
    sa.Column("waybill", sa.String(64), nullable=False),
    sa.Column("carrier", sa.String(64), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),  # when the carrier reported the state shown
)

# A department system's commands, by the command_id it chose: the first answer, accepted or rejected,
# is what a repeated command_id is answered (a rejected one too, though it changed nothing).
department_command = sa.Table(
    "department_command", metadata,
    sa.Column("command_id", sa.String(128), primary_key=True),
    sa.Column("agency_code", AGENCY_CODE, nullable=False),  # the agency that sent it (its routing key)
    sa.Column("outcome", sa.Text, nullable=False),  # JSON: CommandOutcomeSchema, as first answered
    sa.Column("created_at", UTCDateTime, nullable=False),
)
