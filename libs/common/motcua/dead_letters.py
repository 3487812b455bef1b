"""The operator's dead-letter command: list a service's parked messages, replay or discard them.

    python -m motcua.dead_letters list    <service> [--json]
    python -m motcua.dead_letters replay  <service> (--id ID ... | --all)
    python -m motcua.dead_letters discard <service> (--id ID ... | --all) --reason TEXT

A parked message carries its error and original routing in headers (`motcua.messaging`).
Replay publishes it, with publisher confirms, to the queue of the handler that failed (not
to the exchange, which would hand it to every other consumer a second time) with its retry
count reset, and only then removes it from the dead letters: a crash in between leaves a
copy in both places, which the handler's idempotency absorbs. Discard logs the reason with
the message's id, event id and dossier code. Plain pika, so it runs where nameko does not. The
broker is AMQP_URI, read as the services read it and named on stderr before anything is done.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import pika
from pika.exceptions import UnroutableError

from motcua.config import command_broker
from motcua.logs import configure_logging, dossier_context
from motcua.messaging import ATTEMPT_HEADER, dead_letter_queue_name, queue_arguments

log = logging.getLogger("motcua.dead_letters")

# Headers the failure added: dropped on replay so the message starts its retries afresh.
FAILURE_HEADERS = (ATTEMPT_HEADER, "x-motcua-last-error", "x-motcua-error", "x-motcua-attempts",
                   "x-motcua-failed-at", "x-motcua-original-queue")


@dataclass(frozen=True)
class DeadLetter:
    id: str  # stable for one parked message: a digest of its body and failure
    error: str
    attempts: int
    original_queue: str
    original_exchange: str
    original_routing_key: str
    failed_at: str
    event_id: str | None
    event_type: str | None
    dossier_code: str | None
    size_bytes: int


def describe(body: bytes, headers: dict | None) -> DeadLetter:
    headers = headers or {}
    try:
        envelope = json.loads(body)
        envelope = envelope if isinstance(envelope, dict) else {}
    except ValueError:
        envelope = {}
    digest = hashlib.sha256(body + str(headers.get("x-motcua-failed-at", "")).encode()
                            + str(headers.get("x-motcua-original-queue", "")).encode()).hexdigest()

    def text(value) -> str | None:
        return value if isinstance(value, str) else None

    return DeadLetter(
        id=digest[:16], error=str(headers.get("x-motcua-error", "")), attempts=int(headers.get("x-motcua-attempts", 0)),
        original_queue=str(headers.get("x-motcua-original-queue", "")),
        original_exchange=str(headers.get("x-motcua-original-exchange", "")),
        original_routing_key=str(headers.get("x-motcua-original-routing-key", "")),
        failed_at=str(headers.get("x-motcua-failed-at", "")), event_id=text(envelope.get("event_id")),
        event_type=text(envelope.get("event_type")), dossier_code=text(envelope.get("dossier_code")),
        size_bytes=len(body),
    )


class DeadLetters:
    """One service's dead-letter queue, over a blocking pika connection."""

    def __init__(self, uri: str, service: str):
        self.uri, self.queue = uri, dead_letter_queue_name(service)

    @contextmanager
    def _channel(self) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
        connection = pika.BlockingConnection(pika.URLParameters(self.uri))
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            # Declared as the services declare it: a service that never parked anything has none yet.
            channel.queue_declare(self.queue, durable=True, arguments=queue_arguments())
            yield channel
        finally:
            if connection.is_open:
                connection.close()  # anything fetched and not acknowledged goes back to the queue

    def _fetch(self, channel) -> Iterator[tuple[int, pika.BasicProperties, bytes]]:
        """Every message parked right now, each once (held unacknowledged until the channel closes)."""
        depth = channel.queue_declare(self.queue, passive=True).method.message_count
        for _ in range(depth):
            method, properties, body = channel.basic_get(self.queue, auto_ack=False)
            if method is None:
                return
            yield method.delivery_tag, properties, body

    def size(self) -> int:
        with self._channel() as channel:
            return channel.queue_declare(self.queue, passive=True).method.message_count

    def list(self) -> list[DeadLetter]:
        with self._channel() as channel:
            return [describe(body, properties.headers) for _, properties, body in self._fetch(channel)]

    def _chosen(self, channel, ids: Iterable[str] | None) -> Iterator[tuple[int, pika.BasicProperties, bytes, DeadLetter]]:
        """The parked messages with these ids (all when `ids` is None), each with its description."""
        wanted = None if ids is None else set(ids)
        for tag, properties, body in list(self._fetch(channel)):
            letter = describe(body, properties.headers)
            if wanted is None or letter.id in wanted:
                yield tag, properties, body, letter

    def replay(self, ids: Iterable[str] | None = None) -> list[DeadLetter]:
        """Send the chosen messages (all when `ids` is None) back to their handler's queue."""
        replayed = []
        with self._channel() as channel:
            for tag, properties, body, letter in self._chosen(channel, ids):
                if not letter.original_queue:
                    log.warning("dead letter %s has no original queue; left parked", letter.id)
                    continue
                headers = {k: v for k, v in (properties.headers or {}).items() if k not in FAILURE_HEADERS}
                try:
                    channel.basic_publish("", letter.original_queue, body, mandatory=True, properties=pika.BasicProperties(
                        content_type=properties.content_type, content_encoding=properties.content_encoding,
                        headers=headers, delivery_mode=pika.DeliveryMode.Persistent,
                        correlation_id=properties.correlation_id, message_id=properties.message_id))
                except UnroutableError:
                    log.error("dead letter %s: queue %s does not exist; left parked", letter.id, letter.original_queue)
                    continue
                channel.basic_ack(tag)
                with dossier_context(letter.dossier_code):
                    log.info("dead letter %s replayed to %s (event %s)", letter.id, letter.original_queue,
                             letter.event_id)
                replayed.append(letter)
        return replayed

    def discard(self, reason: str, ids: Iterable[str] | None = None) -> list[DeadLetter]:
        if not reason.strip():
            raise ValueError("a discard needs a reason")
        discarded = []
        with self._channel() as channel:
            for tag, _, _, letter in self._chosen(channel, ids):
                channel.basic_ack(tag)
                with dossier_context(letter.dossier_code):
                    log.warning("dead letter %s discarded (event %s, error %s): %s", letter.id, letter.event_id,
                                letter.error[:200], reason)
                discarded.append(letter)
        return discarded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.dead_letters", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="the parked messages with their errors")
    listing.add_argument("service")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    for name in ("replay", "discard"):
        command = commands.add_parser(name)
        command.add_argument("service")
        chosen = command.add_mutually_exclusive_group(required=True)
        chosen.add_argument("--id", action="append", dest="ids", help="a dead letter's id (repeatable)")
        chosen.add_argument("--all", action="store_true")
        if name == "discard":
            command.add_argument("--reason", required=True)
    args = parser.parse_args(argv)
    configure_logging("dead-letters")
    letters = DeadLetters(command_broker(parser.prog), args.service)
    ids = None if getattr(args, "all", False) else getattr(args, "ids", None)
    if args.command == "list":
        found = letters.list()
        for letter in found:
            if args.json:
                print(json.dumps(asdict(letter), ensure_ascii=False))
            else:
                print(f"{letter.id}  {letter.failed_at}  {letter.original_queue}  attempts={letter.attempts}  "
                      f"event={letter.event_type or '-'}  dossier={letter.dossier_code or '-'}  {letter.error[:160]}")
        print(f"{len(found)} dead letter(s) in {letters.queue}", file=sys.stderr)
        return 0
    if args.command == "replay":
        done = letters.replay(ids)
    else:
        done = letters.discard(args.reason, ids)
    print(f"{args.command}: {len(done)} message(s)", file=sys.stderr)
    missing = set(ids or ()) - {letter.id for letter in done}
    if missing:
        print(f"not found or left parked: {', '.join(sorted(missing))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
