"""A department's system decides on its dossiers over RabbitMQ: commands per second and the time
from publishing a command to its outcome on the department's queue.

    python bench/department_commands.py --postgres -n 300

Starts its own stack in a vhost of its own, files `n` online dossiers at the commune, makes the
commune's department (its queue and RabbitMQ user, as `python -m motcua.departments add` does),
then, as that department with plain pika, publishes an `accept` for each dossier (publisher
confirms) and reads the `command_outcome`s back from its queue.
"""
from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pika
import requests

from common import amqp_uri, latency_summary, new_vhost, start_stack
from motcua.departments import Management
from motcua.envelope import make_envelope
from motcua.samples import sample_submission
from motcua_contracts.departments import COMMANDS_EXCHANGE, command_routing_key, department_queue

COMMUNE = "000.00.51.H24"


def file_dossiers(gateway: str, total: int) -> list[str]:
    definition = requests.get(f"{gateway}/api/v1/procedures/1.001193", timeout=30).json()
    submission = sample_submission(definition)

    def submit(_: int) -> str:
        response = requests.post(f"{gateway}/api/v1/dossiers", json=submission, timeout=60)
        response.raise_for_status()
        return response.json()["dossier_code"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(submit, range(total)))


def decide(uri: str, codes: list[str]) -> dict:
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    channel = connection.channel()
    channel.confirm_delivery()
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for code in codes:
        data = {"command_id": f"bench-{uuid.uuid4().hex}", "agency_code": COMMUNE, "dossier_code": code,
                "action": "accept", "official_id": "bench", "reason": None, "to_agency_code": None,
                "missing_items": None, "expected_version": None}
        body = make_envelope("department_command", producer="department", data=data, dossier_code=code)
        sent[data["command_id"]] = time.perf_counter()
        channel.basic_publish(COMMANDS_EXCHANGE, command_routing_key(COMMUNE, "accept"),
                              json.dumps(body).encode(), pika.BasicProperties(
                                  content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent))
    published = time.perf_counter() - started
    latencies, outcomes = [], {"accepted": 0, "rejected": 0}
    deadline = time.monotonic() + 300
    while len(latencies) < len(codes) and time.monotonic() < deadline:
        method, _, raw = channel.basic_get(department_queue(COMMUNE), auto_ack=True)
        if method is None:
            time.sleep(0.02)
            continue
        message = json.loads(raw)
        if message["event_type"] == "command_outcome" and message["data"]["command_id"] in sent:
            latencies.append((time.perf_counter() - sent[message["data"]["command_id"]]) * 1000)
            outcomes[message["data"]["outcome"]] += 1
    elapsed = time.perf_counter() - started
    connection.close()
    return {"commands": len(codes), "outcomes": outcomes, "publish_seconds": round(published, 2),
            "commands_per_second": round(len(latencies) / elapsed, 1),
            "command_to_outcome_ms": latency_summary(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", action="store_true", help="fresh PostgreSQL databases (else SQLite files)")
    parser.add_argument("-n", "--dossiers", type=int, default=300)
    args = parser.parse_args()
    with ExitStack() as cleanup:
        vhost = new_vhost(cleanup)
        stack = start_stack(cleanup, args.postgres, {"AMQP_URI": amqp_uri(vhost)})
        user, password = f"bench-department-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
        management = Management(vhost=vhost)
        management.add_department(COMMUNE, user, password)
        cleanup.callback(management.remove_department, COMMUNE, user, False)
        codes = file_dossiers(stack.url("gateway"), args.dossiers)
        time.sleep(3)  # status registers them (and sends their dossier_registered items)
        print(f"{len(codes)} dossiers filed; the department decides ...", file=sys.stderr)
        print(json.dumps({"database": "PostgreSQL" if args.postgres else "SQLite",
                          **decide(amqp_uri(vhost, user, password), codes)},
                         indent=2))


if __name__ == "__main__":
    main()
