"""catalog's own tables (nobody else reads them)."""
import sqlalchemy as sa

from motcua.db import add_messaging_tables

# Named constraints: Alembic can then alter them, on SQLite too (batch mode needs the names).
metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
add_messaging_tables(metadata)

agency = sa.Table(
    "agency", metadata,
    sa.Column("code", sa.String(32), primary_key=True),  # QCVN 102, e.g. 000.00.51.H24
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("level", sa.String(32), nullable=False),
    sa.Column("parent_code", sa.String(32), sa.ForeignKey("agency.code"), nullable=True),
    sa.Column("place_name", sa.String(100), nullable=True),  # địa danh on its papers: "Vĩnh Bảo, ngày ..."
    # "/root/.../code/": an agency and everything under it is `path LIKE '<its path>%'`.
    sa.Column("path", sa.String(1000), nullable=False),
    # varchar_pattern_ops: PostgreSQL uses a btree for LIKE 'prefix%' only with it (or the C collation).
    sa.Index("ix_agency_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
)

field = sa.Table(
    "field", metadata,
    sa.Column("code", sa.String(64), primary_key=True),  # linh vuc slug, e.g. ho-tich
    sa.Column("name", sa.String(300), nullable=False),
)

procedure = sa.Table(
    "procedure", metadata,
    sa.Column("code", sa.String(64), primary_key=True),  # national TTHC code or LOCAL-...
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("field_code", sa.String(64), sa.ForeignKey("field.code"), nullable=False),
)

procedure_version = sa.Table(
    "procedure_version", metadata,
    sa.Column("procedure_code", sa.String(64), sa.ForeignKey("procedure.code"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=True),  # the first day it no longer applies
    sa.Column("agency_code", sa.String(32), sa.ForeignKey("agency.code"), nullable=False, index=True),
    sa.Column("definition", sa.JSON, nullable=False),  # ProcedureVersionSchema().dump(...): what RPC serves
    # Copied out of `definition` for search, filters and order:
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("field_code", sa.String(64), nullable=False, index=True),
    sa.Column("legacy_level", sa.Integer, nullable=True),
    sa.Column("online_level", sa.String(16), nullable=True),
    sa.Column("time_limit_working_days", sa.Numeric(8, 2, asdecimal=False), nullable=True),
    sa.Column("search_text", sa.Text, nullable=False),  # domain.search_text: normalised, name first
    sa.Index("ix_procedure_version_in_force", "status", "valid_from"),
)
