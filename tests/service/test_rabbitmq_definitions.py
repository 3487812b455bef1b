"""The broker's definitions: generated from the services' handlers, loadable, and what the services declare."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from motcua import topology
from motcua.messaging import queue_arguments

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = ROOT / "deploy/rabbitmq/definitions.json"


def test_the_committed_definitions_are_what_the_services_declare():
    result = subprocess.run([sys.executable, "scripts/rabbitmq_definitions.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def loaded(rabbit_config):
    document = json.loads(DEFINITIONS.read_text(encoding="utf-8"))
    topology.declare(rabbit_config["AMQP_URI"], document)
    return rabbit_config["AMQP_URI"], document


def test_loaded_definitions_match_what_each_service_declares_at_start(loaded):
    uri, document = loaded
    by_queue = {b["destination"]: b for b in document["bindings"]}
    with Connection(uri) as conn:
        channel = conn.channel()
        for item in document["queues"]:
            binding = by_queue.get(item["name"])
            # Declared exactly as a starting service declares it: a different argument would fail here.
            queue = Queue(item["name"], exchange=Exchange(binding["source"], type="topic", durable=True)
                          if binding else None, routing_key=binding["routing_key"] if binding else None,
                          durable=True, auto_delete=False, queue_arguments=queue_arguments())
            queue(channel).declare()
        names = {q["name"] for q in document["queues"]}
        assert {"status.dead-letters", "notify.dead-letters", "postal.dead-letters"} <= names
        assert any(name.startswith("evt-intake-dossier_submitted--status.") for name in names)


def test_an_event_published_before_any_service_started_waits_in_its_queue(loaded):
    uri, document = loaded
    [queue] = [b["destination"] for b in document["bindings"]
               if b["source"] == "intake.events" and b["destination"].startswith("evt-intake-dossier_submitted--status.")]
    with Connection(uri) as conn:
        producer = conn.Producer()
        producer.publish(b"{}", exchange="intake.events", routing_key="dossier_submitted", content_type="application/json")
        message = conn.default_channel.basic_get(queue=queue, no_ack=True)
    assert message is not None and message.body == b"{}"
