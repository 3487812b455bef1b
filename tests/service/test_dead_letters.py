"""The operator's dead-letter command against the real broker: list, replay after the fix, discard."""
import json
import logging

import eventlet
from kombu import Connection
from nameko.testing.services import entrypoint_waiter

from motcua import dead_letters
from tests.service import test_messaging as messaging
from tests.service.test_messaging import Consumer, count, handled, started, submit

# The broker vhost, database and consumer of the messaging tests, whose dead letters these are.
database_url = messaging.database_url
config = messaging.config


def wait_for_parked(letters, expected_count, timeout=20.0):
    found = []
    for _ in range(int(timeout / 0.5)):
        found = letters.list()
        if len(found) >= expected_count:
            return found
        eventlet.sleep(0.5)
    return found


def test_a_parked_message_is_listed_with_its_error_and_replayed_once_the_cause_is_fixed(
        container_factory, config, monkeypatch, capsys):
    Consumer.failures_left["n"] = 10
    consumer, producer = started(container_factory, config)
    submit(producer, "000.00.00.H49-261125-0011")
    letters = dead_letters.DeadLetters(config["AMQP_URI"], "consumer")
    [parked] = wait_for_parked(letters, 1)
    assert parked.error == "ConnectionError: department system timed out"
    assert parked.attempts == 3
    assert parked.original_queue.startswith("evt-intake-dossier_submitted--consumer")
    assert parked.dossier_code == "000.00.00.H49-261125-0011"
    assert parked.event_type == "dossier_submitted"
    assert letters.list() == [parked]  # listing takes nothing away

    monkeypatch.setenv("AMQP_URI", config["AMQP_URI"])
    assert dead_letters.main(["list", "consumer", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [entry["id"] for entry in listed] == [parked.id]

    Consumer.failures_left["n"] = 0  # the operator fixed the department system
    with entrypoint_waiter(consumer, "on_submitted", timeout=10,
                           callback=lambda worker_ctx, result, exc_info: exc_info is None):
        assert dead_letters.main(["replay", "consumer", "--id", parked.id]) == 0
    assert count(config["DATABASE_URL"], handled) == 1
    assert letters.size() == 0
    assert dead_letters.main(["replay", "consumer", "--id", parked.id]) == 1  # gone: nothing replayed twice


def test_discard_needs_a_reason_and_logs_it(container_factory, config, caplog):
    consumer = container_factory(Consumer, config)
    consumer.start()
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.default_channel
        for body in (b"not json", b"still not json"):
            channel.basic_publish(channel.prepare_message(body, content_type="application/json"),
                                  exchange="intake.events", routing_key="dossier_submitted")
    letters = dead_letters.DeadLetters(config["AMQP_URI"], "consumer")
    first, second = wait_for_parked(letters, 2)
    assert first.error.startswith("malformed message")
    assert first.event_id is None
    with caplog.at_level(logging.WARNING, logger="motcua.dead_letters"):
        [gone] = letters.discard("test garbage from a misconfigured department", [second.id])
    assert gone.id == second.id
    assert "test garbage from a misconfigured department" in caplog.text
    assert [letter.id for letter in letters.list()] == [first.id]
    try:
        letters.discard("  ", None)
    except ValueError:
        pass
    else:
        raise AssertionError("a discard without a reason was accepted")
    assert letters.size() == 1


def test_dead_letter_depth_is_a_metric_read_from_the_broker(container_factory, config):
    from prometheus_client import generate_latest

    consumer = container_factory(Consumer, config)
    consumer.start()
    metric = 'motcua_dead_letters{queue="consumer.dead-letters"}'
    assert f"{metric} 0.0" in generate_latest().decode()  # nothing parked yet: zero, not absent
    with Connection(config["AMQP_URI"]) as conn:
        channel = conn.default_channel
        channel.basic_publish(channel.prepare_message(b"not json", content_type="application/json"),
                              exchange="intake.events", routing_key="dossier_submitted")
    wait_for_parked(dead_letters.DeadLetters(config["AMQP_URI"], "consumer"), 1)
    assert f"{metric} 1.0" in generate_latest().decode()
