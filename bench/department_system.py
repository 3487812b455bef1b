"""Two departments' own systems for bench/pipeline.py, integrated as docs/architecture.md section 5 says a
department integrates: plain pika, each with its own RabbitMQ user and queue (made by motcua.departments),
commands published with confirms, a work item acknowledged only once the command it caused is confirmed.

    python bench/department_system.py <receiving agency> <deciding agency>

with each agency's AMQP URI (its own user's) in BENCH_RECEIVING_AMQP_URI and BENCH_DECIDING_AMQP_URI.

The receiving agency accepts each online dossier filed with it and transfers it to the deciding agency, which
completes it. A department's system has no `assign` (motcua_contracts.departments.DEPARTMENT_ACTIONS), and
`complete` needs the dossier in progress, so a transfer (or a supplement request and the citizen's answer) is
what takes a received dossier there; the completion is what sends the citizen the result notice.

Prints `ready` once both consume, then one line per message taken from the queues:
`work <item type> <dossier code> <time.monotonic()> <body bytes>` and
`outcome <action> <accepted|rejected> <dossier code> <time.monotonic()>`; SIGTERM stops it.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable

import pika
from pika.adapters.select_connection import IOLoop
from pika.spec import Basic

from motcua.envelope import make_envelope
from motcua_contracts.departments import COMMAND_OUTCOME, COMMANDS_EXCHANGE, command_routing_key, department_queue

PREFETCH = 200  # many items in flight: each waits only for its own command's confirm
PROPERTIES = pika.BasicProperties(content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent)

Decision = Callable[[dict], dict | None]  # a work item's data -> the command's data (no command_id), or None


def receiving(deciding_agency: str) -> Decision:
    def decide(item: dict) -> dict | None:
        if item["item_type"] == "dossier_registered":
            return {"action": "accept"}
        if item["item_type"] == "dossier_received":
            return {"action": "transfer", "to_agency_code": deciding_agency, "reason": "Chuyển thẩm định"}
        return None
    return decide


def deciding(item: dict) -> dict | None:
    return {"action": "complete"} if item["item_type"] == "dossier_transferred" else None


class Department:
    """One agency's system on one connection: consume its queue, answer each work item with a command."""

    def __init__(self, agency: str, uri: str, decide: Decision, ioloop: IOLoop, on_ready: Callable[[], None],
                 on_closed: Callable[[], None]):
        self.agency, self.decide, self.on_ready, self.on_closed = agency, decide, on_ready, on_closed
        self.channel = None
        self.stopping = False
        self.published = 0
        self.answering: dict[int, int] = {}  # publish sequence number -> delivery tag of the item it answers
        self.connection = pika.SelectConnection(
            pika.URLParameters(uri), on_open_callback=self.on_open, on_open_error_callback=self.on_failure,
            on_close_callback=self.on_close, custom_ioloop=ioloop)

    def on_open(self, connection) -> None:
        connection.channel(on_open_callback=self.on_channel)

    def on_failure(self, _connection, error) -> None:
        sys.exit(f"department {self.agency}: {error}")

    def on_close(self, connection, error) -> None:
        if not self.stopping:
            self.on_failure(connection, error)
        self.on_closed()

    def on_channel(self, channel) -> None:
        self.channel = channel
        channel.confirm_delivery(self.on_confirm)
        channel.basic_qos(prefetch_count=PREFETCH, callback=lambda _: self.consume())

    def consume(self) -> None:
        self.channel.basic_consume(department_queue(self.agency), self.on_message)
        self.on_ready()

    def on_message(self, channel, method, _properties, body: bytes) -> None:
        now = time.monotonic()
        envelope = json.loads(body)
        data = envelope["data"]
        if envelope["event_type"] == COMMAND_OUTCOME:
            print("outcome", data["action"], data["outcome"], data["dossier_code"], f"{now:.6f}", flush=True)
            channel.basic_ack(method.delivery_tag)
            return
        print("work", data["item_type"], data["dossier_code"], f"{now:.6f}", len(body), flush=True)
        command = self.decide(data)
        if command is None:
            channel.basic_ack(method.delivery_tag)
            return
        code = data["dossier_code"]
        command = {"command_id": f"bench-{command['action']}-{code}",  # the same again if the item comes again
                   "agency_code": self.agency, "dossier_code": code, "official_id": "bench", "reason": None,
                   "to_agency_code": None, "missing_items": None, "expected_version": data["version"], **command}
        body = make_envelope("department_command", producer="department", data=command, dossier_code=code,
                             correlation_id=envelope["correlation_id"])
        self.published += 1
        self.answering[self.published] = method.delivery_tag
        channel.basic_publish(COMMANDS_EXCHANGE, command_routing_key(self.agency, command["action"]),
                              json.dumps(body, ensure_ascii=False).encode(), PROPERTIES)

    def on_confirm(self, frame) -> None:
        confirmed = frame.method
        numbers = ([n for n in self.answering if n <= confirmed.delivery_tag] if confirmed.multiple
                   else [confirmed.delivery_tag])
        for number in numbers:
            tag = self.answering.pop(number)
            if isinstance(confirmed, Basic.Ack):
                self.channel.basic_ack(tag)
            else:  # the broker did not take the command: the item comes again, and with it the same command
                self.channel.basic_nack(tag, requeue=True)

    def close(self) -> None:
        self.stopping = True
        self.connection.close()


class Countdown:
    """Calls `then` the `count`-th time it is called."""

    def __init__(self, count: int, then: Callable[[], None]):
        self.count, self.then = count, then

    def __call__(self) -> None:
        self.count -= 1
        if not self.count:
            self.then()


def main() -> None:
    receiving_agency, deciding_agency = sys.argv[1:3]
    receiving_uri, deciding_uri = os.environ["BENCH_RECEIVING_AMQP_URI"], os.environ["BENCH_DECIDING_AMQP_URI"]
    ioloop = IOLoop()
    ready, closed = Countdown(2, lambda: print("ready", flush=True)), Countdown(2, ioloop.stop)
    departments = [Department(receiving_agency, receiving_uri, receiving(deciding_agency), ioloop, ready, closed),
                   Department(deciding_agency, deciding_uri, deciding, ioloop, ready, closed)]

    def stop(*_) -> None:
        for department in departments:
            department.close()

    signal.signal(signal.SIGTERM, stop)
    ioloop.start()


if __name__ == "__main__":
    main()
