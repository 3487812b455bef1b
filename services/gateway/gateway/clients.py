"""The gateway's links to the broker: RPC proxies with a timeout, and a readiness probe."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import eventlet
from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, ServiceProxy
from prometheus_client import Counter

from motcua.errors import ServiceUnavailable

from gateway.web import setting

RPC_FAILURES = Counter(
    "motcua_gateway_rpc_unavailable_total", "RPC calls answered 503: timed out or no such service",
    ["service", "method"],
)


class TimedRpcProxy(RpcProxy):
    """nameko's RpcProxy waits for a reply forever; a web request must not.

    A call that takes longer than `RPC_TIMEOUT_SECONDS` (default 10), or goes to a service
    that is not running, raises `ServiceUnavailable` (503). Errors the service raised
    (`motcua.errors`) pass through as themselves.
    """

    def setup(self) -> None:
        super().setup()
        self.timeout = setting(self.container.config, "RPC_TIMEOUT_SECONDS", 10)

    def get_dependency(self, worker_ctx) -> TimedServiceProxy:
        return TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, self.timeout)


class TimedServiceProxy:
    def __init__(self, proxy: ServiceProxy, service: str, timeout: float):
        self._proxy, self._service, self._timeout = proxy, service, timeout

    def __getattr__(self, method: str) -> Callable[..., Any]:
        remote = getattr(self._proxy, method)

        def call(*args: Any) -> Any:
            try:
                with eventlet.Timeout(self._timeout, False):  # False: on expiry leave the block quietly
                    return remote(*args)
            except UnknownService:
                pass
            RPC_FAILURES.labels(self._service, method).inc()
            raise ServiceUnavailable(f"The {self._service} service is not answering; try again shortly.")

        return call


class BrokerProbe(DependencyProvider):
    """Readiness of a service without a database: can it reach the broker at all?

    The other services are deliberately not checked: readiness that cascades would take the
    whole front door (tracking, the portal) out of rotation when one service is down, while
    a call to a missing service already answers 503 on its own.
    """

    def setup(self) -> None:
        self.amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]

    def get_dependency(self, worker_ctx) -> Callable[[], None]:
        return self.ping

    def ping(self) -> None:
        with Connection(self.amqp_uri, connect_timeout=2) as connection:
            connection.connect()
