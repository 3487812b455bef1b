"""The outbox relay against the real broker and PostgreSQL: a batch goes out whole with one wait for its
confirms, and a row is marked published only once the broker confirmed it; a lost connection or a refused
message leaves the rows for the next pass, and nothing is lost."""
import json
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue

from motcua.db import OUTBOX, add_messaging_tables, make_engine, utcnow
from motcua.messaging import BROKER_LOST
from motcua.outbox import OutboxRelay, PublishNotConfirmed
from tests.support import wait_for

metadata = sa.MetaData()
add_messaging_tables(metadata)
EXCHANGE = "relay_probe.events"
MANAGEMENT = "http://127.0.0.1:15672/api"


@pytest.fixture
def engine(postgres_database):
    engine = make_engine(postgres_database("status"))
    yield engine
    engine.dispose()


@pytest.fixture
def amqp_uri(rabbit_config):
    return rabbit_config["AMQP_URI"]


def listening_queue(amqp_uri: str, name: str, **arguments) -> Queue:
    queue = Queue(name, Exchange(EXCHANGE, type="topic", durable=True), routing_key="#", durable=True,
                  queue_arguments=arguments or None)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


def commit_events(engine, count: int, first: int = 0) -> None:
    with engine.begin() as conn:
        conn.execute(metadata.tables[OUTBOX].insert(), [
            {"event_id": f"event-{n}", "exchange": EXCHANGE, "routing_key": "dossier_registered",
             "body": json.dumps({"event_id": f"event-{n}", "correlation_id": f"corr{n}", "data": {"tên": "Hải Phòng"}},
                                ensure_ascii=False),
             "headers": json.dumps({"nameko.correlation_id": f"corr{n}"}), "created_at": utcnow()}
            for n in range(first, first + count)])


def unpublished(engine) -> int:
    outbox = metadata.tables[OUTBOX]
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(outbox)
                            .where(outbox.c.published_at.is_(None))).scalar_one()


def drain(amqp_uri: str, queue: str) -> list:
    received = []
    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        while (message := channel.basic_get(queue=queue, no_ack=True)) is not None:
            received.append(message)
    return received


def close_broker_connections(amqp_uri: str) -> int:
    """Close, from the broker's side, every connection to the vhost: as a broker restart would."""
    vhost = unquote(urlsplit(amqp_uri).path[1:])

    def listed():  # the management API lists a new connection within its stats interval
        return requests.get(f"{MANAGEMENT}/vhosts/{quote(vhost, safe='')}/connections",
                            auth=("guest", "guest"), timeout=10).json()

    connections = wait_for(listed, seconds=15)
    for connection in connections or []:
        requests.delete(f"{MANAGEMENT}/connections/{quote(connection['name'], safe='')}",
                        auth=("guest", "guest"), timeout=10)
    return len(connections or [])


def test_every_committed_event_goes_out_once_as_persistent_json_with_its_ids(engine, amqp_uri):
    queue = listening_queue(amqp_uri, "relay-probe")
    commit_events(engine, 450)  # more than two batches of 200
    relay = OutboxRelay(engine, metadata, amqp_uri)
    try:
        assert relay.relay_all() == 450
    finally:
        relay.publisher.close()

    received = drain(amqp_uri, queue.name)
    assert sorted(m.properties["message_id"] for m in received) == sorted(f"event-{n}" for n in range(450))
    first = next(m for m in received if m.properties["message_id"] == "event-7")
    assert first.properties["delivery_mode"] == 2
    assert first.properties["correlation_id"] == "corr7"
    assert first.properties["content_type"] == "application/json"
    assert first.headers == {"nameko.correlation_id": "corr7"}
    assert json.loads(first.body)["data"] == {"tên": "Hải Phòng"}
    assert unpublished(engine) == 0


def test_a_connection_lost_between_passes_costs_one_pass_and_nothing_is_lost(engine, amqp_uri):
    queue = listening_queue(amqp_uri, "relay-probe")
    relay = OutboxRelay(engine, metadata, amqp_uri)
    try:
        commit_events(engine, 10)
        assert relay.relay_all() == 10
        assert close_broker_connections(amqp_uri) >= 1
        commit_events(engine, 10, first=10)
        with pytest.raises(BROKER_LOST):
            relay.relay_all()
        assert unpublished(engine) == 10
        assert relay.relay_all() == 10  # on a new connection
    finally:
        relay.publisher.close()

    ids = [m.properties["message_id"] for m in drain(amqp_uri, queue.name)]
    assert set(ids) == {f"event-{n}" for n in range(20)}
    assert unpublished(engine) == 0


def test_a_message_the_broker_refuses_leaves_the_batch_unpublished_for_the_next_pass(engine, amqp_uri):
    # A full queue that rejects publishes: the broker nacks what it cannot take.
    queue = listening_queue(amqp_uri, "relay-probe-full", **{"x-max-length": 3, "x-overflow": "reject-publish"})
    commit_events(engine, 5)
    relay = OutboxRelay(engine, metadata, amqp_uri)
    try:
        with pytest.raises(PublishNotConfirmed):
            relay.relay_all()
        assert unpublished(engine) == 5

        drain(amqp_uri, queue.name)  # room again: the whole batch goes out on the next pass
        with Connection(amqp_uri) as conn:
            conn.default_channel.queue_purge(queue.name)
            queue(conn.default_channel).delete()
        listening_queue(amqp_uri, "relay-probe")
        assert relay.relay_all() == 5
    finally:
        relay.publisher.close()
    assert unpublished(engine) == 0
