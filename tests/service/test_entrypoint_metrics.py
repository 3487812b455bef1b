"""motcua_entrypoint_calls_total and its latency for every kind of entrypoint (HTTP, RPC, event, timer), in a
service of one WorkerContext on the real broker: `ok`, `refused` (the caller's fault) or `error` (ours)."""
from contextlib import nullcontext

import pytest
from kombu import Connection, Exchange
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from nameko.timer import timer
from prometheus_client import REGISTRY

from motcua.dependencies import WorkerContext
from motcua.envelope import make_envelope
from motcua.errors import NotFound
from motcua.messaging import event_handler
from motcua.rpc import rpc
from motcua.web import http, json_response
from tests.support import dossier_submitted, wait_for

OUTCOMES = ("ok", "refused", "error")


def act(outcome: str) -> dict:
    if outcome == "refused":
        raise NotFound("No such thing.")
    if outcome == "error":
        raise RuntimeError("a bug of ours")
    return {"outcome": outcome}


class Probe:
    name = "metrics_probe"
    context = WorkerContext()

    @rpc
    def answer(self, outcome):
        return act(outcome)

    @http("GET", "/probe/<outcome>")
    def page(self, request, outcome):
        return json_response(act(outcome))

    @event_handler("intake", "dossier_submitted")
    def on_submitted(self, envelope):
        act(envelope["data"]["form"]["outcome"])

    @timer(interval=0.1)
    def tick(self):
        pass


def calls(entrypoint, outcome):
    return REGISTRY.get_sample_value("motcua_entrypoint_calls_total",
                                     {"service": "metrics_probe", "entrypoint": entrypoint, "outcome": outcome}) or 0


def timings(entrypoint):
    return REGISTRY.get_sample_value("motcua_entrypoint_duration_seconds_count",
                                     {"service": "metrics_probe", "entrypoint": entrypoint}) or 0


@pytest.fixture
def probe(container_factory, rabbit_config, web_config):
    container = container_factory(Probe, {**rabbit_config, **web_config, "RETRY_DELAYS_SECONDS": ()})
    container.start()
    return container


def counted_once_each(entrypoint, call):
    before = {outcome: calls(entrypoint, outcome) for outcome in OUTCOMES}
    timed = timings(entrypoint)
    for outcome in OUTCOMES:
        call(outcome)
    expected = {outcome: before[outcome] + 1 for outcome in OUTCOMES}
    # Counted as each worker ends, just after the reply went out.
    assert wait_for(lambda: {outcome: calls(entrypoint, outcome) for outcome in OUTCOMES} == expected, seconds=5)
    assert timings(entrypoint) == timed + 3


def test_rpc_calls_are_counted_by_outcome(probe, rabbit_config):
    with ServiceRpcProxy("metrics_probe", rabbit_config, timeout=10) as proxy:
        def call(outcome):
            answered = {"ok": nullcontext(), "refused": pytest.raises(NotFound), "error": pytest.raises(RemoteError)}
            with answered[outcome]:
                proxy.answer(outcome)

        counted_once_each("answer", call)


def test_http_calls_are_counted_by_outcome(probe, web_session):
    statuses = {}
    counted_once_each("page", lambda outcome: statuses.setdefault(outcome, web_session.get(f"/probe/{outcome}")
                                                                   .status_code))
    assert statuses == {"ok": 200, "refused": 404, "error": 500}


def test_events_are_counted_by_outcome(probe, rabbit_config):
    def publish(outcome):
        with entrypoint_waiter(probe, "on_submitted", timeout=10), Connection(rabbit_config["AMQP_URI"]) as conn:
            data = dossier_submitted(form={"outcome": outcome})
            exchange = Exchange("intake.events", type="topic", durable=True)
            conn.Producer().publish(make_envelope("dossier_submitted", producer="intake", data=data,
                                                  dossier_code=data["dossier_code"]),
                                    exchange=exchange, routing_key="dossier_submitted", serializer="json",
                                    declare=[exchange])

    counted_once_each("on_submitted", publish)


def test_a_timer_is_counted_each_time_it_fires(probe):
    assert wait_for(lambda: calls("tick", "ok") >= 3, seconds=5)
