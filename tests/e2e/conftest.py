"""The whole system, each service its own process, on the real broker and PostgreSQL.

Every run gets its own RabbitMQ vhost and its own databases, and free ports, so two
runs on one machine never meet; everything started here is stopped here. The carrier
simulator runs with the stack and moves its orders only on command (`carrier`).
"""
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
import requests
from carrier_simulator.testing import SimulatorClient
from kombu import Connection, Exchange, Queue, binding
from motcua import asyncapi
from motcua.asyncapi import MessageValidator
from motcua_contracts.departments import COMMANDS_EXCHANGE, WORK_EXCHANGE
from motcua_contracts.events import EVENT_EXCHANGES
from tests.whole_system import JWT_SECRET, new_vhost, running_stack


@pytest.fixture(scope="session")
def vhost():
    with new_vhost() as name:
        yield name


@pytest.fixture
def own_vhost():
    with new_vhost() as name:
        yield name


TAPPED_EXCHANGES = (*EVENT_EXCHANGES, WORK_EXCHANGE, COMMANDS_EXCHANGE)
SHARED_STACK_RAN = pytest.StashKey[bool]()


@pytest.fixture(scope="session", autouse=True)
def every_message_follows_the_contract(vhost, request):
    """Every message published on the bus during the end-to-end tests validates against deploy/asyncapi.yaml:
    a tap queue bound to every exchange from the start, checked when the session ends (if the shared stack
    ran: a test with a stack of its own, run alone, publishes elsewhere)."""
    uri = f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}"
    tap = Queue("e2e-contract-tap", durable=False, auto_delete=False, bindings=[
        binding(Exchange(name, type="topic", durable=True), routing_key="#") for name in TAPPED_EXCHANGES])
    with Connection(uri) as conn:
        tap(conn.default_channel).declare()
    yield
    validator, problems, seen = MessageValidator(asyncapi.load()), [], 0
    with Connection(uri) as conn:
        channel = conn.default_channel
        while (message := channel.basic_get(queue=tap.name, no_ack=True)) is not None:
            seen += 1
            body = json.loads(message.body)
            problems += [f"{body.get('producer')}.{body.get('event_type')}: {error}"
                         for error in validator.errors(body)]
    assert seen or not request.session.stash.get(SHARED_STACK_RAN, False), "the tap saw no message at all"
    assert not problems, "messages off the AsyncAPI contract:\n" + "\n".join(sorted(set(problems))[:50])


@pytest.fixture(scope="session")
def stack(postgres_database, vhost, tmp_path_factory, request):
    request.session.stash[SHARED_STACK_RAN] = True
    with running_stack(postgres_database, vhost, tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture
def api(stack):
    base = stack.url("gateway", "/api/v1")

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, base + path, timeout=30, **kwargs)

    return call


@pytest.fixture
def carrier(stack) -> SimulatorClient:
    """The running carrier simulator: `advance(waybill)`, `emit(waybill, event, sign=...)`, `replay(waybill)`,
    `order(waybill)`. Postal's callback secret is `stack.carrier_callback_secret`, to sign requests by hand."""
    return SimulatorClient(stack.url("carrier_simulator"), stack.carrier_api_key)


@pytest.fixture(scope="session")
def token():
    """A signed official's token for the running stack: token(agency, *roles)."""
    from gateway.auth import issue_token, keys_from_config

    keys = keys_from_config({"JWT_SECRET": JWT_SECRET}.get)

    def make(agency_code: str, *roles: str, expired: bool = False) -> str:
        issued = datetime.now(timezone.utc) - (timedelta(hours=2) if expired else timedelta(0))
        return issue_token(keys, f"official-{uuid.uuid4().hex[:6]}", agency_code, list(roles),
                           timedelta(hours=1), now=issued)[0]

    return make

