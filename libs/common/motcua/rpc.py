"""nameko's RPC entrypoint for every service: a refusal the caller can act on (any MotCuaError: bad
input, not found, conflict...) goes back to the caller and is logged as a warning without a
traceback, so a client's mistakes cannot flood the logs; only the unexpected is an error. Requests are
consumed by the services' ReliableQueueConsumer, which outlives a broker restart under an acknowledgement."""
import logging

from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from nameko.rpc import Rpc, RpcConsumer

from motcua.errors import MotCuaError
from motcua.messaging import ReliableQueueConsumer

log = logging.getLogger(__name__)


class ServiceRpcConsumer(RpcConsumer):
    queue_consumer = ReliableQueueConsumer()

    def handle_result(self, message, result, exc_info):
        try:
            return super().handle_result(message, result, exc_info)
        except (OSError, KombuError, AMQPError) as exc:
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
