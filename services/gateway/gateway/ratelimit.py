"""Rate limits on dossier lookups, so dossier codes and tracking keys cannot be enumerated.

A token bucket per client address, in this process's memory: each replica counts on its
own, so a client gets at most (replicas x rate); that is enough against enumeration and
needs no shared store.
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nameko.extensions import DependencyProvider
from prometheus_client import Counter
from werkzeug.wrappers import Request

from motcua.errors import NotFound, RateLimited

from gateway.web import setting

# A lookup that finds nothing costs this many extra tokens: guessing is slower than looking up.
FAILED_LOOKUP_EXTRA_COST = 4
LOOKUPS_REFUSED = Counter("motcua_gateway_lookups_refused_total", "Dossier lookups refused by the rate limit")


class LookupsExhausted(RateLimited):
    """429 with the seconds to wait; the entrypoint turns `retry_after` into a Retry-After header."""

    def __init__(self, retry_after: int):
        super().__init__("Too many dossier lookups from this address; try again later.")
        self.retry_after = retry_after


class TokenBucket:
    """`per_minute` tokens at most per client, refilled continuously at `per_minute` a minute."""

    def __init__(self, per_minute: float, max_clients: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.capacity = per_minute
        self.refill_per_second = per_minute / 60
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)

    def take(self, client: str, cost: float = 1, force: bool = False) -> float:
        """Spend `cost` tokens and return 0; or spend nothing and return the seconds to wait.

        `force` spends even into debt (a penalty charged after the fact). No I/O inside, so
        under eventlet no other worker runs halfway through.
        """
        now = self.clock()
        tokens, then = self._buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.refill_per_second)
        wait = 0.0
        if tokens >= cost or force:
            tokens -= cost
        else:
            wait = (cost - tokens) / self.refill_per_second
        # Re-inserted last, so the first entry is the least recently seen client: memory stays bounded.
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


def client_address(request: Request, trusted_proxy_hops: int) -> str:
    """The caller's address; behind N trusted proxies, the Nth X-Forwarded-For entry from the right.

    Entries further left are written by the client itself and could be anything.
    """
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
    if trusted_proxy_hops and len(forwarded) >= trusted_proxy_hops:
        return forwarded[-trusted_proxy_hops]
    return request.remote_addr or "unknown"


class LookupGuard:
    def __init__(self, bucket: TokenBucket, trusted_proxy_hops: int):
        self.bucket = bucket
        self.trusted_proxy_hops = trusted_proxy_hops

    @contextmanager
    def guard(self, request: Request) -> Iterator[None]:
        """Admit one lookup or raise `LookupsExhausted`; charge extra when it finds nothing."""
        client = client_address(request, self.trusted_proxy_hops)
        wait = self.bucket.take(client)
        if wait:
            LOOKUPS_REFUSED.inc()
            raise LookupsExhausted(math.ceil(wait))
        try:
            yield
        except NotFound:
            self.bucket.take(client, FAILED_LOOKUP_EXTRA_COST, force=True)
            raise


class LookupLimiter(DependencyProvider):
    """One bucket per container, shared by its workers: `LOOKUP_RATE_PER_MINUTE` (default 30)."""

    def setup(self) -> None:
        config = self.container.config
        self.lookups = LookupGuard(
            TokenBucket(setting(config, "LOOKUP_RATE_PER_MINUTE", 30)),
            int(setting(config, "TRUSTED_PROXY_HOPS", 0)),
        )

    def get_dependency(self, worker_ctx) -> LookupGuard:
        return self.lookups
