"""desk: routes and step deadlines, who held a dossier, revoked tokens, apologies, sweep runs

Revision ID: 0002_desk
Revises: 466b3ac4a9c3
Create Date: 2026-11-25 23:36:39.307829
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002_desk'
down_revision: str | None = '466b3ac4a9c3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_rebuilds_dossier() -> bool:
    """On SQLite, allow the batch rebuild of `dossier` (True); a no-op elsewhere (False).

    Dropping the old copy while history rows refer to it fails with foreign keys enforced. The pragma
    works only outside a transaction, which is where a revision starts when it runs alone (nothing
    was written on the connection yet); a fresh database has no rows to trip on.
    """
    if op.get_context().dialect.name != 'sqlite':
        return False
    op.execute("PRAGMA foreign_keys=OFF")
    rows = op.get_bind().exec_driver_sql("SELECT count(*) FROM dossier").scalar()
    if rows and op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("run 0002_desk on its own on SQLite: it cannot rebuild `dossier` in a transaction")
    return True


def _check_foreign_keys() -> None:
    if op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").first():
        raise RuntimeError("rebuilding `dossier` broke a foreign key")


def upgrade() -> None:
    sqlite = _sqlite_rebuilds_dossier()
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.add_column(sa.Column('workflow', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('step_index', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('step_role', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('step_due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('legal_due_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('result_document', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('overdue_since', sa.Date(), nullable=True))
    # Existing dossiers have no route; their legal due date is the appointment they were given.
    op.execute("UPDATE dossier SET workflow = '[]', legal_due_date = appointment_date")
    with op.batch_alter_table('dossier') as batch_op:
        batch_op.alter_column('workflow', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('legal_due_date', existing_type=sa.Date(), nullable=False)
    if sqlite:
        _check_foreign_keys()
    op.create_index(op.f('ix_dossier_state_appointment_date'), 'dossier', ['state', 'appointment_date'],
                    unique=False)

    op.create_table('dossier_access',
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], name=op.f('fk_dossier_access_dossier_code_dossier')),
    sa.PrimaryKeyConstraint('dossier_code', 'agency_code', name=op.f('pk_dossier_access'))
    )
    op.create_index(op.f('ix_dossier_access_agency_code'), 'dossier_access', ['agency_code'], unique=False)
    # Every agency that acted on a dossier held it (a transfer is recorded under the giving agency),
    # and so does its current holder.
    op.execute("INSERT INTO dossier_access (dossier_code, agency_code) "
               "SELECT dossier_code, agency_code FROM dossier_history "
               "UNION SELECT code, holder_agency_code FROM dossier")

    op.create_table('revoked_token',
    sa.Column('token_id', sa.String(length=128), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_id', name=op.f('pk_revoked_token'))
    )
    op.create_table('apology',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('original_appointment_date', sa.Date(), nullable=False),
    sa.Column('new_appointment_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], name=op.f('fk_apology_dossier_code_dossier')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_apology')),
    sa.UniqueConstraint('dossier_code', 'original_appointment_date',
                        name=op.f('uq_apology_dossier_code_original_appointment_date'))
    )
    op.create_table('sweep_run',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_sweep_run'))
    )


def downgrade() -> None:
    op.drop_table('sweep_run')
    op.drop_table('apology')
    op.drop_table('revoked_token')
    op.drop_index(op.f('ix_dossier_access_agency_code'), table_name='dossier_access')
    op.drop_table('dossier_access')
    op.drop_index(op.f('ix_dossier_state_appointment_date'), table_name='dossier')
    sqlite = _sqlite_rebuilds_dossier()
    with op.batch_alter_table('dossier') as batch_op:
        for column in ('overdue_since', 'result_document', 'legal_due_date', 'step_due_date', 'step_role',
                       'step_index', 'workflow'):
            batch_op.drop_column(column)
    if sqlite:
        _check_foreign_keys()
