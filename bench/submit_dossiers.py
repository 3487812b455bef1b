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
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import requests

from common import latency_summary, start_stack
from motcua.samples import sample_submission

def run(base: str, procedure: str, total: int, concurrency: int) -> None:
    session = requests.Session()
    definition = session.get(f"{base}/api/v1/procedures/{procedure}", timeout=30).json()
    submission = sample_submission(definition)

    def submit(_: int) -> tuple[float, int, dict]:
        started = time.perf_counter()
        response = requests.post(f"{base}/api/v1/dossiers", json=submission, timeout=60,
                                 headers={"Idempotency-Key": f"bench-{uuid.uuid4().hex}"})
        return time.perf_counter() - started, response.status_code, response.json()

    for warm_up in range(min(20, total)):  # warm up connections and caches
        submit(warm_up)
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
        "latency_ms": {**latency_summary(latencies), "mean": round(statistics.mean(latencies), 1)},
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
        stack = start_stack(cleanup, args.postgres)
        run(stack.url("gateway"), args.procedure, args.dossiers, args.concurrency)


if __name__ == "__main__":
    main()
