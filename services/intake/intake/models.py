"""intake's own tables (nobody else reads them)."""
import sqlalchemy as sa

from motcua.db import add_messaging_tables

# Named constraints: Alembic can then alter them, on SQLite too (batch mode needs the names).
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
add_messaging_tables(metadata)

# The published definitions intake validates against: filled from catalog's procedure_published
# events, and by one RPC on a miss. A dossier keeps pointing at the version it was filed under.
procedure_version = sa.Table(
    "procedure_version", metadata,
    sa.Column("procedure_code", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=True),
    sa.Column("definition", sa.JSON, nullable=False),  # ProcedureVersionSchema().dump(...)
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
)

code_sequence = sa.Table(
    "code_sequence", metadata,
    sa.Column("agency_code", sa.String(32), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),  # local date in Asia/Ho_Chi_Minh
    sa.Column("last_value", sa.Integer, nullable=False),
)

dossier = sa.Table(
    "dossier", metadata,
    sa.Column("code", sa.String(40), primary_key=True),
    sa.Column("procedure_code", sa.String(64), nullable=False),
    sa.Column("procedure_version", sa.Integer, nullable=False),
    sa.Column("agency_code", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("return_method", sa.String(16), nullable=False),
    sa.Column("applicant", sa.JSON, nullable=False),
    sa.Column("form", sa.JSON, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),  # UTC
    sa.Column("appointment_date", sa.Date, nullable=False),
    sa.Column("tracking_key_hash", sa.String(64), nullable=False),  # sha256 hex; the key itself is never stored
    sa.Column("receipt", sa.JSON, nullable=False),  # ReceiptSchema().dump(...)
    sa.Column("delivery_address", sa.JSON, nullable=True),  # AddressSchema; only when the result goes back by post
    # The pickup whose handover registered the dossier (postal channel): one dossier per pickup.
    sa.Column("pickup_id", sa.String(36), nullable=True),
    sa.ForeignKeyConstraint(["procedure_code", "procedure_version"],
                            ["procedure_version.procedure_code", "procedure_version.version"]),
    # A unique index, not a constraint: SQLite adds it without rebuilding a table others refer to.
    sa.Index(None, "pickup_id", unique=True),
)

# The citizen's supplements to a dossier; their files are attachment rows carrying the supplement's id.
supplement = sa.Table(
    "supplement", metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # a UUID
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossier.code"), nullable=False, index=True),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),  # UTC
    sa.Column("idempotency_key", sa.String(128), nullable=True, unique=True),
    sa.Column("request_hash", sa.String(64), nullable=False),  # of the dossier code and the loaded body
    sa.Column("result", sa.JSON, nullable=False),  # SupplementResultSchema dump: what a retry gets back
)

attachment = sa.Table(
    "attachment", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossier.code"), nullable=False, index=True),
    sa.Column("document_code", sa.String(64), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(200), nullable=False),
    # None: filed with the dossier; else the supplement that brought it.
    sa.Column("supplement_id", sa.String(36), sa.ForeignKey("supplement.id"), nullable=True, index=True),
)

# Keyed by the SHA-256 of the Idempotency-Key: the tracking key derives from the Idempotency-Key
# and `tracking_key_salt` (motcua.tracking); a record written before the salts has
# `sealed_tracking_key` instead (intake.domain.tracking).
idempotency_record = sa.Table(
    "idempotency_record", metadata,
    sa.Column("key_hash", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("dossier_code", sa.String(40), sa.ForeignKey("dossier.code"), nullable=False),
    sa.Column("response", sa.JSON, nullable=False),  # SubmitDossierResultSchema dump without tracking_key
    sa.Column("tracking_key_salt", sa.String(32)),
    sa.Column("sealed_tracking_key", sa.String(128)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(tracking_key_salt IS NULL) <> (sealed_tracking_key IS NULL)",
                       name="ck_idempotency_record_one_tracking_key_form"),
)
