"""The gateway's readiness probe: can it reach the broker? (Its RPC proxies are motcua.rpc.TimedRpcProxy.)"""
from __future__ import annotations

from collections.abc import Callable

from kombu import Connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider


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
