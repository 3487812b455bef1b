"""RPC for every service, both ends.

The entrypoint (`rpc`): a refusal the caller can act on (any MotCuaError: bad input, not found,
conflict...) goes back to the caller and is logged as a warning without a traceback, so a
client's mistakes cannot flood the logs; only the unexpected is an error. Requests are consumed
by the services' ReliableQueueConsumer, which outlives a broker restart under an acknowledgement.

The caller (`TimedRpcProxy`): nameko's RpcProxy waits for a reply forever; a request must not. Each call
is one log line in the caller (`rpc intake.submit_dossier: ok in 0.042 s`), under the caller's
correlation id, which nameko's headers carry to the callee's worker: the hop is in both services' logs.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import eventlet
from nameko.exceptions import UnknownService
from nameko.rpc import Rpc, RpcConsumer, RpcProxy, ServiceProxy
from prometheus_client import Counter

from motcua.config import env_float
from motcua.errors import MotCuaError, ServiceUnavailable
from motcua.messaging import BROKER_LOST, ReliableQueueConsumer

log = logging.getLogger(__name__)

RPC_UNAVAILABLE = Counter("motcua_rpc_unavailable_total",
                          "RPC calls given up as unavailable: timed out, or no such service running",
                          ["service", "method"])


class ServiceRpcConsumer(RpcConsumer):
    queue_consumer = ReliableQueueConsumer()

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except BROKER_LOST as exc:
            # The reply could not be sent (the broker went away): raising would end the service. The request,
            # unacknowledged, is handled again; the caller retries or times out, as for a lost reply.
            log.warning("RPC reply lost with the broker connection (%s); the request comes again", exc)
            self.queue_consumer.requeue_message(message)
            return result, exc_info


class ServiceRpc(Rpc):
    rpc_consumer = ServiceRpcConsumer()

    def __init__(self, **kwargs):
        kwargs.setdefault("expected_exceptions", MotCuaError)
        super().__init__(**kwargs)


rpc = ServiceRpc.decorator


class TimedRpcProxy(RpcProxy):
    """An RpcProxy whose calls give up after `RPC_TIMEOUT_SECONDS` (the container's config, else the
    environment, else `timeout_seconds`), or at once when the service is not running, with a
    ServiceUnavailable (503) naming it as `called`. Errors the service raised (motcua.errors) pass through.

    A service calling another inside a caller's RPC takes a shorter timeout than its caller's, so
    its own 503 reaches the caller before the caller gives up on it.
    """

    def __init__(self, target_service: str, *, called: str = "", timeout_seconds: float = 10.0, **options):
        super().__init__(target_service, **options)
        self.called = called or f"The {target_service} service"
        self.timeout_seconds = timeout_seconds

    def setup(self) -> None:
        super().setup()
        configured = self.container.config.get("RPC_TIMEOUT_SECONDS")
        self.timeout = float(configured) if configured else env_float("RPC_TIMEOUT_SECONDS", self.timeout_seconds)

    def get_dependency(self, worker_ctx) -> TimedServiceProxy:
        return TimedServiceProxy(super().get_dependency(worker_ctx), self.target_service, self.called, self.timeout)


class TimedServiceProxy:
    def __init__(self, proxy: ServiceProxy, service: str, called: str, timeout: float):
        self._proxy, self._service, self._called, self._timeout = proxy, service, called, timeout

    def __getattr__(self, method: str) -> Callable[..., Any]:
        remote = getattr(self._proxy, method)

        def call(*args: Any) -> Any:
            started = time.perf_counter()
            hop = f"rpc {self._service}.{method}"
            try:
                with eventlet.Timeout(self._timeout, False):  # False: on expiry leave the block quietly
                    answer = remote(*args)
                    log.info("%s: ok in %.3f s", hop, time.perf_counter() - started)
                    return answer
            except UnknownService:
                RPC_UNAVAILABLE.labels(self._service, method).inc()
                log.warning("%s: unavailable, no such service running", hop)
                raise ServiceUnavailable(f"{self._called} is not running; try again shortly.") from None
            except MotCuaError as exc:  # the callee's refusal, passed on to our caller
                log.info("%s: %s in %.3f s", hop, exc.code, time.perf_counter() - started)
                raise
            except Exception as exc:
                log.warning("%s: %s in %.3f s", hop, type(exc).__name__, time.perf_counter() - started)
                raise
            RPC_UNAVAILABLE.labels(self._service, method).inc()
            log.warning("%s: unavailable, no answer in %.1f s", hop, self._timeout)
            raise ServiceUnavailable(f"{self._called} did not answer in time; try again shortly.")

        return call
