"""Reliable consumption: retries with backoff through delay queues, then dead letters.

nameko acknowledges and drops a message whose handler raised (docs/stack-notes.md). Here a
failed message is first republished to a delay queue of its own handler (a queue with a
TTL that dead-letters back to the handler's queue) and only then acknowledged; after the
last attempt, or at once for a message that can never succeed (not JSON, off-contract,
`PermanentFailure`), it goes to the service's dead-letter queue with the error and its
original routing, where an operator can replay it.

`event_handler` consumes another service's events; `command_handler` consumes commands sent
from outside (a department's system) on an exchange of their own. Each worker runs under the
correlation id the message carries (`incoming_correlation_id`), so its log lines and the
events it writes join the request that caused them.
"""
from __future__ import annotations

import json
import logging
import traceback
from functools import partial
from datetime import datetime, timezone

from amqp.exceptions import AMQPError
from kombu import Exchange, Queue
from kombu.exceptions import KombuError
from marshmallow import ValidationError
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from nameko.containers import ContainerBeingKilled
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer
from kombu import Connection
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily

from motcua.config import env
from motcua.errors import NotYet, PermanentFailure, marshmallow_fields
from motcua.logs import correlation_context, valid_correlation_id
from motcua_contracts.base import shared
from motcua_contracts.envelope import EnvelopeSchema
from motcua_contracts.events import UnknownEvent, load_event_data

log = logging.getLogger(__name__)

RETRY_DELAYS_SECONDS = (1, 5, 30, 120, 600)
ATTEMPT_HEADER = "x-motcua-attempt"

MESSAGES_RETRIED = Counter("motcua_messages_retried_total", "Messages sent to a delay queue", ["queue"])
MESSAGES_DEAD_LETTERED = Counter("motcua_messages_dead_lettered_total", "Messages parked in a dead-letter queue", ["queue"])


class DeadLetterDepth:
    """`motcua_dead_letters{queue}`: the depth of each dead-letter queue this process's handlers park in,
    read from the broker when Prometheus scrapes (a passive declare), so it is never stale."""

    def __init__(self):
        self.queues: dict[str, str] = {}  # queue name -> AMQP URI

    def describe(self):
        # Its family, named without asking the broker: what the registry reads when this registers.
        return [self._family()]

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("motcua_dead_letters", "Messages waiting in a dead-letter queue", labels=["queue"])

    def collect(self):
        gauge = self._family()
        for name, uri in list(self.queues.items()):
            try:
                with Connection(uri, connect_timeout=2) as conn:
                    depth = conn.default_channel.queue_declare(name, passive=True).message_count
            except Exception as exc:  # noqa: BLE001 - no queue yet (nothing parked) or no broker: say nothing
                if getattr(exc, "code", None) == 404:
                    gauge.add_metric([name], 0)
                continue
            gauge.add_metric([name], depth)
        yield gauge


DEAD_LETTER_DEPTH = DeadLetterDepth()
REGISTRY.register(DEAD_LETTER_DEPTH)


# What a publish or an acknowledgement raises when the broker went away under it (socket, kombu, amqp).
BROKER_LOST = (OSError, KombuError, AMQPError)


def dead_letter_queue_name(service: str) -> str:
    return f"{service}.dead-letters"


def delay_queue_name(queue_name: str, delay: int) -> str:
    return f"{queue_name}.retry-{delay}s"


def original_routing_key(message) -> str:
    """The routing key a message was first published with (a retry comes back by queue name)."""
    return (message.headers or {}).get("x-motcua-original-routing-key") or message.delivery_info.get("routing_key", "")


def incoming_correlation_id(body: object, message) -> str | None:
    """The correlation id a message carries: its envelope's `correlation_id` (the contract), else nameko's
    header (the outbox relay and the department adapter set both), else the AMQP `correlation_id` property
    (what a department's own AMQP client may set); the first that is a valid id (motcua.logs), else None,
    and the worker then starts a new one."""
    candidates = (body.get("correlation_id") if isinstance(body, dict) else None,
                  (message.headers or {}).get("nameko.correlation_id"),
                  (getattr(message, "properties", None) or {}).get("correlation_id"))
    return next((found for found in map(valid_correlation_id, candidates) if found), None)


def _json_object(body: object) -> dict | None:
    """The body as a JSON object when it is one (for its ids in a log line), else None."""
    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return body if isinstance(body, dict) else None


def queue_arguments() -> dict:
    """Classic queues on one node; `MOTCUA_QUEUE_TYPE=quorum` in a cluster."""
    queue_type = env("MOTCUA_QUEUE_TYPE", "classic")
    return {"x-queue-type": queue_type} if queue_type != "classic" else {}


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer (events, commands and RPC share it), but an event or command whose body cannot be
    decoded is parked, not crash-looped, and a broker gone under an acknowledgement does not end the service."""

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            if isinstance(provider, ReliableEventHandler):
                consumer.on_decode_error = partial(self._on_decode_error, provider)
        return consumers

    # nameko catches only amqp's ConnectionError around these; a socket the broker's restart reset raises OSError,
    # which would end the worker's thread and with it the whole service. The message, unacknowledged, comes back
    # after the reconnect, and the handlers' idempotency absorbs the repeat.
    def ack_message(self, message):
        try:
            super().ack_message(message)
        except OSError as exc:
            log.warning("acknowledgement lost with the broker connection (%s); the message comes again", exc)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except OSError as exc:
            log.warning("requeue lost with the broker connection (%s); the message comes again", exc)

    def _on_decode_error(self, provider, message, exc):
        provider._dead_letter(None, message, f"malformed message: {exc}")
        message.ack()


class ReliableEventHandler(EventHandler):
    """An event handler whose method receives the validated envelope (data loaded)."""

    queue_consumer = ReliableQueueConsumer()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("expected_exceptions", NotYet)  # nameko logs these as warnings
        super().__init__(*args, **kwargs)

    def setup(self):
        super().setup()
        self.queue = self.consumed_queue()
        self._publisher = Publisher(self.container.config["AMQP_URI"], use_confirms=True, delivery_mode=PERSISTENT)
        self.retry_delays = tuple(self.container.config.get("RETRY_DELAYS_SECONDS", RETRY_DELAYS_SECONDS))
        self._parked = Queue(dead_letter_queue_name(self.container.service_name), durable=True,
                             queue_arguments=queue_arguments())
        DEAD_LETTER_DEPTH.queues[self._parked.name] = self.container.config["AMQP_URI"]

    def stop(self):
        DEAD_LETTER_DEPTH.queues.pop(self._parked.name, None)
        super().stop()

    def consumed_queue(self) -> Queue:
        """nameko's queue for this event, made durable and of the deployment's queue type."""
        return Queue(self.queue.name, exchange=self.queue.exchange, routing_key=self.queue.routing_key,
                     durable=True, auto_delete=False, queue_arguments=queue_arguments())

    def binding(self, service_name: str, method_name: str) -> tuple[str, str, str]:
        """(queue, exchange, routing key) this handler consumes, as nameko names them: for the broker's definitions."""
        return (f"evt-{self.source_service}-{self.event_type}--{service_name}.{method_name}",
                f"{self.source_service}.events", self.event_type)

    def handle_message(self, body, message):
        try:
            envelope = self._validated(body)
        except (ValidationError, UnknownEvent, ValueError, TypeError) as exc:
            with correlation_context(incoming_correlation_id(_json_object(body), message)):
                self._dead_letter(body, message, f"malformed message: {exc}")
            self.queue_consumer.ack_message(message)
            return
        # The envelope's id, not only nameko's header: a message from any publisher joins its request.
        self._spawn((envelope,), message, {"correlation_id": incoming_correlation_id(envelope, message)})

    def _spawn(self, args: tuple, message, context_data: dict | None = None) -> None:
        context_data = {**self.unpack_message_headers(message), **(context_data or {})}
        try:
            self.container.spawn_worker(self, args, {}, context_data=context_data,
                                        handle_result=partial(self.handle_result, message))
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def _validated(self, body) -> dict:
        if isinstance(body, (bytes, str)):
            body = json.loads(body)
        envelope = shared(EnvelopeSchema).load(body)
        if envelope["event_type"] != self.event_type:
            raise ValueError(f"event_type {envelope['event_type']!r} on a {self.event_type!r} queue")
        envelope["data"] = load_event_data(self.source_service, self.event_type, envelope["data"],
                                           envelope["schema_version"])
        return envelope

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is not None:
            exc = exc_info[1]
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
            try:
                if isinstance(exc, (PermanentFailure, ValidationError)) or attempt > len(self.retry_delays):
                    self._dead_letter(message.body, message, error, attempt)
                else:
                    self._retry(message, attempt, error)
            except BROKER_LOST as lost:
                # Neither in a delay queue nor parked: handed back to the broker to be handled again.
                log.warning("could not set the failed message aside (%s); it comes again", lost,
                            extra={"queue": self.queue.name})
                self.queue_consumer.requeue_message(message)
                return result, exc_info
        # Acknowledged only now: the effect committed, or the message sits in a delay or dead-letter queue.
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _retry(self, message, attempt: int, error: str) -> None:
        delay = self.retry_delays[attempt - 1]
        name = delay_queue_name(self.queue.name, delay)
        delay_queue = Queue(name, exchange=Exchange(""), routing_key=name, durable=True, queue_arguments={
            "x-message-ttl": delay * 1000,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": self.queue.name,
        })
        headers = dict(message.headers or {}, **{ATTEMPT_HEADER: attempt, "x-motcua-last-error": error[:1000]})
        # The delay queue routes the message back by queue name: remember where it first came from.
        headers.setdefault("x-motcua-original-exchange", message.delivery_info.get("exchange", ""))
        headers.setdefault("x-motcua-original-routing-key", message.delivery_info.get("routing_key", ""))
        self._publisher.publish(message.body, exchange=Exchange(""), routing_key=name, headers=headers,
                                declare=[delay_queue], content_type=message.content_type or "application/json",
                                serializer=None)
        MESSAGES_RETRIED.labels(self.queue.name).inc()
        log.warning("message retry %s in %ss: %s", attempt, delay, error, extra={"queue": self.queue.name})

    def _dead_letter(self, body, message, error: str, attempt: int = 1) -> None:
        headers = dict(message.headers or {}, **{
            "x-motcua-error": error[:4000],
            "x-motcua-attempts": attempt,
            "x-motcua-original-queue": self.queue.name,
            "x-motcua-failed-at": datetime.now(timezone.utc).isoformat(),
        })
        headers.setdefault("x-motcua-original-exchange", message.delivery_info.get("exchange", ""))
        headers.setdefault("x-motcua-original-routing-key", message.delivery_info.get("routing_key", ""))
        raw = message.body if isinstance(message.body, (bytes, str)) else json.dumps(body)
        self._publisher.publish(raw, exchange=Exchange(""), routing_key=self._parked.name, headers=headers,
                                declare=[self._parked], content_type=message.content_type or "application/json",
                                serializer=None)
        MESSAGES_DEAD_LETTERED.labels(self.queue.name).inc()
        log.error("message dead-lettered: %s", error, extra={"queue": self.queue.name})


class ReliableCommandHandler(ReliableEventHandler):
    """Commands sent to this service from outside on `exchange` (a topic exchange), consumed from the
    durable queue `queue_name` bound with `routing_key`; their envelope says `producer` and `event_type`.

    The method receives `(envelope, routing_key, errors)`: the routing key the command was
    published with (the sender's identity, which the broker's topic permissions vouch for) and
    `errors` None. A command deserves an answer, so one whose envelope or data is off-contract
    but is a JSON object with a `data` object still reaches the method, undecoded, with its
    field messages in `errors`; the method raises PermanentFailure when it cannot answer it
    (parked at once). Anything else malformed is parked at once, as for an event.
    """

    def __init__(self, exchange: str, queue_name: str, producer: str, event_type: str, routing_key: str = "#",
                 **kwargs):
        self.exchange_name, self.queue_name, self.routing_key = exchange, queue_name, routing_key
        super().__init__(producer, event_type, **kwargs)

    def consumed_queue(self) -> Queue:
        exchange = Exchange(self.exchange_name, type="topic", durable=True, auto_delete=False)
        return Queue(self.queue_name, exchange=exchange, routing_key=self.routing_key, durable=True,
                     auto_delete=False, queue_arguments=queue_arguments())

    def binding(self, service_name: str, method_name: str) -> tuple[str, str, str]:
        return self.queue_name, self.exchange_name, self.routing_key

    def handle_message(self, body, message):
        try:
            envelope, errors = self._checked(body)
        except ValueError as exc:  # not JSON, or no envelope at all: nothing to answer
            with correlation_context(incoming_correlation_id(_json_object(body), message)):
                self._dead_letter(body, message, f"malformed message: {exc}")
            self.queue_consumer.ack_message(message)
            return
        # The answer carries the command's correlation id, an off-contract command's too (when it has a valid
        # one anywhere): the sender's logs and ours join up. A command with none gets a new one.
        context = {"correlation_id": incoming_correlation_id(envelope, message)}
        self._spawn((envelope, original_routing_key(message), errors), message, context)

    def _checked(self, body) -> tuple[dict, dict[str, list[str]] | None]:
        """(envelope with data loaded, None), or (the raw envelope, its field messages) when off-contract."""
        if isinstance(body, (bytes, str)):
            body = json.loads(body)
        if not (isinstance(body, dict) and isinstance(body.get("data"), dict)):
            raise ValueError("not an envelope with a data object")
        errors: dict[str, list[str]] = {}
        try:
            envelope = shared(EnvelopeSchema).load(body)
        except ValidationError as exc:
            envelope, errors = None, marshmallow_fields({"envelope": exc.messages})
        if body.get("event_type") != self.event_type:
            errors.setdefault("envelope.event_type", []).append(f"Expected {self.event_type!r}.")
        try:
            data = load_event_data(self.source_service, self.event_type, body["data"],
                                   envelope["schema_version"] if envelope else 1)
        except ValidationError as exc:
            errors.update(marshmallow_fields(exc.messages))
        if errors:
            return body, errors
        return {**envelope, "data": data}, None


event_handler = ReliableEventHandler.decorator
command_handler = ReliableCommandHandler.decorator
