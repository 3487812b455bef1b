"""What the benchmarks share: a stack of their own (SQLite or fresh PostgreSQL, a RabbitMQ vhost of its own)
and percentiles."""
from __future__ import annotations

import os
import sys
import tempfile
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import requests

from motcua.migrations import upgrade
from motcua.stack import (
    START_ORDER, WITH_DATABASE, LocalStack, create_postgres_database, drop_postgres_database, free_port,
)

MANAGEMENT = "http://127.0.0.1:15672/api"
MANAGEMENT_AUTH = ("guest", "guest")


def new_vhost(cleanup: ExitStack) -> str:
    """A RabbitMQ vhost for this run, deleted (with its queues) when `cleanup` closes."""
    name = f"mct-bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{MANAGEMENT}/vhosts/{quote(name, safe='')}", auth=MANAGEMENT_AUTH, timeout=10).raise_for_status()
    requests.put(f"{MANAGEMENT}/permissions/{quote(name, safe='')}/guest", auth=MANAGEMENT_AUTH, timeout=10,
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    cleanup.callback(requests.delete, f"{MANAGEMENT}/vhosts/{quote(name, safe='')}", auth=MANAGEMENT_AUTH, timeout=10)
    return name


def amqp_uri(vhost: str, user: str = "guest", password: str = "guest") -> str:
    return f"amqp://{user}:{quote(password, safe='')}@127.0.0.1:5672/{quote(vhost, safe='')}"


def postgres_databases(cleanup: ExitStack) -> dict[str, str]:
    """Fresh, migrated databases for this run, dropped when it ends."""
    urls = {}
    for service in WITH_DATABASE:
        name, url = create_postgres_database("mcbench", service)
        cleanup.callback(drop_postgres_database, name)
        upgrade(service, url)
        urls[f"{service.upper()}_DATABASE_URL"] = url
    return urls


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(percent / 100 * (len(ordered) - 1))))]


def latency_summary(milliseconds: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(milliseconds, 50), 1), "p95": round(percentile(milliseconds, 95), 1),
            "p99": round(percentile(milliseconds, 99), 1), "max": round(max(milliseconds), 1)}


@contextmanager
def stdout_on_stderr():
    """This process's and its children's standard output goes to standard error meanwhile."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def start_stack(cleanup: ExitStack, postgres: bool, env: dict[str, str] | None = None,
                replicas: dict[str, int] | None = None) -> LocalStack:
    """Every service as its own process (`replicas` of some), stopped (and its databases dropped) when `cleanup`
    closes."""
    root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="motcua-bench-")))
    settings = {"MOTCUA_VAR_DIR": str(root), "LOOKUP_RATE_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING",
                **(env or {})}
    if postgres:
        settings.update(postgres_databases(cleanup))
    stack = cleanup.enter_context(LocalStack(settings, {s: free_port() for s in START_ORDER}, root / "log", replicas))
    with stdout_on_stderr():  # what the migrations and the seed say is no benchmark's result
        if not postgres:
            stack.migrate()
        stack.seed()
        stack.start(START_ORDER)
    print(f"stack up ({'PostgreSQL' if postgres else 'SQLite'})", file=sys.stderr)
    return stack
