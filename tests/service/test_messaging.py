"""The shared messaging machinery against the real broker and PostgreSQL: outbox relay,
idempotent consumption, bounded retries and dead letters."""
import json
import time

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Exchange
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter

from motcua.db import add_messaging_tables, make_engine
from motcua.dependencies import Database
from motcua.errors import PermanentFailure
from motcua.messaging import command_handler, dead_letter_queue_name, event_handler
from motcua.stack import create_postgres_database, drop_postgres_database
from tests.support import dossier_submitted

metadata = sa.MetaData()
add_messaging_tables(metadata)
handled = sa.Table("handled", metadata, sa.Column("event_id", sa.String(36), primary_key=True))


def submitted_data(code="000.00.00.H49-261125-0001"):
    return dossier_submitted(dossier_code=code, applicant={"full_name": "Nguyễn Văn An", "phone": None, "email": None})


class FakeIntake:
    name = "intake"
    db = Database(metadata)

    @rpc
    def submit(self, code):
        with self.db.unit_of_work() as uow:
            uow.record_event("dossier_submitted", submitted_data(code), dossier_code=code)
            uow.commit()


class Consumer:
    name = "consumer"
    db = Database(metadata, relay=False)
    failures_left = {"n": 0}

    @event_handler("intake", "dossier_submitted")
    def on_submitted(self, envelope):
        if Consumer.failures_left["n"] > 0:
            Consumer.failures_left["n"] -= 1
            raise ConnectionError("department system timed out")
        with self.db.unit_of_work() as uow:
            if uow.claim_message("consumer.on_submitted", str(envelope["event_id"])):
                uow.session.execute(handled.insert().values(event_id=str(envelope["event_id"])))
            uow.commit()


@pytest.fixture
def database_url():
    name, url = create_postgres_database("mct", "msg")
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    yield url
    drop_postgres_database(name)


@pytest.fixture
def config(rabbit_config, database_url):
    return dict(rabbit_config, DATABASE_URL=database_url, RETRY_DELAYS_SECONDS=(1, 1))


def started(container_factory, config):
    """The consumer and the fake intake that publishes to it, both running."""
    consumer = container_factory(Consumer, config)
    producer = container_factory(FakeIntake, config)
    consumer.start()
    producer.start()
    return consumer, producer


def submit(producer, code):
    with entrypoint_hook(producer, "submit") as call:
        call(code)


def count(url, table):
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return value


def test_committed_event_is_relayed_and_consumed_once_even_when_redelivered(container_factory, config):
    consumer, producer = started(container_factory, config)
    with entrypoint_waiter(consumer, "on_submitted", timeout=10):
        submit(producer, "000.00.00.H49-261125-0001")
    assert count(config["DATABASE_URL"], handled) == 1
    outbox = metadata.tables["outbox_message"]
    engine = make_engine(config["DATABASE_URL"])
    with engine.connect() as conn:
        row = conn.execute(sa.select(outbox)).mappings().one()
    engine.dispose()
    assert row["published_at"] is not None

    # The broker delivers the same event again (a crash before ack): the effect is not repeated.
    with Connection(config["AMQP_URI"]) as conn:
        conn.default_channel.basic_publish(
            conn.default_channel.prepare_message(row["body"].encode(), content_type="application/json",
                                                content_encoding="utf-8"),
            exchange="intake.events", routing_key="dossier_submitted")
    with entrypoint_waiter(consumer, "on_submitted", timeout=10):
        pass
    assert count(config["DATABASE_URL"], handled) == 1


def test_transient_failure_is_retried_through_a_delay_queue(container_factory, config):
    Consumer.failures_left["n"] = 1
    consumer, producer = started(container_factory, config)
    submit(producer, "000.00.00.H49-261125-0002")
    with entrypoint_waiter(consumer, "on_submitted", timeout=15, callback=lambda worker_ctx, result, exc_info: exc_info is None):
        pass
    assert count(config["DATABASE_URL"], handled) == 1


def read_dead_letters(amqp_uri, service):
    """Take every parked message, undecoded (a parked body may not be JSON at all)."""
    messages = []
    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        while True:
            try:
                message = channel.basic_get(queue=dead_letter_queue_name(service), no_ack=True)
            except Exception:  # the queue does not exist until something is parked
                break
            if message is None:
                break
            messages.append(message)
    return messages


def test_failure_after_the_last_retry_is_parked_with_its_error(container_factory, config):
    Consumer.failures_left["n"] = 10
    consumer, producer = started(container_factory, config)
    submit(producer, "000.00.00.H49-261125-0003")
    dead = []
    for _ in range(20):
        dead = read_dead_letters(config["AMQP_URI"], "consumer")
        if dead:
            break
        eventlet.sleep(0.5)
    Consumer.failures_left["n"] = 0
    assert len(dead) == 1
    assert "department system timed out" in dead[0].properties['application_headers']["x-motcua-error"]
    assert dead[0].properties['application_headers']["x-motcua-attempts"] == 3
    assert dead[0].properties['application_headers']["x-motcua-original-routing-key"] == "dossier_submitted"
    assert count(config["DATABASE_URL"], handled) == 0


def test_malformed_message_is_parked_at_once_and_the_service_keeps_consuming(container_factory, config):
    consumer, producer = started(container_factory, config)
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.default_channel
        for body in ("not json at all", json.dumps({"event_type": "dossier_submitted", "extra": 1})):
            channel.basic_publish(channel.prepare_message(body.encode(), content_type="application/json",
                                                      content_encoding="utf-8"),
                                  exchange="intake.events", routing_key="dossier_submitted")
    dead = []
    for _ in range(20):
        dead += read_dead_letters(config["AMQP_URI"], "consumer")
        if len(dead) >= 2:
            break
        eventlet.sleep(0.5)
    assert len(dead) == 2
    assert all(m.properties['application_headers']["x-motcua-error"].startswith("malformed message") for m in dead)
    with entrypoint_waiter(consumer, "on_submitted", timeout=10):
        submit(producer, "000.00.00.H49-261125-0004")
    assert count(config["DATABASE_URL"], handled) == 1




class Commands:
    """A command consumer: what a department's system sends on an exchange of its own."""

    name = "commands"
    failures_left = {"n": 0}
    seen: list = []

    @command_handler("test.commands", "commands.inbox", "department", "department_command")
    def on_command(self, envelope, routing_key, errors):
        if Commands.failures_left["n"] > 0:
            Commands.failures_left["n"] -= 1
            raise ConnectionError("database away")
        if errors is not None and "command_id" not in envelope["data"]:
            raise PermanentFailure("nobody to answer")
        Commands.seen.append((routing_key, errors, envelope["data"]))


def department_command(**data):
    return {"event_id": "5b0f9a52-2f5e-4b8e-9a57-4f3c1c7e0a11", "event_type": "department_command",
            "schema_version": 1, "occurred_at": "2026-11-25T03:00:00+00:00", "producer": "department",
            "dossier_code": None, "correlation_id": "c" * 32,
            "data": {"command_id": "so-tp-000001", "agency_code": "000.00.00.H49",
                     "dossier_code": "000.00.00.H49-261125-0001", "action": "accept", **data}}


def publish_command(amqp_uri, routing_key, body):
    with Connection(amqp_uri) as conn:
        exchange = Exchange("test.commands", type="topic", durable=True)
        producer = conn.Producer()
        producer.publish(body, exchange=exchange, routing_key=routing_key, declare=[exchange],
                         content_type="application/json", content_encoding="utf-8")


@pytest.fixture
def commands(container_factory, rabbit_config):
    Commands.seen.clear()
    container = container_factory(Commands, dict(rabbit_config, RETRY_DELAYS_SECONDS=(1, 1)))
    container.start()
    return container


def test_a_command_handler_declares_its_own_queue_for_the_broker_definitions():
    [entrypoint] = getattr(Commands.on_command, "nameko_entrypoints")
    assert entrypoint.binding("commands", "on_command") == ("commands.inbox", "test.commands", "#")


def test_a_command_reaches_its_handler_with_its_routing_key_even_after_a_retry(commands):
    Commands.failures_left["n"] = 1
    with entrypoint_waiter(commands, "on_command", timeout=15,
                           callback=lambda worker_ctx, result, exc_info: exc_info is None):
        publish_command(commands.config["AMQP_URI"], "000.00.00.H49.accept", json.dumps(department_command()))
    [(routing_key, errors, data)] = Commands.seen
    assert (routing_key, errors, data["command_id"]) == ("000.00.00.H49.accept", None, "so-tp-000001")
    assert data["official_id"] is None  # loaded by the contract: defaults filled in


def test_an_off_contract_command_reaches_its_handler_with_field_messages_and_garbage_is_parked(commands):
    uri = commands.config["AMQP_URI"]
    off_contract = department_command(action="approve", colour="red")
    off_contract["event_type"] = "approve"
    with entrypoint_waiter(commands, "on_command", timeout=10):
        publish_command(uri, "000.00.00.H49.approve", json.dumps(off_contract))
    [(routing_key, errors, data)] = Commands.seen
    assert routing_key == "000.00.00.H49.approve"
    assert set(errors) == {"envelope.event_type", "action", "colour"}
    assert data == off_contract["data"]  # as sent: for the handler to answer what it can

    unanswerable = department_command()
    del unanswerable["data"]["command_id"]
    for body in ("not json", json.dumps({"data": "not an object"}), json.dumps(unanswerable)):
        publish_command(uri, "000.00.00.H49.accept", body)
    dead = []
    for _ in range(20):
        dead += read_dead_letters(uri, "commands")
        if len(dead) >= 3:
            break
        eventlet.sleep(0.5)
    assert len(dead) == 3
    errors = [m.properties["application_headers"]["x-motcua-error"] for m in dead]
    assert errors[0].startswith("malformed message") and errors[1].startswith("malformed message")
    assert errors[2].endswith("PermanentFailure: nobody to answer")  # the handler's call, at once
    assert len(Commands.seen) == 1


def test_on_sqlite_concurrent_commits_and_the_relay_never_freeze_the_process(container_factory, rabbit_config,
                                                                              tmp_path):
    """The relay must not hold SQLite's only writer while it waits on the broker: a worker
    waiting for that writer sleeps in C and freezes every greenthread (seen as 30 s stalls)."""
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    engine = make_engine(url)
    metadata.create_all(engine)
    engine.dispose()
    config = dict(rabbit_config, DATABASE_URL=url)
    consumer = container_factory(Consumer, dict(config, DATABASE_URL=f"sqlite:///{tmp_path / 'consumer.db'}"))
    engine = make_engine(consumer.config["DATABASE_URL"])
    metadata.create_all(engine)
    engine.dispose()
    producer = container_factory(FakeIntake, config)
    consumer.start()
    producer.start()
    started = time.monotonic()
    with ClusterRpcProxy(config, timeout=30) as cluster:
        replies = [cluster.intake.submit.call_async(f"000.00.00.H49-261125-{n:04d}") for n in range(1, 301)]
        for reply in replies:
            reply.result()
    for _ in range(100):
        if count(consumer.config["DATABASE_URL"], handled) == 300:
            break
        eventlet.sleep(0.1)
    assert count(consumer.config["DATABASE_URL"], handled) == 300
    assert time.monotonic() - started < 15
