"""Declare the bus's exchanges, queues and bindings from a definitions file, over AMQP.

    python -m motcua.topology deploy/rabbitmq/definitions.json

The file is RabbitMQ's definitions format (`scripts/rabbitmq_definitions.py` writes it from
the services' handlers). Declaring it before the services start means every handler's queue
exists from the first event on, whatever order the services come up in. It is run by
`make run`, the end-to-end tests, compose's `rabbitmq-topology` job and the Kubernetes
migration init containers; AMQP only, so it needs neither the management plugin nor an
administrator (declaring the same thing twice is harmless). Users are not in the file.
"""
from __future__ import annotations

import argparse
import json
import sys

from kombu import Connection, Exchange, Queue

from motcua.config import amqp_uri


def declare(uri: str, document: dict) -> int:
    """Declare everything in `document` in the URI's vhost; the number of queues declared."""
    with Connection(uri) as conn:
        channel = conn.channel()
        exchanges = {item["name"]: Exchange(item["name"], type=item["type"], durable=item["durable"],
                                            auto_delete=item.get("auto_delete", False))
                     for item in document.get("exchanges", [])}
        for exchange in exchanges.values():
            exchange(channel).declare()
        for item in document.get("queues", []):
            Queue(item["name"], durable=item["durable"], auto_delete=item.get("auto_delete", False),
                  queue_arguments=item.get("arguments") or None)(channel).declare()
        for item in document.get("bindings", []):
            if item["destination_type"] == "queue":
                channel.queue_bind(item["destination"], item["source"], item["routing_key"])
        channel.close()
    return len(document.get("queues", []))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m motcua.topology", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=argparse.FileType("r", encoding="utf-8"))
    args = parser.parse_args(argv)
    count = declare(amqp_uri(), json.load(args.file))
    print(f"{count} queues declared with their exchanges and bindings", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
