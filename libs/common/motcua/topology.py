"""Declare the bus's exchanges, queues and bindings from a definitions file, over AMQP.

    python -m motcua.topology deploy/rabbitmq/definitions.json

The file is RabbitMQ's definitions format (`scripts/rabbitmq_definitions.py` writes it from
the services' handlers). Declaring it before the services start means every handler's queue
exists from the first event on, whatever order the services come up in. It is run by
`make run`, the end-to-end tests and every container as it starts (deploy/docker/entrypoint.sh);
AMQP only, so it needs neither the management plugin nor an administrator, and declaring the
same thing twice is harmless. Queues get the deployment's type (`MOTCUA_QUEUE_TYPE`).

Why not RabbitMQ's own import of the file at boot (`load_definitions`): a node that imports
definitions at boot skips creating its default user, so the file would have to carry the
services' user with its password hash, and secrets stay out of the repository.
"""
from __future__ import annotations

import argparse
import json
import sys

from kombu import Connection, Exchange, Queue

from motcua.config import amqp_uri
from motcua.messaging import queue_arguments


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
            # The deployment's queue type (quorum in a cluster), as the services themselves declare it.
            arguments = {**(item.get("arguments") or {}), **queue_arguments()}
            Queue(item["name"], durable=item["durable"], auto_delete=item.get("auto_delete", False),
                  queue_arguments=arguments or None)(channel).declare()
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
