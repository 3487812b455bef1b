"""Write the broker's definitions (exchanges, queues, bindings) from the services' own handlers.

    python scripts/rabbitmq_definitions.py           write deploy/rabbitmq/definitions.json
    python scripts/rabbitmq_definitions.py --check   exit 1 if it differs from the code

Declared before any service starts, every handler's queue exists from the first event on,
whatever order the services come up in, and so do the department exchanges and each
service's dead-letter queue. The files hold no users: the services' user comes from the
deployment's secret and departments' users from `python -m motcua.departments add`.
Declared in a running broker by `python -m motcua.topology <file>`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from motcua.messaging import ReliableEventHandler, dead_letter_queue_name
from motcua.serve import service_class
from motcua_contracts.departments import COMMANDS_EXCHANGE, WORK_EXCHANGE
from motcua_contracts.events import EVENT_EXCHANGES

from generated_file import write_or_check

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("catalog", "intake", "status", "notify", "postal", "gateway")
DEFINITIONS = ROOT / "deploy/rabbitmq/definitions.json"


def handler_bindings(service: str) -> list[tuple[str, str, str]]:
    cls = service_class(service)
    found = []
    for name in dir(cls):
        for entrypoint in getattr(getattr(cls, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, ReliableEventHandler):
                found.append(entrypoint.binding(cls.name, name))
    return sorted(found)


def definitions() -> dict:
    """Queues as classic queues: `motcua.topology` declares them with the deployment's queue type."""

    def queue(name: str) -> dict:
        return {"name": name, "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}}

    def exchange(name: str) -> dict:
        return {"name": name, "vhost": "/", "type": "topic", "durable": True, "auto_delete": False,
                "internal": False, "arguments": {}}

    queues, bindings = [], []
    for service in SERVICES:
        handled = handler_bindings(service)
        for queue_name, source, routing_key in handled:
            queues.append(queue(queue_name))
            bindings.append({"source": source, "vhost": "/", "destination": queue_name, "destination_type": "queue",
                             "routing_key": routing_key, "arguments": {}})
        if handled:
            queues.append(queue(dead_letter_queue_name(service)))
    exchanges = [exchange(name) for name in EVENT_EXCHANGES]
    exchanges += [exchange(WORK_EXCHANGE), exchange(COMMANDS_EXCHANGE)]
    return {"vhosts": [{"name": "/"}], "exchanges": exchanges, "queues": queues, "bindings": bindings,
            "policies": [], "parameters": []}


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return write_or_check(argv, __doc__.splitlines()[0], DEFINITIONS, lambda: render(definitions()),
                          f"{DEFINITIONS.relative_to(ROOT)} differs from the services' handlers: "
                          "run `python scripts/rabbitmq_definitions.py`")

if __name__ == "__main__":
    sys.exit(main())
