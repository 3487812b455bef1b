"""nameko dependency providers every service uses: its database, its worker context and its clock."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol
from weakref import WeakKeyDictionary

import eventlet
import sqlalchemy as sa
from eventlet.event import Event
from nameko.exceptions import deserialize_to_instance
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import sessionmaker
from werkzeug.wrappers import Response

from motcua.config import amqp_uri, database_url, env_float
from motcua.errors import all_error_classes
from motcua.db import UnitOfWork, make_engine, new_correlation_id, utcnow
from motcua.logs import correlation_id_var, dossier_code_var, valid_correlation_id
from motcua.outbox import OutboxRelay
from motcua.web import error_status

log = logging.getLogger(__name__)

for _error_class in all_error_classes():
    deserialize_to_instance(_error_class)

ENTRYPOINT_CALLS = Counter("motcua_entrypoint_calls_total", "Entrypoint calls", ["service", "entrypoint", "outcome"])
ENTRYPOINT_LATENCY = Histogram(
    "motcua_entrypoint_duration_seconds", "Entrypoint latency", ["service", "entrypoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge("motcua_outbox_pending", "Events committed but not yet published", ["service"])
OUTBOX_OLDEST_PENDING = Gauge("motcua_outbox_oldest_pending_seconds",
                              "Outbox lag: seconds the oldest event committed but not yet published has waited",
                              ["service"])
OUTBOX_PUBLISHED = Counter("motcua_outbox_published_total", "Events published by the outbox relay", ["service"])


class ScrapedGauges(Protocol):
    """A custom collector of gauges read from the service's database when Prometheus scrapes (status.gauges):
    registered at import, it reads through the engine it is given from the container's start to its stop."""

    def read_from(self, engine: sa.Engine, cache_seconds: float) -> None: ...

    def stop_reading(self, engine: sa.Engine) -> None: ...


class Database(DependencyProvider):
    """The service's own database: `self.db.unit_of_work()` per transaction, plus the outbox relay, and the
    engine for the `gauges` read from it when scraped (cached for METRICS_DB_GAUGE_SECONDS)."""

    def __init__(self, metadata: sa.MetaData, relay: bool = True, gauges: ScrapedGauges | None = None):
        self.metadata = metadata
        self.relay_enabled = relay
        self.gauges = gauges
        self._wake = Event()
        self._running = False

    def setup(self):
        service = self.container.service_name
        config = self.container.config
        self.engine = make_engine(config.get("DATABASE_URL") or database_url(service))
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.relay = OutboxRelay(self.engine, self.metadata, config.get("AMQP_URI") or amqp_uri())
        self.poll_interval = env_float("OUTBOX_POLL_SECONDS", 1.0)
        self.batch_wait = env_float("OUTBOX_BATCH_WAIT_SECONDS", 0.005)
        self.gauge_seconds = float(config.get("METRICS_DB_GAUGE_SECONDS")
                                   or env_float("METRICS_DB_GAUGE_SECONDS", 10.0))

    def start(self):
        if self.relay_enabled:
            self._running = True
            self.container.spawn_managed_thread(self._relay_loop, identifier="outbox_relay")
        if self.gauges is not None:
            self.gauges.read_from(self.engine, self.gauge_seconds)

    def stop(self):
        self._running = False
        self._signal()
        if self.gauges is not None:
            self.gauges.stop_reading(self.engine)

    def kill(self):
        self.stop()

    def _signal(self):
        if not self._wake.ready():
            self._wake.send(True)

    def _relay_loop(self):
        service = self.container.service_name
        measured_at = float("-inf")
        while self._running:
            try:
                OUTBOX_PUBLISHED.labels(service).inc(self.relay.relay_all())
            except Exception:
                # Broker or database away: the rows stay in the outbox and go out on a later pass.
                log.exception("outbox relay pass failed")
                eventlet.sleep(self.poll_interval)
            # Once per poll interval, not per pass: under load a pass follows nearly every commit.
            if time.monotonic() - measured_at >= self.poll_interval:
                self._measure_backlog(service)
                measured_at = time.monotonic()
            self._wake.wait(self.poll_interval)
            self._wake = Event()
            # Woken by a commit: the commits of the next moment go out in the same batch, with one wait for
            # the broker's confirms and one UPDATE, instead of a pass each.
            eventlet.sleep(self.batch_wait)
        self.relay.publisher.close()

    def _measure_backlog(self, service: str) -> None:
        # Measured after a failed pass too: with the broker away is when the lag grows.
        try:
            pending, oldest_seconds = self.relay.backlog()
        except Exception:
            log.warning("outbox backlog not measured: the database did not answer", exc_info=True)
            return
        OUTBOX_PENDING.labels(service).set(pending)
        OUTBOX_OLDEST_PENDING.labels(service).set(oldest_seconds)

    def get_dependency(self, worker_ctx):
        return DatabaseAccess(self, worker_ctx.data)


class DatabaseAccess:
    """What a worker sees of the database."""

    def __init__(self, provider: Database, worker_data: dict):
        self._provider = provider
        self._worker_data = worker_data
        self.engine = provider.engine

    @property
    def correlation_id(self) -> str | None:
        """The worker's id, read when used: WorkerContext makes a timer's after this was injected."""
        return self._worker_data.get("correlation_id")

    def unit_of_work(self) -> UnitOfWork:
        # Events are written under the id the log lines carry: the worker's, or the one a block restored for
        # what it does (notify's sender, motcua.logs.correlation_context); the worker's in a greenlet it spawned.
        return UnitOfWork(
            self._provider.session_factory,
            self._provider.metadata,
            producer=self._provider.container.service_name,
            correlation_id=correlation_id_var.get() or self.correlation_id,
            on_commit=self._provider._signal,
        )

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))


class WorkerContext(DependencyProvider):
    """Correlation id for logs and onward calls, plus entrypoint counts and latency."""

    def __init__(self):
        self._started: WeakKeyDictionary = WeakKeyDictionary()

    def worker_setup(self, worker_ctx):
        correlation_id = valid_correlation_id(worker_ctx.data.get("correlation_id")) or new_correlation_id()
        worker_ctx.data["correlation_id"] = correlation_id
        correlation_id_var.set(correlation_id)
        dossier_code_var.set(None)
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        service = self.container.service_name
        name = worker_ctx.entrypoint.method_name
        outcome = entrypoint_outcome(result, None if exc_info is None else exc_info[1])
        ENTRYPOINT_CALLS.labels(service, name, outcome).inc()
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            ENTRYPOINT_LATENCY.labels(service, name).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx):
        return worker_ctx.data


def entrypoint_outcome(result: Any, exc: BaseException | None) -> str:
    """`ok`; `refused`, the caller's fault (a 4xx of the one error contract); or `error`, ours (a 5xx, a crash).

    Judged by what the entrypoint raised, else by the status of the response it returned: a portal page
    answers a wrong tracking key with its own 404 page instead of raising."""
    if exc is not None:
        status = error_status(exc)
    else:
        status = result.status_code if isinstance(result, Response) else 200
    return "ok" if status < 400 else "refused" if status < 500 else "error"


class Clock(DependencyProvider):
    """The time as the service sees it: `self.clock()`, an aware UTC datetime.

    Every entrypoint takes "now" from here and nowhere else, so a test pins it
    (`replace_dependencies(container, clock=...)`) and crosses days, quiet hours and deadlines by
    moving it instead of depending on when the suite happens to run."""

    def get_dependency(self, worker_ctx):
        return utcnow


class BuiltAtStart(DependencyProvider):
    """Something a service builds once, when its container is set up, and its workers share: its frozen
    settings (`StatusSettings.from_env`), an attachment store, a carrier client. So no request reads the
    environment, and a test replaces the thing whole (`replace_dependencies`)."""

    def __init__(self, build: Callable[[], Any]):
        self.build = build

    def setup(self) -> None:
        self.built = self.build()

    def get_dependency(self, worker_ctx):
        return self.built
