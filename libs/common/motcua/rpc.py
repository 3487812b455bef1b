"""nameko's RPC entrypoint for every service: a refusal the caller can act on (any MotCuaError: bad
input, not found, conflict...) goes back to the caller and is logged as a warning without a
traceback, so a client's mistakes cannot flood the logs; only the unexpected is an error."""
from nameko.rpc import Rpc

from motcua.errors import MotCuaError


class ServiceRpc(Rpc):
    def __init__(self, **kwargs):
        kwargs.setdefault("expected_exceptions", MotCuaError)
        super().__init__(**kwargs)


rpc = ServiceRpc.decorator
