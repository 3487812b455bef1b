"""bench/pipeline.py's load generators: citizens filing dossiers over keep-alive HTTP connections (a closed
loop of dossiers in flight, or an open loop at a set rate), a watcher that polls each new dossier's public view
until it answers, and Debian's `wrk` for the lookups, spread over the gateway's replicas (no load balancer
stands in front of them here).
"""
from __future__ import annotations

import heapq
import http.client
import itertools
import json
import os
import resource
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

LOOKUPS_SCRIPT = Path(__file__).resolve().parent / "lookups.lua"
VIEW_POLL_SECONDS = 0.05  # the resolution of "in the public view after"


class Gateways:
    """Keep-alive HTTP/1.1 connections to the gateway's replicas, one per thread and replica, taken in turn."""

    def __init__(self, urls: list[str]):
        self.addresses = [(urlsplit(url).hostname, urlsplit(url).port) for url in urls]
        self.turn = itertools.count()
        self.local = threading.local()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """(status, body). Sent again once on a connection the server had closed: safe for a GET, and for a
        POST with an Idempotency-Key."""
        index = next(self.turn) % len(self.addresses)
        if not hasattr(self.local, "connections"):
            self.local.connections = [None] * len(self.addresses)
        for attempt in (1, 2):
            connection = self.local.connections[index] or http.client.HTTPConnection(*self.addresses[index], timeout=60)
            self.local.connections[index] = connection
            try:
                connection.request(method, path, body, headers or {})
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, ConnectionError):
                connection.close()
                self.local.connections[index] = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def submit(self, submission: bytes) -> tuple[int, dict]:
        status, body = self.request("POST", "/api/v1/dossiers", submission, {
            "Content-Type": "application/json", "Idempotency-Key": f"bench-{uuid.uuid4().hex}"})
        return status, json.loads(body)

    def view(self, code: str, tracking_key: str) -> tuple[int, dict | None]:
        status, body = self.request("GET", f"/api/v1/dossiers/{code}", headers={"X-Tracking-Key": tracking_key})
        return status, json.loads(body) if status == 200 else None


# What a citizen thread does with a dossier it filed: (code, tracking key, when it was sent, when answered).
Filed = Callable[[str, str, float, float], None]


def file_one(gateways: Gateways, submission: bytes, sent: float, filed: Filed, failed: Callable[[], None]) -> None:
    status, answer = gateways.submit(submission)
    if status == 201:
        filed(answer["dossier_code"], answer["tracking_key"], sent, time.monotonic())
    else:
        failed()


def closed_loop(gateways: Gateways, submission: bytes, in_flight: threading.Semaphore, threads: int, until: float,
                filed: Filed, failed: Callable[[], None]) -> None:
    """File dossiers until `until`, each once a dossier in flight went through (whoever sees that releases
    `in_flight`): the pipeline's pace, not the HTTP answer's, sets the rate."""
    def not_filed() -> None:
        in_flight.release()  # nothing in flight for it
        failed()

    def citizen() -> None:
        while in_flight.acquire(timeout=max(0.0, until - time.monotonic())):
            if time.monotonic() >= until:
                in_flight.release()
                return
            try:
                file_one(gateways, submission, time.monotonic(), filed, not_filed)
            except Exception:
                not_filed()

    workers = [threading.Thread(target=citizen, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def open_loop(gateways: Gateways, submission: bytes, rate: float, seconds: float, threads: int, filed: Filed,
              failed: Callable[[], None]) -> None:
    """File `rate` dossiers a second for `seconds`, on schedule whatever the answers' pace; each is timed from
    when it was due, so a slow answer delays none of the next ones' clocks."""
    def one(due: float) -> None:
        try:
            file_one(gateways, submission, due, filed, failed)
        except Exception:
            failed()

    start = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        for n in range(int(rate * seconds)):
            due = start + n / rate
            time.sleep(max(0.0, due - time.monotonic()))
            pool.submit(one, due)


class ViewWatcher:
    """Polls each new dossier's public view every VIEW_POLL_SECONDS until it answers 200, as a citizen who has
    just filed would, and tells `seen(code, when)`."""

    def __init__(self, gateways: Gateways, seen: Callable[[str, float], None], threads: int = 8):
        self.gateways, self.seen = gateways, seen
        self.due: list[tuple[float, str, str]] = []
        self.changed = threading.Condition()
        self.pool = ThreadPoolExecutor(threads)
        self.stopping = False
        self.dispatcher = threading.Thread(target=self._dispatch, daemon=True)
        self.dispatcher.start()

    def watch(self, code: str, tracking_key: str, at: float | None = None) -> None:
        with self.changed:
            heapq.heappush(self.due, (at or time.monotonic(), code, tracking_key))
            self.changed.notify()

    def _dispatch(self) -> None:
        with self.changed:
            while not self.stopping:
                wait = self.due[0][0] - time.monotonic() if self.due else None
                if wait is not None and wait <= 0:
                    _, code, key = heapq.heappop(self.due)
                    self.pool.submit(self._look, code, key)
                else:
                    self.changed.wait(wait)

    def _look(self, code: str, tracking_key: str) -> None:
        status, _ = self.gateways.view(code, tracking_key)
        now = time.monotonic()
        if status == 200:
            self.seen(code, now)
        else:
            self.watch(code, tracking_key, now + VIEW_POLL_SECONDS)

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify()
        self.dispatcher.join()
        self.pool.shutdown(cancel_futures=True)


def wrk(urls: list[str], dossiers: list[tuple[str, str]], seconds: float, threads: int, connections: int,
        workdir: Path) -> dict:
    """GET the public view of `dossiers` (code, tracking key) in turn for `seconds`, with `wrk`: `threads` spread
    over `urls`, `connections` keep-alive connections in all. Requests per second, latency percentiles,
    failures, and wrk's own CPU seconds."""
    listing = workdir / f"lookups-{uuid.uuid4().hex[:6]}.txt"
    listing.write_text("".join(f"{code} {key}\n" for code, key in dossiers))
    env = {**os.environ, "BENCH_LOOKUPS": str(listing),
           "BENCH_ADDRESSES": ",".join(urlsplit(url).netloc for url in urls)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(max(connections, threads)), "-d", f"{seconds:.0f}s", "--timeout", "10s",
         "-s", str(LOOKUPS_SCRIPT), urls[0]],
        env=env, capture_output=True, text=True, check=True, start_new_session=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(next(line for line in reversed(finished.stdout.splitlines()) if line.startswith("{")))
    elapsed = result.pop("duration_us") / 1e6
    return {"threads": threads, "connections": max(connections, threads), **result,
            "requests_per_second": round(result["requests"] / elapsed, 1),
            "load_generator_cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 2),
            "seconds": round(elapsed, 1)}
