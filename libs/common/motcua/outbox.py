"""The outbox relay: publishes committed events to RabbitMQ with publisher confirms.

It wakes when a unit of work in this process commits an event, and also polls, so an
event committed by a process that died before publishing is still sent. On PostgreSQL
several replicas share the outbox through `FOR UPDATE SKIP LOCKED`; a row is marked
published only after the broker confirmed it, so a crash in between publishes it again
(consumers de-duplicate on event_id).

A batch is published whole and then its confirms are awaited once (`ConfirmedBatchPublisher`):
waiting for each message's confirm before the next caps a publisher near 800 messages/s on
these machines (docs/stack-notes.md), while the broker takes ten times that.
"""
from __future__ import annotations

import json
import logging
import socket
import time
from datetime import timezone

import sqlalchemy as sa
from kombu import Connection, Exchange
from nameko.constants import PERSISTENT

from motcua.db import OUTBOX, TimeSource, utcnow

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT_SECONDS = 30.0


class PublishNotConfirmed(Exception):
    """The broker refused (nacked) a message of the batch, or did not confirm it in time: the batch's rows
    stay unpublished and go out again on a later pass."""


class ConfirmedBatchPublisher:
    """Persistent messages on one channel in confirm mode: `publish_batch` sends every message, then waits
    until the broker has confirmed them all (RabbitMQ acknowledges ranges with `multiple`).

    The connection is kept between batches and dropped on any failure; the next batch opens a new one.
    A batch that failed part-way is published again whole, which consumers tolerate (they de-duplicate)."""

    def __init__(self, amqp_uri: str, confirm_timeout: float = CONFIRM_TIMEOUT_SECONDS):
        self.amqp_uri = amqp_uri
        self.confirm_timeout = confirm_timeout
        self._connection: Connection | None = None
        self._channel = None
        self._declared: set[str] = set()
        self._sent = 0  # the channel's last delivery tag
        self._confirmed = 0  # every tag up to this one is acknowledged
        self._refused = False

    def _open(self):
        if self._channel is None:
            self._connection = Connection(self.amqp_uri, connect_timeout=10)
            channel = self._connection.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._channel, self._sent, self._confirmed, self._refused = channel, 0, 0, False
            self._declared = set()
        return self._channel

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        # Confirms arrive in order on one channel: a single ack also means every earlier tag was settled.
        self._confirmed = max(self._confirmed, delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._refused = True
        self._confirmed = max(self._confirmed, delivery_tag)

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - it is being dropped because it failed
                log.debug("closing a failed relay connection", exc_info=True)

    def publish_batch(self, messages: list[dict]) -> None:
        """Each message: exchange (a topic exchange, declared once per connection), routing_key, body (the JSON
        text as stored), headers, message_id, correlation_id. Returns once the broker confirmed all of them."""
        if not messages:
            return
        try:
            channel = self._open()
            for message in messages:
                self._send(channel, message)
            self._await_confirms()
        except Exception:
            self.close()
            raise

    def _send(self, channel, message: dict) -> None:
        if message["exchange"] not in self._declared:
            # Same declaration as nameko's own event dispatcher, so the two never disagree.
            Exchange(message["exchange"], type="topic", durable=True, delivery_mode=PERSISTENT,
                     auto_delete=False)(channel).declare()
            self._declared.add(message["exchange"])
        properties = {"delivery_mode": PERSISTENT, "message_id": message["message_id"]}
        if message.get("correlation_id"):
            properties["correlation_id"] = message["correlation_id"]
        # The stored JSON text goes out as it is: no decode and encode again per message.
        amqp_message = channel.prepare_message(message["body"].encode(), content_type="application/json",
                                               content_encoding="utf-8", headers=message["headers"],
                                               properties=properties)
        channel.basic_publish(amqp_message, exchange=message["exchange"], routing_key=message["routing_key"])
        self._sent += 1

    def _await_confirms(self) -> None:
        deadline = time.monotonic() + self.confirm_timeout
        while self._confirmed < self._sent:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishNotConfirmed(f"{self._sent - self._confirmed} messages not confirmed "
                                          f"within {self.confirm_timeout:.0f} s")
            try:
                self._connection.drain_events(timeout=remaining)
            except socket.timeout:
                continue
        if self._refused:
            raise PublishNotConfirmed("the broker refused (nacked) a message of the batch")


class OutboxRelay:
    def __init__(self, engine: sa.Engine, metadata: sa.MetaData, amqp_uri: str, batch_size: int = 200,
                 clock: TimeSource = utcnow):
        self.engine = engine
        self.table = metadata.tables[OUTBOX]
        self.batch_size = batch_size
        self.clock = clock
        self.publisher = ConfirmedBatchPublisher(amqp_uri)

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
        headers = [json.loads(row["headers"]) for row in rows]
        self.publisher.publish_batch([{
            "exchange": row["exchange"],
            "routing_key": row["routing_key"],
            "body": row["body"],
            "headers": row_headers,
            "message_id": row["event_id"],
            # The writer's id, as in the envelope and nameko's header: also where any AMQP client looks.
            "correlation_id": row_headers.get("nameko.correlation_id"),
        } for row, row_headers in zip(rows, headers)])

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
