"""The outbox relay: publishes committed events to RabbitMQ with publisher confirms.

It wakes when a unit of work in this process commits an event, and also polls, so an
event committed by a process that died before publishing is still sent. On PostgreSQL
several replicas share the outbox through `FOR UPDATE SKIP LOCKED`; a row is marked
published only after the broker confirmed it, so a crash in between publishes it again
(consumers de-duplicate on event_id).
"""
from __future__ import annotations

import json
import logging

import sqlalchemy as sa
from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT

from motcua.db import OUTBOX, utcnow

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, engine: sa.Engine, metadata: sa.MetaData, amqp_uri: str, batch_size: int = 200):
        self.engine = engine
        self.table = metadata.tables[OUTBOX]
        self.batch_size = batch_size
        self.publisher = Publisher(amqp_uri, use_confirms=True, serializer="json", delivery_mode=PERSISTENT)
        self._declared: set[str] = set()

    def _exchange(self, name: str) -> Exchange:
        # Same declaration as nameko's own event dispatcher, so the two never disagree.
        return Exchange(name, type="topic", durable=True, delivery_mode=PERSISTENT, auto_delete=False)

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(self.table).where(self.table.c.published_at.is_(None))
            ).scalar_one()

    def relay_once(self) -> int:
        """Publish one batch and mark it published; returns how many rows it took."""
        outbox = self.table
        query = (sa.select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq)
                 .limit(self.batch_size))
        if self.engine.dialect.name == "postgresql":
            # The row locks keep other replicas' relays off this batch until it is marked.
            with self.engine.begin() as conn:
                rows = conn.execute(query.with_for_update(skip_locked=True)).mappings().all()
                self._publish(rows)
                self._mark(conn, rows)
        else:
            # SQLite has a single writer, and waiting for it blocks the eventlet hub: never
            # hold it across network I/O. Only this process writes this file's outbox.
            with self.engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
            self._publish(rows)
            with self.engine.begin() as conn:
                self._mark(conn, rows)
        return len(rows)

    def _publish(self, rows) -> None:
        for row in rows:
            exchange = self._exchange(row["exchange"])
            declare = [] if row["exchange"] in self._declared else [exchange]
            self.publisher.publish(
                json.loads(row["body"]),
                exchange=exchange,
                routing_key=row["routing_key"],
                headers=json.loads(row["headers"]),
                message_id=row["event_id"],
                declare=declare,
            )
            self._declared.add(row["exchange"])

    def _mark(self, conn, rows) -> None:
        if rows:
            conn.execute(self.table.update().where(self.table.c.seq.in_([r["seq"] for r in rows]))
                         .values(published_at=utcnow()))

    def relay_all(self) -> int:
        total = 0
        while True:
            count = self.relay_once()
            total += count
            if count < self.batch_size:
                return total
