"""Poison in every queue of every service: parked with its error, the services keep working,
and a message that failed for a cause since fixed is replayed by the operator's command."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from kombu import Connection

from motcua.dead_letters import DeadLetters
from motcua.samples import SAMPLE_PDF, sample_submission
from motcua.stack import BROKER_DEFINITIONS, PROGRAMS

from tests.support import wait_for

pytestmark = pytest.mark.e2e

COMMUNE = "000.00.51.H24"



def consuming_service(queue: str) -> str:
    """The service a handler queue belongs to: `evt-<source>-<event>--<service>.<method>` or `<service>.<name>`."""
    return queue.split("--", 1)[1].split(".", 1)[0] if "--" in queue else queue.split(".", 1)[0]


def test_poison_in_every_queue_is_parked_and_every_service_keeps_consuming(stack, api):
    definitions = json.loads(Path(BROKER_DEFINITIONS).read_text(encoding="utf-8"))
    queues = sorted({b["destination"] for b in definitions["bindings"]})
    poison = (b"\x00 not json at all",
              json.dumps({"event_type": "dossier_submitted", "data": {"what": "off the contract"}}).encode())
    with Connection(stack.env["AMQP_URI"]) as conn:
        producer = conn.Producer()
        for queue in queues:
            for body in poison:
                producer.publish(body, exchange="", routing_key=queue, content_type="application/json",
                                 content_encoding="binary", delivery_mode=2)

    services = sorted({consuming_service(queue) for queue in queues})
    letters = {service: DeadLetters(stack.env["AMQP_URI"], service) for service in services}

    def parked() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for service, dead in letters.items():
            for letter in dead.list():
                found.setdefault(letter.original_queue, []).append(letter.error)
        return found

    assert wait_for(lambda: all(len(parked().get(queue, [])) >= 2 for queue in queues), seconds=30), (
        f"not parked: {[q for q in queues if len(parked().get(q, [])) < 2]}")

    for service in stack.ports:
        if service not in PROGRAMS:
            assert requests.get(stack.url(service, "/readyz"), timeout=5).status_code == 200, service
            metrics = requests.get(stack.metrics_url(service), timeout=5).text
            if service in services:
                assert f'motcua_dead_letters{{queue="{service}.dead-letters"}}' in metrics, service

    # Still consuming: a new dossier goes all the way through intake, status and notify.
    definition = api("GET", "/procedures/1.001193").json()
    submitted = api("POST", "/dossiers", json=sample_submission(definition)).json()
    citizen = {"X-Tracking-Key": submitted["tracking_key"]}
    assert wait_for(lambda: api("GET", f"/dossiers/{submitted['dossier_code']}", headers=citizen).status_code == 200)

    for dead in letters.values():
        dead.discard("end-to-end poison test", [letter.id for letter in dead.list() if letter.original_queue in queues])


def test_a_delivery_that_failed_while_the_carrier_was_down_is_replayed_once_it_is_back(stack, api, token):
    """The carrier is down when a result by post is completed: postal retries, then parks the event.
    The operator brings the carrier back and replays: the delivery is ordered, once."""
    definition = api("GET", "/procedures/1.001193").json()
    submitted = api("POST", "/dossiers", json=sample_submission(definition, return_method="postal")).json()
    code, citizen = submitted["dossier_code"], {"X-Tracking-Key": submitted["tracking_key"]}
    assert wait_for(lambda: api("GET", f"/dossiers/{code}", headers=citizen).status_code == 200)
    official = {"Authorization": f"Bearer {token(COMMUNE, 'receptionist', 'approver')}"}
    for action, extra in (("accept", {}), ("assign", {"assignee": "cb-01"})):
        assert api("POST", f"/desk/dossiers/{code}/actions", json={"action": action, **extra},
                   headers={**official, "Idempotency-Key": f"{code}-{action}"}).status_code == 200

    postal_letters = DeadLetters(stack.env["AMQP_URI"], "postal")
    stack.stop_service("carrier_simulator")
    try:
        completed = api("POST", f"/desk/dossiers/{code}/actions",
                        files={"result_document": ("ket-qua.pdf", SAMPLE_PDF, "application/pdf")},
                        data={"command": json.dumps({"action": "complete"})},
                        headers={**official, "Idempotency-Key": f"{code}-complete"})
        assert completed.status_code == 200, completed.text
        parked = wait_for(lambda: [letter for letter in postal_letters.list() if letter.dossier_code == code],
                          seconds=30)
        assert parked, "postal did not park the completion it could not act on"
        [letter] = parked
        assert letter.event_type == "dossier_completed" and "CarrierUnavailable" in letter.error
        assert letter.attempts == 4  # the first try and three retries (1, 2 and 4 s)
    finally:
        stack.start(["carrier_simulator"])

    replay = subprocess.run([sys.executable, "-m", "motcua.dead_letters", "replay", "postal", "--id", letter.id],
                            env=stack.env, capture_output=True, text=True, timeout=60)
    assert replay.returncode == 0, replay.stderr
    view = wait_for(lambda: (dossier_view := api("GET", f"/dossiers/{code}", headers=citizen).json())["delivery"]
                    and dossier_view)
    assert view and view["delivery"]["state"] == "ordered"
    assert not [letter for letter in postal_letters.list() if letter.dossier_code == code]
