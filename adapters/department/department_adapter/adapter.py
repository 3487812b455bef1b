"""The adapter's loop: consume the department's queue, hand items over, publish decisions, then acknowledge.

A work item stays unacknowledged while its decision is pending, so RabbitMQ keeps it
for us: if the connection drops, or the process dies, it is delivered again. It is
acknowledged only after its decision was confirmed by the broker and written to the
journal, so no decision is lost, and a decision is never published under two ids.

Every log line about a message carries its `correlation_id`, and the command answering a work item
carries the item's: the request that put the work on the department's queue is followed through
the department's decision and back into status with one id.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import pika
from pika.exceptions import AMQPChannelError, AMQPConnectionError, AMQPError, NackError, UnroutableError

from department_adapter.config import Config
from department_adapter.handlers import Handler
from department_adapter.journal import Journal
from department_adapter.messages import (
    WORK_ITEM, InvalidDecision, Malformed, build_command, command_envelope, parse_incoming,
)
from motcua_contracts.departments import COMMANDS_EXCHANGE, command_routing_key, department_queue

log = logging.getLogger("department_adapter")

UNHANDED, WAITING, JOURNALLED = "unhanded", "waiting", "journalled"


@dataclass
class Held:
    """A delivery this adapter has not acknowledged yet."""

    envelope: dict
    tags: list[int]
    state: str = UNHANDED  # UNHANDED: the handler has yet to take it; JOURNALLED: already decided, to publish again

    @property
    def event_id(self) -> str:
        return self.envelope["event_id"]

    @property
    def is_work_item(self) -> bool:
        return self.envelope["event_type"] == WORK_ITEM

    @property
    def dossier_code(self) -> str | None:
        return self.envelope["data"].get("dossier_code")


@dataclass
class Backoff:
    first: float = 1.0
    most: float = 30.0
    current: float = field(init=False, default=0.0)

    def reset(self) -> None:
        self.current = 0.0

    def next(self) -> float:
        self.current = min(self.most, self.current * 2) if self.current else self.first
        return self.current


class Adapter:
    def __init__(self, config: Config, handler: Handler, journal: Journal | None = None,
                 backoff: Backoff | None = None):
        self.config = config
        self.handler = handler
        self.journal = journal or Journal(config.journal_path)
        self.backoff = backoff or Backoff()
        self.queue = department_queue(config.agency_code)
        self._stopping = threading.Event()
        self._held: dict[str, Held] = {}
        self._inbound: deque = deque()
        self._channel = None

    def stop(self) -> None:
        """Safe from a signal handler or another thread: the loop notices within half a second."""
        self._stopping.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            connection = None
            try:
                connection = pika.BlockingConnection(self._parameters())
                self._consume(connection)
                self._serve(connection)
            except (AMQPConnectionError, AMQPChannelError) as exc:
                delay = self.backoff.next()
                log.warning("not connected to RabbitMQ; unacknowledged items will be delivered again",
                            extra={"error": repr(exc), "retry_in": delay, "queue": self.queue})
                self._stopping.wait(delay)
            finally:
                # Delivery tags die with the channel: whatever was held comes back as new deliveries.
                self._held.clear()
                self._inbound.clear()
                self._channel = None
                if connection is not None and connection.is_open:
                    try:
                        connection.close()
                    except AMQPError:
                        pass  # already going: the broker requeues its unacknowledged deliveries either way
        log.info("stopped", extra={"queue": self.queue})

    def _parameters(self) -> pika.URLParameters:
        parameters = pika.URLParameters(self.config.amqp_uri)
        parameters.client_properties = {"connection_name": f"motcua-department-adapter {self.config.agency_code}"}
        # Without it a broker blocking publishers (memory alarm) would hang a publish forever.
        parameters.blocked_connection_timeout = parameters.blocked_connection_timeout or 60
        return parameters

    def _consume(self, connection: pika.BlockingConnection) -> None:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_qos(prefetch_count=self.config.prefetch)
        # Consuming declares nothing: the queue is the operator's (python -m motcua.departments add).
        channel.basic_consume(self.queue, lambda _ch, method, properties, body: self._inbound.append((method, body)))
        self._channel = channel
        self.backoff.reset()
        log.info("consuming", extra={"queue": self.queue, "prefetch": self.config.prefetch})

    def _serve(self, connection: pika.BlockingConnection) -> None:
        next_poll = 0.0
        while not self._stopping.is_set():
            connection.process_data_events(time_limit=0.5)
            # Handled here rather than in pika's callback: handlers may block (HTTP) and publish.
            while self._inbound and not self._stopping.is_set():
                self._receive(*self._inbound.popleft())
            if time.monotonic() >= next_poll:
                self._poll()
                next_poll = time.monotonic() + self.config.poll_interval

    def _receive(self, method, body: bytes) -> None:
        try:
            envelope = parse_incoming(body, self.config.agency_code)
        except Malformed as exc:
            # Rejected without requeue (dead-lettered if the operator's policy says where), or it would block the queue.
            log.error("malformed message rejected", extra={
                "queue": self.queue, "routing_key": method.routing_key, "error": str(exc),
                "correlation_id": correlation_id_of(body), "body": body[:500].decode("utf-8", "replace")})
            self._channel.basic_reject(method.delivery_tag, requeue=False)
            return
        held = self._held.get(envelope["event_id"])
        if held is not None:
            # The same event published twice (status's relay may): settled together with the first.
            held.tags.append(method.delivery_tag)
            return
        held = self._held[envelope["event_id"]] = Held(envelope, [method.delivery_tag])
        if held.is_work_item:
            log.info("work item received", extra=self._ids(held, item_type=envelope["data"]["item_type"],
                                                           redelivered=method.redelivered))
            if self.journal.get(held.event_id) is not None:
                held.state = JOURNALLED
                self._publish_again(held)
                return
        self._hand(held)

    def _hand(self, held: Held) -> None:
        try:
            if not held.is_work_item:
                self.handler.on_outcome(held.envelope)
                self._ack(held)
                log.info("command outcome handed over", extra=self._ids(held, outcome=held.envelope["data"]["outcome"]))
                return
            decision = self.handler.handle(held.envelope)
        except Exception as exc:
            held.state = UNHANDED
            log.warning("handler failed; offered again at the next poll",
                        extra=self._ids(held, error=repr(exc)), exc_info=not isinstance(exc, OSError))
            return
        held.state = WAITING
        if decision is not None:
            self._decide(decision, held.event_id)

    def _poll(self) -> None:
        for held in list(self._held.values()):
            if held.state == UNHANDED:
                self._hand(held)
            elif held.state == JOURNALLED:
                self._publish_again(held)
        waiting = {event_id: held.envelope for event_id, held in self._held.items() if held.state == WAITING}
        if not waiting:
            return
        decisions = iter(self.handler.decisions(waiting))
        while True:
            # Only the handler's own failures are caught here; the broker's end this connection in run().
            try:
                decision, ref = next(decisions)
            except StopIteration:
                return
            except Exception as exc:
                log.warning("handler could not give its decisions; asked again at the next poll",
                            extra={"error": repr(exc)})
                return
            self._decide(decision, ref)

    def _decide(self, decision: dict, ref: str) -> None:
        """Publish the decision on `ref` (an item's event id, or a dossier code for all its waiting items)."""
        waiting = [held for held in self._held.values() if held.state == WAITING]
        items = [held for held in waiting if held.event_id == ref] or [
            held for held in waiting if held.dossier_code == ref]
        if not items:
            return  # answered already, earlier in this poll
        newest = max(items, key=lambda held: (held.envelope["data"]["version"], held.envelope["data"]["occurred_at"]))
        envelopes = [held.envelope for held in items]
        try:
            command = build_command(decision, newest.envelope, self.config.agency_code)
        except InvalidDecision as exc:
            log.error("decision refused: it breaks the contract", extra=self._ids(newest, ref=ref, errors=exc.messages))
            self._tell_handler(self.handler.refused, ref, envelopes, exc.messages)
            return
        envelope = command_envelope(command, newest.envelope["correlation_id"])
        routing_key = command_routing_key(self.config.agency_code, command["action"])
        if not self._publish(routing_key, envelope, newest):
            return
        self.journal.record([held.event_id for held in items], ref, routing_key, envelope)
        self._tell_handler(self.handler.published, ref, envelopes, command)
        for held in items:
            self._ack(held)
        log.info("decision published", extra=self._ids(newest, command_id=command["command_id"],
                                                        action=command["action"], routing_key=routing_key,
                                                        items=len(items)))

    def _publish_again(self, held: Held) -> None:
        """An item whose decision the broker confirmed before its ack was lost: the same command goes out again."""
        entry = self.journal.get(held.event_id)
        if not self._publish(entry["routing_key"], entry["envelope"], held):
            return
        self._tell_handler(self.handler.published, entry["ref"], [held.envelope], entry["envelope"]["data"])
        self._ack(held)
        log.info("decision already confirmed (journal); published again with the same command_id",
                 extra=self._ids(held, command_id=entry["command_id"], routing_key=entry["routing_key"]))

    def _publish(self, routing_key: str, envelope: dict, held: Held) -> bool:
        """True once the broker confirmed; False (logged) if it refused, to try again at the next poll."""
        properties = pika.BasicProperties(
            content_type="application/json", content_encoding="utf-8", delivery_mode=pika.DeliveryMode.Persistent,
            message_id=envelope["event_id"], correlation_id=envelope["correlation_id"], type=envelope["event_type"],
            # The header the services carry a correlation id in, so status's logs join the department's.
            headers={"nameko.correlation_id": envelope["correlation_id"]})
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        try:
            # mandatory: with no queue bound (status not deployed) a confirm alone would report success.
            self._channel.basic_publish(COMMANDS_EXCHANGE, routing_key, body, properties, mandatory=True)
        except (UnroutableError, NackError) as exc:
            log.error("decision not taken by RabbitMQ; published again at the next poll",
                      extra=self._ids(held, command_id=envelope["data"]["command_id"], routing_key=routing_key,
                                      error=repr(exc)))
            return False
        return True

    def _ack(self, held: Held) -> None:
        for tag in held.tags:
            self._channel.basic_ack(tag)
        del self._held[held.event_id]

    def _tell_handler(self, method, ref: str, items: list[dict], detail: dict) -> None:
        # The broker has the decision (or it was refused) whatever the handler makes of this: never undo that.
        try:
            method(ref, items, detail)
        except Exception:
            log.exception("handler failed to note a settled decision", extra={"ref": ref})

    @staticmethod
    def _ids(held: Held, **more) -> dict:
        return {"dossier_code": held.dossier_code, "correlation_id": held.envelope["correlation_id"],
                "event_id": held.event_id, "command_id": held.envelope["data"].get("command_id"), **more}


def correlation_id_of(body: bytes) -> str | None:
    """The correlation id of a message that is off the contract, when it has one, for its log line."""
    try:
        found = json.loads(body).get("correlation_id")
    except (ValueError, AttributeError):
        return None
    return found[:64] if isinstance(found, str) else None
