"""The reference department adapter against the real RabbitMQ, as a department runs it: its own confined user.

A work item reaches the department's system, the decision comes back as a command on
departments.commands, and the item is acknowledged only once that command is confirmed,
including across connections dropped by the broker (through the management API).
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote, urlparse

import pika
import pytest
import requests

from department_adapter.adapter import Adapter, Backoff
from department_adapter.config import Config
from department_adapter.handlers.folder import FolderHandler
from department_adapter.handlers.http import HttpHandler
from tests.support import json_endpoint
from department_adapter.journal import Journal
from department_adapter.messages import command_id_for
from motcua.config import vhost_of
from motcua.departments import Management
from motcua_contracts.departments import COMMANDS_EXCHANGE, WORK_EXCHANGE, department_queue

AGENCY = "000.00.10.H24"
COMMANDS_SEEN = "test.department-commands"  # stands in for status's queue on departments.commands


@dataclass
class Department:
    admin_uri: str
    uri: str
    user: str
    management: Management

    def api(self, method: str, path: str) -> requests.Response:
        response = requests.request(method, f"{self.management.url}/api/{path}", auth=self.management.auth, timeout=10)
        response.raise_for_status()
        return response

    def connections(self) -> list[str]:
        """The department user's open connections (a closed one stays listed until its peer says close-ok)."""
        return [c["name"] for c in self.api("GET", "connections").json()
                if c["user"] == self.user and c.get("state") != "closed"]

    def drop_connections(self) -> None:
        """What a broker restart does to the adapter: its connections are closed under it."""
        names = wait_for(self.connections, what="the adapter's connection to be listed")
        for name in names:
            self.api("DELETE", f"connections/{quote(name, safe='')}")
        wait_for(lambda: not set(names) & set(self.connections()), what="the dropped connections to be gone")

    def queue_stats(self) -> dict:
        return self.api("GET", f"queues/{self.management.vhost}/{quote(department_queue(AGENCY), safe='')}").json()

    def ready_items(self) -> int:
        """Messages waiting in the department's queue, neither delivered nor held by a consumer."""
        with admin_channel(self.admin_uri) as channel:
            return channel.queue_declare(department_queue(AGENCY), passive=True).method.message_count

    def publish(self, body, routing_key: str) -> None:
        with admin_channel(self.admin_uri) as channel:
            channel.confirm_delivery()
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            channel.basic_publish(WORK_EXCHANGE, routing_key, payload,
                                  pika.BasicProperties(delivery_mode=2, content_type="application/json"),
                                  mandatory=True)

    def commands(self, count: int, timeout: float = 15.0, settle: float = 0.0) -> list[tuple[str, object, dict]]:
        """Commands published so far, waiting up to `timeout` for `count`, then `settle` more seconds for extras."""
        taken, deadline = [], time.monotonic() + timeout
        with admin_channel(self.admin_uri) as channel:
            while time.monotonic() < deadline:
                method, properties, body = channel.basic_get(COMMANDS_SEEN, auto_ack=True)
                if method is not None:
                    taken.append((method.routing_key, properties, json.loads(body)))
                elif len(taken) >= count:
                    if settle <= 0:
                        break
                    deadline, settle = time.monotonic() + settle, 0.0
                else:
                    time.sleep(0.05)
        return taken


@contextmanager
def admin_channel(uri):
    connection = pika.BlockingConnection(pika.URLParameters(uri))
    try:
        yield connection.channel()
    finally:
        connection.close()


def wait_for(check, timeout: float = 15.0, what: str = "it"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def department(rabbit_config):
    """This test's vhost with the department's queue and its confined user, and a queue watching the commands."""
    admin_uri = rabbit_config["AMQP_URI"]
    vhost = vhost_of(admin_uri)
    management = Management(vhost=vhost)
    user, password = f"test-adapter-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    management.add_department(AGENCY, user, password)
    with admin_channel(admin_uri) as channel:
        channel.queue_declare(COMMANDS_SEEN, durable=True)
        channel.queue_bind(COMMANDS_SEEN, COMMANDS_EXCHANGE, routing_key="#")
    host = urlparse(admin_uri)
    uri = f"amqp://{user}:{password}@{host.hostname}:{host.port or 5672}/{quote(vhost, safe='')}"
    yield Department(admin_uri, uri, user, management)
    management.remove_department(AGENCY, user)


def work_item(number: int = 1, version: int = 2) -> dict:
    now = datetime.now(timezone.utc).isoformat()
    code = f"{AGENCY}-261125-{number:04d}"
    return {
        "event_id": str(uuid.uuid4()), "event_type": "work_item", "schema_version": 1, "occurred_at": now,
        "producer": "status", "dossier_code": code, "correlation_id": uuid.uuid4().hex,
        "data": {"item_type": "dossier_received", "agency_code": AGENCY, "dossier_code": code,
                 "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh", "state": "received",
                 "version": version, "channel": "online", "received_at": now, "appointment_date": "2026-12-01",
                 "occurred_at": now},
    }


def send_work(department: Department, item: dict) -> None:
    department.publish(item, f"{AGENCY}.{item['data']['item_type']}")


class CountingFolder(FolderHandler):
    """The folder handler, noting how often the department is asked about each item."""

    def __init__(self, root: Path):
        super().__init__(root / "inbox", root / "decisions", root / "inbox" / "outcomes")
        self.handed = Counter()

    def handle(self, item):
        self.handed[item["event_id"]] += 1
        return super().handle(item)


def config(department: Department, root: Path, **more) -> Config:
    return Config(amqp_uri=department.uri, agency_code=AGENCY, handler="folder",
                  journal_path=root / "decisions" / "journal.jsonl", poll_interval=0.2, **more)


@contextmanager
def running(adapter: Adapter):
    thread = threading.Thread(target=adapter.run, name="department-adapter", daemon=True)
    thread.start()
    try:
        yield adapter
    finally:
        adapter.stop()
        thread.join(15)
        assert not thread.is_alive(), "the adapter did not stop"


def inbox_file(root: Path, item: dict) -> Path:
    return root / "inbox" / f"{item['dossier_code']}--{item['event_id']}.json"


def test_a_decision_file_becomes_a_confirmed_command_and_only_then_is_the_item_acknowledged(department, tmp_path):
    env = {**os.environ, "DEPARTMENT_AMQP_URI": department.uri, "DEPARTMENT_AGENCY_CODE": AGENCY,
           "DEPARTMENT_HANDLER": "folder", "DEPARTMENT_INBOX_DIR": str(tmp_path / "inbox"),
           "DEPARTMENT_DECISIONS_DIR": str(tmp_path / "decisions"), "DEPARTMENT_POLL_INTERVAL": "0.2"}
    log_path = tmp_path / "adapter.log"
    item = work_item()
    with log_path.open("w") as log:
        adapter = subprocess.Popen([sys.executable, "-m", "department_adapter"], env=env, stderr=log)
        try:
            send_work(department, item)
            wait_for(lambda: inbox_file(tmp_path, item).exists(), what="the item in the inbox")
            assert json.loads(inbox_file(tmp_path, item).read_text("utf-8")) == item
            # Held, not acknowledged, while the department has not decided.
            wait_for(lambda: department.queue_stats().get("messages_unacknowledged") == 1, timeout=20,
                     what="the item to show as unacknowledged")
            assert department.commands(0) == []

            decision = {"action": "accept", "official_id": "cb-tu-phap-01"}
            (tmp_path / "decisions" / f"{item['dossier_code']}.json").write_text(json.dumps(decision))
            [(routing_key, properties, command)] = department.commands(1)
            wait_for(lambda: not (tmp_path / "decisions" / f"{item['dossier_code']}.json").exists(),
                     what="the decision to move to done")
        finally:
            adapter.send_signal(signal.SIGTERM)
            assert adapter.wait(15) == 0
    assert routing_key == f"{AGENCY}.accept"
    assert properties.delivery_mode == 2 and properties.correlation_id == item["correlation_id"]
    assert (command["producer"], command["event_type"], command["correlation_id"]) == (
        "department", "department_command", item["correlation_id"])
    assert command["data"] == {
        "command_id": command_id_for(item["event_id"], "accept"), "agency_code": AGENCY,
        "dossier_code": item["dossier_code"], "action": "accept", "official_id": "cb-tu-phap-01", "reason": None,
        "to_agency_code": None, "missing_items": None, "expected_version": None}
    # Stopped: an item still unacknowledged would be back in the queue now.
    assert department.ready_items() == 0
    assert (tmp_path / "inbox" / "done" / inbox_file(tmp_path, item).name).exists()
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    published = [line for line in lines if line["message"] == "decision published"]
    assert published[0]["dossier_code"] == item["dossier_code"]
    assert published[0]["command_id"] == command["data"]["command_id"]
    assert lines[-1]["message"] == "stopped"


@pytest.fixture
def endpoint():
    """A department's HTTP endpoint: "not yet" the first time it sees an item, a refusal after; outcomes noted."""
    seen: list[tuple[str, str | None, dict]] = []

    def respond(path, headers, body):
        asked_before = any(b.get("event_id") == body["event_id"] for _, _, b in seen)
        seen.append((path, headers.get("Authorization"), body))
        if path == "/tu-phap" and asked_before:
            return 200, {"action": "refuse", "reason": "Thiếu giấy chứng sinh bản chính", "official_id": "cb-02"}
        return 202, None

    with json_endpoint(respond) as url:
        yield f"{url}/tu-phap", seen


def test_an_http_endpoint_decides_later_and_hears_the_outcome(department, tmp_path, endpoint):
    url, seen = endpoint
    settings = Config(amqp_uri=department.uri, agency_code=AGENCY, handler="http", journal_path=tmp_path / "j.jsonl",
                      poll_interval=0.2, http_url=url, http_token="token-tu-phap")
    item = work_item()
    with running(Adapter(settings, HttpHandler(url, timeout=5, token="token-tu-phap"))):
        send_work(department, item)
        [(routing_key, _, command)] = department.commands(1)
        assert routing_key == f"{AGENCY}.refuse"
        assert command["data"]["command_id"] == command_id_for(item["event_id"], "refuse")
        assert command["data"]["reason"] == "Thiếu giấy chứng sinh bản chính"

        outcome = {
            "event_id": str(uuid.uuid4()), "event_type": "command_outcome", "schema_version": 1,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "status",
            "dossier_code": item["dossier_code"], "correlation_id": item["correlation_id"],
            "data": {"command_id": command["data"]["command_id"], "agency_code": AGENCY,
                     "dossier_code": item["dossier_code"], "action": "refuse", "outcome": "accepted",
                     "state": "refused", "version": 3, "decided_at": datetime.now(timezone.utc).isoformat()}}
        department.publish(outcome, f"{AGENCY}.command_outcome")
        wait_for(lambda: any(path == "/tu-phap/outcomes" for path, _, _ in seen), what="the outcome POSTed")
        wait_for(lambda: department.ready_items() == 0 and department.queue_stats().get("messages") == 0,
                 timeout=20, what="the department's queue to be empty")
    assert [body for path, _, body in seen if path == "/tu-phap/outcomes"] == [outcome]
    assert {auth for _, auth, _ in seen} == {"Bearer token-tu-phap"}
    assert [body["event_id"] for path, _, body in seen if path == "/tu-phap"][:2] == [item["event_id"]] * 2


def test_a_malformed_message_is_rejected_and_does_not_block_the_next(department, tmp_path, caplog):
    bad = work_item(1)
    del bad["data"]["procedure_code"]
    good = work_item(2)
    with running(Adapter(config(department, tmp_path), CountingFolder(tmp_path), backoff=Backoff(0.2, 1))):
        department.publish(b"\x00 not json at all", f"{AGENCY}.dossier_received")
        send_work(department, bad)
        send_work(department, good)
        wait_for(lambda: inbox_file(tmp_path, good).exists(), what="the good item in the inbox")
        assert department.ready_items() == 0  # the two bad ones are gone, not waiting in front of anything
    assert not inbox_file(tmp_path, bad).exists()
    rejected = [r for r in caplog.records if r.getMessage() == "malformed message rejected"]
    assert len(rejected) == 2 and all(r.levelname == "ERROR" for r in rejected)
    assert "procedure_code" in rejected[1].error


def test_after_its_connection_is_dropped_a_pending_decision_is_published_once(department, tmp_path):
    handler = CountingFolder(tmp_path)
    item = work_item()
    with running(Adapter(config(department, tmp_path), handler, backoff=Backoff(0.2, 1))):
        send_work(department, item)
        wait_for(lambda: inbox_file(tmp_path, item).exists(), what="the item in the inbox")
        department.drop_connections()
        # RabbitMQ gave the unacknowledged item back; the reconnected adapter wrote the same file again.
        wait_for(lambda: handler.handed[item["event_id"]] == 2, what="the item to be redelivered")
        assert list((tmp_path / "inbox").glob("*.json")) == [inbox_file(tmp_path, item)]
        (tmp_path / "decisions" / inbox_file(tmp_path, item).name).write_text('{"action": "accept"}')
        commands = department.commands(1, settle=1.5)
        wait_for(lambda: not inbox_file(tmp_path, item).exists(), what="the item to be settled")
    assert [command["data"]["command_id"] for _, _, command in commands] == [
        command_id_for(item["event_id"], "accept")]
    assert department.ready_items() == 0


class PausingJournal(Journal):
    """Holds the adapter between "the broker confirmed the decision" and "the item is acknowledged"."""

    def __init__(self, path):
        super().__init__(path)
        self.recorded, self.carry_on = threading.Event(), threading.Event()

    def record(self, *args):
        super().record(*args)
        self.recorded.set()
        self.carry_on.wait(30)


def test_a_decision_confirmed_but_not_acknowledged_goes_out_again_with_the_same_command_id(department, tmp_path):
    handler = CountingFolder(tmp_path)
    settings = config(department, tmp_path)
    journal = PausingJournal(settings.journal_path)
    item = work_item()
    with running(Adapter(settings, handler, journal=journal, backoff=Backoff(0.2, 1))):
        send_work(department, item)
        wait_for(lambda: inbox_file(tmp_path, item).exists(), what="the item in the inbox")
        (tmp_path / "decisions" / f"{item['dossier_code']}.json").write_text('{"action": "accept"}')
        assert journal.recorded.wait(15)
        department.drop_connections()  # the ack that follows cannot reach RabbitMQ
        journal.carry_on.set()
        commands = department.commands(2, settle=1.5)
        wait_for(lambda: department.connections(), what="the adapter to reconnect")
    assert len(commands) == 2
    assert {command["data"]["command_id"] for _, _, command in commands} == {command_id_for(item["event_id"], "accept")}
    assert commands[0][2] == commands[1][2]  # the very same message, from the journal
    assert handler.handed[item["event_id"]] == 1  # answered from the journal, the department not asked again
    journal_lines = (tmp_path / "decisions" / "journal.jsonl").read_text().splitlines()
    assert [json.loads(line)["event_id"] for line in journal_lines] == [item["event_id"]]
    assert department.ready_items() == 0
