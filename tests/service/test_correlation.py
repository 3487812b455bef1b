"""The correlation id across the real broker (issue 14): an RPC caller's id reaches the callee, the outbox row it
writes and the message the relay publishes (envelope, nameko's header and the AMQP property alike); a consumer
restores the envelope's id whoever published it; a command keeps its sender's id, off-contract or not, and one
that brings no valid id is handled under a new one."""
import json

import pytest
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from motcua.db import make_engine
from motcua.dependencies import Database, WorkerContext
from motcua.envelope import make_envelope
from motcua.logs import correlation_id_var, valid_correlation_id
from motcua.messaging import command_handler, event_handler
from tests.service.test_messaging import database_url, department_command, metadata, submitted_data  # noqa: F401

CODE = "000.00.00.H49-261125-0042"


class Intake:
    """Writes intake's dossier_submitted in its unit of work, as intake does under the gateway's RPC call."""

    name = "intake"
    db = Database(metadata)
    context = WorkerContext()

    @rpc
    def submit(self, code):
        with self.db.unit_of_work() as uow:
            uow.record_event("dossier_submitted", submitted_data(code), dossier_code=code)
            uow.commit()
        return correlation_id_var.get()


class Tracer:
    """Keeps the id each of its workers ran under (what its log lines carried)."""

    name = "tracer"
    context = WorkerContext()
    seen: list = []

    @event_handler("intake", "dossier_submitted")
    def on_submitted(self, envelope):
        Tracer.seen.append(("event", envelope["correlation_id"], correlation_id_var.get()))

    @command_handler("trace.commands", "tracer.commands", "department", "department_command")
    def on_command(self, envelope, routing_key, errors):
        Tracer.seen.append(("command", errors is None, correlation_id_var.get()))




@pytest.fixture
def tracer(container_factory, rabbit_config):
    Tracer.seen.clear()
    container = container_factory(Tracer, rabbit_config)
    container.start()
    return container


def test_an_rpc_callers_id_reaches_the_callee_its_outbox_row_the_relayed_message_and_the_consumer(
        container_factory, rabbit_config, database_url, tracer):
    intake = container_factory(Intake, dict(rabbit_config, DATABASE_URL=database_url))
    intake.start()
    tap = Queue("trace-tap", exchange=Exchange("intake.events", type="topic", durable=True),
                routing_key="dossier_submitted", auto_delete=True)
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        tap(conn.default_channel).declare()
        with entrypoint_waiter(tracer, "on_submitted", timeout=10):
            with ServiceRpcProxy("intake", rabbit_config, context_data={"correlation_id": "req-gw-7"}) as intake_rpc:
                assert intake_rpc.submit(CODE) == "req-gw-7"
        relayed = conn.default_channel.basic_get(queue="trace-tap", no_ack=True)
    engine = make_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(metadata.tables["outbox_message"])).mappings().one()
    engine.dispose()
    assert json.loads(row["body"])["correlation_id"] == "req-gw-7"
    assert json.loads(row["headers"]) == {"nameko.correlation_id": "req-gw-7"}
    assert json.loads(relayed.body)["correlation_id"] == "req-gw-7"
    assert relayed.properties["correlation_id"] == "req-gw-7"  # for a plain AMQP client too
    assert relayed.headers["nameko.correlation_id"] == "req-gw-7"
    assert Tracer.seen == [("event", "req-gw-7", "req-gw-7")]


def publish_event(amqp_uri, envelope, headers=None, **properties):
    """As a publisher other than nameko would: the envelope, and only the headers and properties given."""
    with Connection(amqp_uri) as conn:
        exchange = Exchange("intake.events", type="topic", durable=True)
        conn.Producer().publish(json.dumps(envelope), exchange=exchange, routing_key="dossier_submitted",
                                declare=[exchange], content_type="application/json", content_encoding="utf-8",
                                headers=headers or {}, **properties)


def publish_command(amqp_uri, routing_key, body):
    with Connection(amqp_uri) as conn:
        exchange = Exchange("trace.commands", type="topic", durable=True)
        conn.Producer().publish(body, exchange=exchange, routing_key=routing_key, declare=[exchange],
                                content_type="application/json", content_encoding="utf-8")


@pytest.mark.parametrize("envelope_id, headers, properties, expected", [
    ("req-plain-1", {}, {}, "req-plain-1"),  # no nameko header at all
    ("req-plain-2", {"nameko.correlation_id": "someone-else"}, {}, "req-plain-2"),  # the envelope is the contract
    ("not a token\n", {}, {"correlation_id": "req-prop-3"}, "req-prop-3"),
])
def test_a_consumer_restores_the_envelopes_id_whoever_published_it(tracer, envelope_id, headers, properties,
                                                                   expected):
    envelope = make_envelope("dossier_submitted", "intake", submitted_data(CODE), dossier_code=CODE,
                             correlation_id=envelope_id)
    with entrypoint_waiter(tracer, "on_submitted", timeout=10):
        publish_event(tracer.config["AMQP_URI"], json.loads(json.dumps(envelope, default=str)), headers,
                      **properties)
    assert Tracer.seen == [("event", envelope_id, expected)]


def test_a_command_keeps_its_senders_id_even_off_contract_and_one_without_a_valid_id_gets_a_new_one(tracer):
    uri = tracer.config["AMQP_URI"]
    on_contract = dict(department_command(), correlation_id="req-dept-1")
    off_contract = dict(department_command(colour="red"), correlation_id="req-dept-2")
    garbage = dict(department_command(), correlation_id="x" * 500)
    for body in (on_contract, off_contract, garbage):
        with entrypoint_waiter(tracer, "on_command", timeout=10):
            publish_command(uri, "000.00.00.H49.accept", json.dumps(body))
    assert Tracer.seen[:2] == [("command", True, "req-dept-1"), ("command", False, "req-dept-2")]
    [(_, on_contract_after_all, made)] = Tracer.seen[2:]
    assert on_contract_after_all and valid_correlation_id(made) and made != "x" * 500
