"""initial

Revision ID: 466b3ac4a9c3
Revises: 
Create Date: 2026-11-25 22:49:01.247656
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '466b3ac4a9c3'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('command_outcome',
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('idempotency_key', name=op.f('pk_command_outcome'))
    )
    op.create_table('dossier',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('procedure_code', sa.String(length=64), nullable=False),
    sa.Column('procedure_name', sa.Text(), nullable=False),
    sa.Column('procedure_version', sa.Integer(), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('holder_agency_code', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('return_method', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tracking_key_hash', sa.String(length=64), nullable=False),
    sa.Column('applicant_given_name', sa.String(length=100), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appointment_date', sa.Date(), nullable=False),
    sa.Column('time_limit_working_days', sa.Numeric(precision=7, scale=2), nullable=False),
    sa.Column('cutoff_hour', sa.Time(), nullable=False),
    sa.Column('assignee', sa.String(length=128), nullable=True),
    sa.Column('supplement_requests', sa.Integer(), nullable=False),
    sa.Column('counted_overdue', sa.Boolean(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_dossier'))
    )
    op.create_index(op.f('ix_dossier_holder_agency_code_state_appointment_date'), 'dossier',
                    ['holder_agency_code', 'state', 'appointment_date'], unique=False)

    op.create_table('outbox_message',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=36), nullable=False),
    sa.Column('exchange', sa.String(length=200), nullable=False),
    sa.Column('routing_key', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_message_event_id'))
    )
    op.create_index('ix_outbox_message_unpublished', 'outbox_message', ['published_at', 'seq'], unique=False)

    op.create_table('processed_message',
    sa.Column('consumer', sa.String(length=200), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('consumer', 'message_id', name=op.f('pk_processed_message'))
    )
    op.create_table('clock_pause',
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], name=op.f('fk_clock_pause_dossier_code_dossier')),
    sa.PrimaryKeyConstraint('dossier_code', 'seq', name=op.f('pk_clock_pause'))
    )
    op.create_table('dossier_history',
    sa.Column('dossier_code', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=True),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('agency_code', sa.String(length=20), nullable=False),
    sa.Column('actor_kind', sa.String(length=24), nullable=False),
    sa.Column('actor_id', sa.String(length=128), nullable=True),
    sa.Column('actor_agency_code', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_code'], ['dossier.code'], name=op.f('fk_dossier_history_dossier_code_dossier')),
    sa.PrimaryKeyConstraint('dossier_code', 'seq', name=op.f('pk_dossier_history'))
    )
    _history_append_only()


def _history_append_only() -> None:
    # The history is the audit trail: the database itself refuses to change or remove a row.
    if op.get_context().dialect.name == 'postgresql':
        op.execute("CREATE FUNCTION dossier_history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                   "$$ BEGIN RAISE EXCEPTION 'dossier_history is append-only'; END $$")
        op.execute("CREATE TRIGGER dossier_history_append_only BEFORE UPDATE OR DELETE ON dossier_history "
                   "FOR EACH ROW EXECUTE FUNCTION dossier_history_append_only()")
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER dossier_history_no_{verb.lower()} BEFORE {verb} ON dossier_history "
                       "BEGIN SELECT RAISE(ABORT, 'dossier_history is append-only'); END")


def downgrade() -> None:
    op.drop_table('dossier_history')  # drops its triggers too
    if op.get_context().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION dossier_history_append_only()")
    op.drop_table('clock_pause')
    op.drop_table('processed_message')
    op.drop_index('ix_outbox_message_unpublished', table_name='outbox_message')
    op.drop_table('outbox_message')
    op.drop_index(op.f('ix_dossier_holder_agency_code_state_appointment_date'), table_name='dossier')
    op.drop_table('dossier')
    op.drop_table('command_outcome')
