"""Database access for every service: engine, unit of work and the messaging tables.

A unit of work is one transaction. Whatever a handler changes and the events it
records (outbox) and the messages it has consumed (inbox) commit together or not at
all, so no event is published for a change that did not commit and no change commits
whose event could be lost.
"""
from __future__ import annotations

import functools
import json
import logging
import threading
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Callable, Protocol

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from motcua.envelope import make_envelope
from motcua_contracts.events import event_version

log = logging.getLogger(__name__)

_green_patch_lock = threading.Lock()
_green_patched = False

OUTBOX = "outbox_message"
INBOX = "processed_message"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _patch_psycopg_for_eventlet() -> None:
    # Without this, every query blocks the whole eventlet hub: concurrent workers queue.
    global _green_patched
    with _green_patch_lock:
        if _green_patched:
            return
        try:
            import eventlet.patcher

            if eventlet.patcher.is_monkey_patched("socket"):
                from psycogreen.eventlet import patch_psycopg

                patch_psycopg()
                _green_patched = True
        except ImportError:
            pass


def make_engine(url: str, pool_size: int = 10) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection per process: greenthreads then queue on the pool's green lock instead
        # of in SQLite's busy handler, which sleeps in C and would freeze the whole hub.
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  poolclass=sa.pool.QueuePool, pool_size=1, max_overflow=0, pool_timeout=60)

        @sa_event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # WAL lets readers run while the relay or a worker writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    _patch_psycopg_for_eventlet()
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_after_idle(engine)
    return engine


# A connection back from the pool after this long unused is tried before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_after_idle(engine: sa.Engine) -> None:
    """SQLAlchemy's pessimistic disconnect handling, for connections that sat in the pool: pool_pre_ping tries
    every checkout, a round trip per transaction (a twentieth of a busy service's time, issue 15). One used a
    moment ago is used as it is: should the server have gone meanwhile, its first statement fails, SQLAlchemy
    then replaces every connection of the pool, and the message is retried or the caller answered 503."""

    @sa_event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()

    @sa_event.listens_for(engine, "checkout")
    def _try_if_idle(dbapi_connection, record, proxy):
        if time.monotonic() - record.info.get("returned_at", float("-inf")) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            if not engine.dialect.do_ping(dbapi_connection):
                raise sa.exc.DisconnectionError("the database did not answer a ping")
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another (three tries).
            raise sa.exc.DisconnectionError(str(exc)) from exc


# Named constraints so a service's migrations name them the same on PostgreSQL and SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> sa.MetaData:
    """A service's metadata: the naming convention, with the outbox and inbox declared on it."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    add_messaging_tables(metadata)
    return metadata


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


def add_messaging_tables(metadata: sa.MetaData) -> None:
    """Declare the outbox and inbox on a service's own metadata (and so in its migrations)."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    sa.Table(
        OUTBOX,
        metadata,
        sa.Column("seq", big_id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("exchange", sa.String(200), nullable=False),
        sa.Column("routing_key", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("headers", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Index("ix_outbox_message_unpublished", "published_at", "seq"),
    )
    sa.Table(
        INBOX,
        metadata,
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


class UnitOfWork:
    """`with db.unit_of_work() as uow: ...; uow.commit()`: rolls back unless committed."""

    def __init__(
        self,
        session_factory: sessionmaker,
        metadata: sa.MetaData,
        producer: str,
        correlation_id: str | None,
        on_commit: Callable[[], None] | None = None,
    ):
        self._session_factory = session_factory
        self._outbox = metadata.tables[OUTBOX]
        self._inbox = metadata.tables[INBOX]
        self.producer = producer
        self.correlation_id = correlation_id
        self._on_commit = on_commit
        self._recorded = 0
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
        if self._recorded and self._on_commit:
            self._on_commit()
        self._recorded = 0

    def rollback(self) -> None:
        self.session.rollback()
        self._recorded = 0

    def record_event(self, event_type: str, data: dict, dossier_code: str | None = None) -> dict:
        """Stage an event in the outbox; the relay publishes it to `<producer>.events` once this unit commits."""
        return self.record_message(f"{self.producer}.events", event_type, event_type, data, dossier_code)

    def record_message(self, exchange: str, routing_key: str, event_type: str, data: dict,
                       dossier_code: str | None = None) -> dict:
        """Stage a message for another exchange than the service's events (a department's work item)."""
        envelope = make_envelope(
            event_type=event_type,
            producer=self.producer,
            data=data,
            dossier_code=dossier_code,
            correlation_id=self.correlation_id,
            schema_version=event_version(self.producer, event_type),
        )
        headers = {"nameko.correlation_id": envelope["correlation_id"]}
        self.session.execute(_insert(self._outbox), {
            "event_id": envelope["event_id"],
            "exchange": exchange,
            "routing_key": routing_key,
            "body": json.dumps(envelope, ensure_ascii=False),
            "headers": json.dumps(headers),
            "created_at": utcnow(),
        })
        self._recorded += 1
        return envelope

    def claim_message(self, consumer: str, message_id: str) -> bool:
        """Record that `consumer` handles `message_id` in this unit; False if it already did.

        The row commits with the handler's effect, so a redelivered message finds it and
        changes nothing the second time.
        """
        return insert_new(self.session, self._inbox,
                          {"consumer": consumer, "message_id": message_id, "processed_at": utcnow()})


class Db(Protocol):
    """What a use case needs of its service's database: a unit of work per transaction (a service's
    motcua.dependencies.Database, or tests.support.LocalDatabase in a unit test)."""

    def unit_of_work(self) -> UnitOfWork: ...


# What a use case takes as its clock: "now", an aware UTC datetime (motcua.dependencies.Clock in a service).
TimeSource = Callable[[], datetime]


def procedure_in_force(table: sa.Table, day: date) -> sa.ColumnElement[bool]:
    """motcua.procedures.in_force in SQL, on a table with status, valid_from and valid_to columns."""
    return sa.and_(table.c.status == "published", table.c.valid_from <= day,
                   sa.or_(table.c.valid_to.is_(None), table.c.valid_to > day))


# The statements are built once and their values sent as parameters: SQLAlchemy then finds them in its
# compiled cache without walking the values each time (a tenth of a busy handler's time, issue 15).
@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    return table.insert()


DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def dialect_insert(session: Session, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite spell it the same)."""
    return DIALECT_INSERT[session.get_bind().dialect.name](table)


@functools.cache
def _insert_if_new(dialect: str, table: sa.Table) -> sa.Insert:
    return DIALECT_INSERT[dialect](table).on_conflict_do_nothing()


def insert_new(session: Session, table: sa.Table, values: Mapping[str, Any]) -> bool:
    """Insert a row; False if a unique key of it exists already, when nothing changes and the transaction
    goes on. One statement (`ON CONFLICT DO NOTHING`), which also waits out a concurrent twin's transaction
    and yields to it if it commits."""
    return session.execute(_insert_if_new(session.get_bind().dialect.name, table), dict(values)).rowcount == 1


def new_correlation_id() -> str:
    return uuid.uuid4().hex
