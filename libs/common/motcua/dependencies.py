"""nameko dependency providers every service uses: its database, its worker context and its clock."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import eventlet
import sqlalchemy as sa
from eventlet.event import Event
from nameko.exceptions import deserialize_to_instance
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.orm import sessionmaker

from motcua.config import amqp_uri, database_url, env_float
from motcua.errors import all_error_classes
from motcua.db import UnitOfWork, make_engine, new_correlation_id, utcnow
from motcua.logs import correlation_id_var, dossier_code_var
from motcua.outbox import OutboxRelay

log = logging.getLogger(__name__)

for _error_class in all_error_classes():
    deserialize_to_instance(_error_class)

ENTRYPOINT_CALLS = Counter("motcua_entrypoint_calls_total", "Entrypoint calls", ["service", "entrypoint", "outcome"])
ENTRYPOINT_LATENCY = Histogram(
    "motcua_entrypoint_duration_seconds", "Entrypoint latency", ["service", "entrypoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_PENDING = Gauge("motcua_outbox_pending", "Events committed but not yet published", ["service"])
OUTBOX_PUBLISHED = Counter("motcua_outbox_published_total", "Events published by the outbox relay", ["service"])


class Database(DependencyProvider):
    """The service's own database: `self.db.unit_of_work()` per transaction, plus the outbox relay."""

    def __init__(self, metadata: sa.MetaData, relay: bool = True):
        self.metadata = metadata
        self.relay_enabled = relay
        self._wake = Event()
        self._running = False

    def setup(self):
        service = self.container.service_name
        config = self.container.config
        self.engine = make_engine(config.get("DATABASE_URL") or database_url(service))
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.relay = OutboxRelay(self.engine, self.metadata, config.get("AMQP_URI") or amqp_uri())
        self.poll_interval = env_float("OUTBOX_POLL_SECONDS", 1.0)

    def start(self):
        if self.relay_enabled:
            self._running = True
            self.container.spawn_managed_thread(self._relay_loop, identifier="outbox_relay")

    def stop(self):
        self._running = False
        self._signal()

    def kill(self):
        self.stop()

    def _signal(self):
        if not self._wake.ready():
            self._wake.send(True)

    def _relay_loop(self):
        service = self.container.service_name
        while self._running:
            try:
                published = self.relay.relay_all()
                OUTBOX_PUBLISHED.labels(service).inc(published)
                OUTBOX_PENDING.labels(service).set(self.relay.pending())
            except Exception:
                # Broker or database away: the rows stay in the outbox and go out on a later pass.
                log.exception("outbox relay pass failed")
                eventlet.sleep(self.poll_interval)
            self._wake.wait(self.poll_interval)
            self._wake = Event()

    def get_dependency(self, worker_ctx):
        return DatabaseAccess(self, worker_ctx.data.get("correlation_id"))


class DatabaseAccess:
    """What a worker sees of the database."""

    def __init__(self, provider: Database, correlation_id: str | None):
        self._provider = provider
        self.correlation_id = correlation_id
        self.engine = provider.engine

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(
            self._provider.session_factory,
            self._provider.metadata,
            producer=self._provider.container.service_name,
            correlation_id=self.correlation_id or correlation_id_var.get(),
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
        correlation_id = worker_ctx.data.get("correlation_id") or new_correlation_id()
        worker_ctx.data["correlation_id"] = correlation_id
        correlation_id_var.set(correlation_id)
        dossier_code_var.set(None)
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        service = self.container.service_name
        name = worker_ctx.entrypoint.method_name
        outcome = "ok" if exc_info is None else "error"
        ENTRYPOINT_CALLS.labels(service, name, outcome).inc()
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            ENTRYPOINT_LATENCY.labels(service, name).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx):
        return worker_ctx.data


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
