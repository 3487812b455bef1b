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
from datetime import timezone

import sqlalchemy as sa
from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT

from motcua.db import OUTBOX, TimeSource, utcnow

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(self, engine: sa.Engine, metadata: sa.MetaData, amqp_uri: str, batch_size: int = 200,
                 clock: TimeSource = utcnow):
        self.engine = engine
        self.table = metadata.tables[OUTBOX]
        self.batch_size = batch_size
        self.clock = clock
        self.publisher = Publisher(amqp_uri, use_confirms=True, serializer="json", delivery_mode=PERSISTENT)
        self._declared: set[str] = set()

    def _exchange(self, name: str) -> Exchange:
        # Same declaration as nameko's own event dispatcher, so the two never disagree.
        return Exchange(name, type="topic", durable=True, delivery_mode=PERSISTENT, auto_delete=False)

    def backlog(self) -> tuple[int, float]:
        """(events committed and not yet published, seconds the oldest of them has waited: 0 with none)."""
        outbox = self.table
        unpublished = outbox.c.published_at.is_(None)
        with self.engine.connect() as conn:
            pending = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(unpublished)).scalar_one()
            # The first by seq on the (published_at, seq) index: one row read, however long the backlog.
            oldest = conn.execute(sa.select(outbox.c.created_at).where(unpublished).order_by(outbox.c.seq)
                                  .limit(1)).scalar()
        if oldest is None:
            return pending, 0.0
        if oldest.tzinfo is None:  # SQLite keeps no offset; the outbox writes UTC
            oldest = oldest.replace(tzinfo=timezone.utc)
        # Never negative: the event may come from a replica whose clock runs a little ahead of this one.
        return pending, max(0.0, (self.clock() - oldest).total_seconds())

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
            body = json.loads(row["body"])
            self.publisher.publish(
                body,
                exchange=exchange,
                routing_key=row["routing_key"],
                headers=json.loads(row["headers"]),
                message_id=row["event_id"],
                # The writer's id, as in the envelope and nameko's header: also where any AMQP client looks.
                correlation_id=body.get("correlation_id"),
                declare=declare,
            )
            self._declared.add(row["exchange"])

    def _mark(self, conn, rows) -> None:
        if rows:
            conn.execute(self.table.update().where(self.table.c.seq.in_([r["seq"] for r in rows]))
                         .values(published_at=self.clock()))

    def relay_all(self) -> int:
        total = 0
        while True:
            count = self.relay_once()
            total += count
            if count < self.batch_size:
                return total
