"""Submit dossiers over HTTP and print dossiers per second and latency percentiles.

    python bench/submit_dossiers.py                 # starts its own stack on SQLite files
    python bench/submit_dossiers.py --postgres      # ... on fresh PostgreSQL databases
    python bench/submit_dossiers.py --url http://localhost:8000   # a stack already running

Each request is a full online submission with one PDF per mandatory document, through
the gateway, one RPC hop to intake, its transaction and outbox. It also reports how long
the last dossier took to appear in the public view (status consumed the event).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import requests

from motcua.migrations import upgrade
from motcua.samples import sample_submission
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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(base: str, procedure: str, total: int, concurrency: int) -> None:
    session = requests.Session()
    definition = session.get(f"{base}/api/v1/procedures/{procedure}", timeout=30).json()
    submission = sample_submission(definition)

    def submit(i: int) -> tuple[float, int, dict]:
        started = time.perf_counter()
        response = requests.post(f"{base}/api/v1/dossiers", json=submission, timeout=60,
                                 headers={"Idempotency-Key": f"bench-{uuid.uuid4().hex}"})
        return time.perf_counter() - started, response.status_code, response.json()

    for i in range(min(20, total)):  # warm up connections and caches
        submit(i)
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(submit, range(total)))
    elapsed = time.perf_counter() - started
    latencies = [r[0] * 1000 for r in results]
    failures = [r for r in results if r[1] != 201]
    last = next(r[2] for r in reversed(results) if r[1] == 201)
    seen_after = None
    tracking_started = time.perf_counter()
    while time.perf_counter() - tracking_started < 120:
        view = requests.get(f"{base}/api/v1/dossiers/{last['dossier_code']}",
                            headers={"X-Tracking-Key": last["tracking_key"]}, timeout=10)
        if view.status_code == 200:
            seen_after = time.perf_counter() - tracking_started
            break
        time.sleep(0.1)
    print(json.dumps({
        "procedure": procedure, "dossiers": total, "concurrency": concurrency, "failed": len(failures),
        "dossiers_per_second": round(total / elapsed, 1),
        "latency_ms": {"p50": round(percentile(latencies, 50), 1), "p95": round(percentile(latencies, 95), 1),
                       "p99": round(percentile(latencies, 99), 1), "max": round(max(latencies), 1),
                       "mean": round(statistics.mean(latencies), 1)},
        "last_dossier_in_public_view_after_s": None if seen_after is None else round(seen_after, 2),
    }, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="gateway of a running stack; otherwise one is started")
    parser.add_argument("--postgres", action="store_true", help="start the stack on fresh PostgreSQL databases")
    parser.add_argument("--procedure", default="1.001193")
    parser.add_argument("-n", "--dossiers", type=int, default=500)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    args = parser.parse_args()
    if args.url:
        run(args.url.rstrip("/"), args.procedure, args.dossiers, args.concurrency)
        return
    with ExitStack() as cleanup:
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="motcua-bench-")))
        env = {"MOTCUA_VAR_DIR": str(root), "LOOKUP_RATE_PER_MINUTE": "100000", "LOG_LEVEL": "WARNING"}
        if args.postgres:
            env.update(postgres_databases(cleanup))
        stack = cleanup.enter_context(LocalStack(env, {s: free_port() for s in START_ORDER}, root / "log"))
        if not args.postgres:
            stack.migrate()
        stack.seed()
        stack.start(START_ORDER)
        print(f"stack up ({'PostgreSQL' if args.postgres else 'SQLite'}); submitting ...", file=sys.stderr)
        run(stack.url("gateway"), args.procedure, args.dossiers, args.concurrency)


if __name__ == "__main__":
    main()
