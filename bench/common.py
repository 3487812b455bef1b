"""What the benchmarks share: a stack of their own (SQLite or fresh PostgreSQL) and percentiles."""
from __future__ import annotations

import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from motcua.migrations import upgrade
from motcua.stack import (
    START_ORDER, WITH_DATABASE, LocalStack, create_postgres_database, drop_postgres_database, free_port,
)


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


def start_stack(cleanup: ExitStack, postgres: bool, env: dict[str, str] | None = None) -> LocalStack:
    """Every service as its own process, stopped (and its databases dropped) when `cleanup` closes."""
    root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="motcua-bench-")))
    settings = {"MOTCUA_VAR_DIR": str(root), "LOOKUP_RATE_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING",
                **(env or {})}
    if postgres:
        settings.update(postgres_databases(cleanup))
    stack = cleanup.enter_context(LocalStack(settings, {s: free_port() for s in START_ORDER}, root / "log"))
    if not postgres:
        stack.migrate()
    stack.seed()
    stack.start(START_ORDER)
    print(f"stack up ({'PostgreSQL' if postgres else 'SQLite'})", file=sys.stderr)
    return stack
