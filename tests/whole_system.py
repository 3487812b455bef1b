"""The whole system for a test run: a RabbitMQ vhost of its own and every service as its own process on
fresh databases (motcua.stack.LocalStack), free ports; used by the end-to-end and the browser tests."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import requests

from motcua.stack import START_ORDER, WITH_DATABASE, LocalStack, free_port

MANAGEMENT = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")
JWT_SECRET = "e2e-only-signing-secret-" + uuid.uuid4().hex


@contextmanager
def new_vhost():
    """A RabbitMQ vhost of its own, so no other running stack competes for its queues."""
    name = f"mct-e2e-{uuid.uuid4().hex[:8]}"
    requests.put(f"{MANAGEMENT}/vhosts/{quote(name, safe='')}", auth=AUTH, timeout=10).raise_for_status()
    requests.put(f"{MANAGEMENT}/permissions/{quote(name, safe='')}/guest", auth=AUTH, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    try:
        yield name
    finally:
        requests.delete(f"{MANAGEMENT}/vhosts/{quote(name, safe='')}", auth=AUTH, timeout=10)


@contextmanager
def running_stack(create_database: Callable[[str], str], vhost: str, root: Path, settings: dict | None = None,
                  ports: dict[str, int] | None = None):
    """Every service as its own process on `vhost` and the databases `create_database(service)` makes (a URL),
    the catalogue seeded, with `settings` besides the test settings, on `ports` where given (a setting may need
    to name one) and free ports otherwise; stopped after."""
    env = {f"{service.upper()}_DATABASE_URL": create_database(service) for service in WITH_DATABASE}
    env.update({
        "AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}",
        "MOTCUA_VAR_DIR": str(root),
        "OUTBOX_POLL_SECONDS": "0.5",
        "LOOKUP_RATE_PER_MINUTE": "1000",
        "JWT_SECRET": JWT_SECRET,
        "CARRIER_SIMULATOR_STEP_SECONDS": "0",  # the tests drive the carrier
        "CARRIER_SIMULATOR_RETRY_SECONDS": "0.2",
        "MOTCUA_RETRY_DELAYS_SECONDS": "1,2,4",  # a failing message reaches the dead letters in seconds
        **(settings or {}),
    })
    ports = {service: free_port() for service in START_ORDER} | (ports or {})
    with LocalStack(env, ports, root / "log") as running:
        running.seed()
        running.start(START_ORDER)
        yield running
