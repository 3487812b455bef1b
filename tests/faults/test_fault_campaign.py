"""The fault campaign (docs/architecture.md section 10): nothing is lost and nothing happens twice while
processes crash.

Citizens submit a stream of dossiers through the gateway; the commune's department system
(the reference adapter) accepts each and asks for a supplement; notify e-mails the receipt
and the request. Meanwhile every service and the adapter are killed with SIGKILL at random
moments and started again (as Kubernetes would), the RabbitMQ node is killed and restarted,
and so is PostgreSQL; both are this test's own (tests/faults/servers.py), on loopback.

Afterwards: every dossier a citizen was given a code for exists once in intake and in status,
with each transition of its history once; each work item reached the department under one
event id; each decision was done once; each e-mail went out as one message; no outbox holds
an unpublished event, no queue holds a message, nothing is parked in the dead letters.

The seed and the length are printed, with the counts: FAULT_CAMPAIGN_SEED replays a schedule,
FAULT_CAMPAIGN_SECONDS makes it longer (45 s of faults in `make test`).
"""
from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import eventlet
import pytest
import requests
import sqlalchemy as sa

from motcua.db import OUTBOX
from motcua.departments import Management
from motcua.messaging import dead_letter_queue_name
from motcua.migrations import upgrade
from motcua.samples import sample_submission
from motcua.stack import PROGRAMS, START_ORDER, WITH_DATABASE, LocalStack, free_port
from motcua_contracts.departments import department_queue
from tests.fakes.mailbox import Mailbox
from tests.faults.servers import PrivatePostgres, PrivateRabbitMQ

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]
COMMUNE = "000.00.51.H24"  # UBND xã Vĩnh Bảo: receives birth registrations
PROCEDURE = "1.001193"
CHAOS_SECONDS = float(os.environ.get("FAULT_CAMPAIGN_SECONDS", "45"))
SEED = int(os.environ.get("FAULT_CAMPAIGN_SEED", str(secrets.randbelow(10**6))))
MOST_DOSSIERS = 400
# What each dossier's history must hold, once each: intake's submission and the department's two decisions.
TRANSITIONS = ("submitted", "received", "awaiting_supplement")
ITEM_TYPES = ("dossier_registered", "dossier_received")
# The e-mails each online dossier's citizen receives: filed, received (form 01), asked to supplement (form 02).
TEMPLATES = ("filed_online", "receipt", "supplement_request")
SERVICES = tuple(service for service in START_ORDER if service not in PROGRAMS)
FAULTS = (*SERVICES, "department", "rabbitmq", "postgresql")


class DepartmentAdapter:
    """The reference adapter running the campaign's department system, as its own process."""

    def __init__(self, uri: str, root: Path):
        self.root = root
        self.record = root / "department.jsonl"
        self.env = {**os.environ, "DEPARTMENT_AMQP_URI": uri, "DEPARTMENT_AGENCY_CODE": COMMUNE,
                    "DEPARTMENT_HANDLER": "tests.faults.department:DecidingDepartment",
                    "DEPARTMENT_JOURNAL": str(root / "journal.jsonl"), "DEPARTMENT_RECORD": str(self.record),
                    "DEPARTMENT_POLL_INTERVAL": "0.5", "PYTHONPATH": str(REPOSITORY)}
        self.process: subprocess.Popen | None = None

    def spawn(self) -> None:
        with open(self.root / "department.log", "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "department_adapter"], env=self.env, cwd=REPOSITORY,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def lines(self) -> list[dict]:
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text("utf-8").splitlines()]


@dataclass
class System:
    broker: PrivateRabbitMQ
    postgres: PrivatePostgres
    mailbox: Mailbox
    stack: LocalStack
    department: DepartmentAdapter
    databases: dict[str, str]
    exits: Counter = field(default_factory=Counter)  # processes found ended that nobody killed

    def rows(self, service: str, query: str) -> list[tuple]:
        engine = sa.create_engine(self.databases[service])
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(query))]
        finally:
            engine.dispose()

    def restart_ended(self) -> None:
        """Start again whatever ended on its own (a service that lost its broker may exit), as a supervisor would."""
        for service, process in list(self.stack.processes.items()):
            if process.poll() is not None:
                self.exits[service] += 1
                self.stack.spawn(service)
        if self.department.process.poll() is not None:
            self.exits["department"] += 1
            self.department.spawn()

    def wait_all_ready(self) -> None:
        for service in SERVICES:
            self.stack.wait_ready(service, timeout=90)


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    broker, postgres = PrivateRabbitMQ(), PrivatePostgres()
    try:
        broker.start()
        postgres.start()
        databases = {service: postgres.database(f"mct_faults_{service}") for service in WITH_DATABASE}
        for service, url in databases.items():
            upgrade(service, url)
        env = {f"{service.upper()}_DATABASE_URL": url for service, url in databases.items()}
        with Mailbox() as mailbox:
            env.update({
                "AMQP_URI": broker.uri, "MOTCUA_VAR_DIR": str(root / "var"), "OUTBOX_POLL_SECONDS": "0.5",
                "LOOKUP_RATE_PER_MINUTE": "100000", "JWT_SECRET": "faults-only-" + uuid.uuid4().hex,
                "CARRIER_SIMULATOR_STEP_SECONDS": "0", "MOTCUA_RETRY_DELAYS_SECONDS": "1,2,4,8,16",
                "NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(mailbox.port), "NOTIFY_SMTP_TIMEOUT": "3",
                "NOTIFY_SEND_LEASE_SECONDS": "15", "NOTIFY_SEND_INTERVAL_SECONDS": "0.2",
                "NOTIFY_RETRY_BASE_SECONDS": "1",
            })
            with LocalStack(env, {service: free_port() for service in START_ORDER}, root / "log") as stack:
                stack.seed()
                stack.start()
                user, password = f"faults-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
                Management(url=broker.management_url, vhost="/").add_department(COMMUNE, user, password)
                department = DepartmentAdapter(f"amqp://{user}:{password}@127.0.0.1:{broker.amqp_port}/%2F", root)
                department.spawn()
                try:
                    yield System(broker, postgres, mailbox, stack, department, databases)
                finally:
                    department.stop()
    finally:
        broker.close()
        postgres.close()


class Citizens:
    """Submit dossiers one after another, each retried with its Idempotency-Key until the gateway gives it a code."""

    def __init__(self, system: System, name: str):
        self.url = system.stack.url("gateway", "/api/v1/dossiers")
        self.definition: dict | None = None
        self.name = name
        self.accepted: dict[str, str] = {}  # Idempotency-Key -> dossier code
        self.refused: list[str] = []
        self.retries = 0

    def _post(self, key: str, body: dict) -> requests.Response | None:
        try:
            return requests.post(self.url, json=body, headers={"Idempotency-Key": key}, timeout=30)
        except requests.RequestException:
            return None

    def submit(self, key: str, body: dict, give_up: float) -> None:
        while time.monotonic() < give_up:
            answer = self._post(key, body)
            if answer is not None and answer.status_code in (200, 201):
                self.accepted[key] = answer.json()["dossier_code"]
                return
            if answer is not None and 400 <= answer.status_code < 500 and answer.status_code not in (408, 409, 429):
                self.refused.append(f"{key}: {answer.status_code} {answer.text[:300]}")
                return
            self.retries += 1
            time.sleep(0.5)
        self.refused.append(f"{key}: no code within the time allowed")

    def run(self, catalogue_url: str, faults_going_on: Callable[[], bool], most: int) -> None:
        while self.definition is None:
            try:
                self.definition = requests.get(catalogue_url, timeout=10).json()
            except (requests.RequestException, ValueError):
                time.sleep(0.5)
        for number in range(most):
            if not faults_going_on():
                return
            body = sample_submission(self.definition)
            body["applicant"]["email"] = f"{self.name}.{number}@example.org"
            body["notification_preferences"] = {"channels": ["email"]}
            self.submit(f"fault-{self.name}-{number:04d}", body, give_up=time.monotonic() + 180)
            time.sleep(0.3)


def inflict(system: System, fault: str, rng: random.Random) -> None:
    if fault == "rabbitmq":
        system.broker.restart()
    elif fault == "postgresql":
        system.postgres.kill()
        time.sleep(rng.uniform(0.5, 3))
        system.postgres.start()
    elif fault == "department":
        system.department.kill()
        time.sleep(rng.uniform(0, 2))
        system.department.spawn()
    else:
        system.stack.kill(fault)
        time.sleep(rng.uniform(0, 2))
        system.stack.spawn(fault)


def chaos(system: System, until: float, rng: random.Random) -> list[str]:
    """Every fault once in a random order, then random ones, a few seconds apart, until `until`."""
    schedule, done = rng.sample(FAULTS, len(FAULTS)), []
    while schedule or time.monotonic() < until:
        time.sleep(rng.uniform(0.5, 3))
        fault = schedule.pop(0) if schedule else rng.choice(FAULTS)
        inflict(system, fault, rng)
        done.append(fault)
        system.restart_ended()
    return done


def work_queues(system: System) -> dict[str, int]:
    """Messages in every queue but RPC reply queues: a killed caller's replies wait there for nobody, and
    the queue expires with them (nameko's RPC_REPLY_QUEUE_TTL)."""
    return {name: n for name, n in system.broker.queue_depths().items() if not name.startswith("rpc.reply-")}


def settled(system: System, codes: set[str]) -> bool:
    """Every dossier has gone as far as the campaign takes it and nothing is left in flight."""
    try:
        waiting = system.rows("status", "SELECT count(*) FROM dossier WHERE state = 'awaiting_supplement'")[0][0]
        sent = system.rows("notify", "SELECT count(*) FROM notification WHERE status = 'sent'")[0][0]
        unpublished = sum(system.rows(service, f"SELECT count(*) FROM {OUTBOX} WHERE published_at IS NULL")[0][0]
                          for service in WITH_DATABASE)
        in_queues = sum(work_queues(system).values())
    except (sa.exc.OperationalError, requests.RequestException):
        return False
    return waiting == len(codes) and sent == len(codes) * len(TEMPLATES) and not unpublished and not in_queues


def test_nothing_is_lost_or_done_twice_while_processes_crash(system, capsys):
    rng = random.Random(SEED)
    faults: list[str] = []
    citizens = [Citizens(system, f"citizen{n}") for n in range(2)]
    catalogue = system.stack.url("gateway", f"/api/v1/procedures/{PROCEDURE}")
    streams = [eventlet.spawn(c.run, catalogue, lambda: not faults, MOST_DOSSIERS // len(citizens))
               for c in citizens]
    faults += chaos(system, time.monotonic() + CHAOS_SECONDS, rng)
    until = time.monotonic()
    for stream in streams:
        stream.wait()
    system.restart_ended()
    system.wait_all_ready()
    if system.department.process.poll() is not None:
        system.department.spawn()

    accepted = {key: code for c in citizens for key, code in c.accepted.items()}
    codes = set(accepted.values())
    deadline = time.monotonic() + 240
    while not settled(system, codes) and time.monotonic() < deadline:
        time.sleep(1)
    settle_seconds = time.monotonic() - until

    intake = Counter(code for (code,) in system.rows("intake", "SELECT code FROM dossier"))
    status = dict(system.rows("status", "SELECT code, state FROM dossier"))
    history = Counter(system.rows("status", "SELECT dossier_code, to_state FROM dossier_history"))
    commands = Counter((o["dossier_code"], o["action"]) for (text,) in
                       system.rows("status", "SELECT outcome FROM department_command")
                       for o in [json.loads(text)])
    notifications = Counter(system.rows(
        "notify", "SELECT dossier_code, template_id FROM notification WHERE channel = 'email' AND status = 'sent'"))
    unpublished = {service: system.rows(service, f"SELECT count(*) FROM {OUTBOX} WHERE published_at IS NULL")[0][0]
                   for service in WITH_DATABASE}
    queues = work_queues(system)
    parked = {service: queues.get(dead_letter_queue_name(service), 0) for service in SERVICES}
    lines = system.department.lines()
    items = {(line["dossier_code"], line["item_type"]): set() for line in lines if line["kind"] == "work_item"}
    for line in lines:
        if line["kind"] == "work_item":
            items[(line["dossier_code"], line["item_type"])].add(line["event_id"])
    mail = Counter(message["Message-ID"] for message in system.mailbox.messages)
    mail_to = Counter(message["To"] for message in {m["Message-ID"]: m for m in system.mailbox.messages}.values())

    counts = {
        "seed": SEED, "fault seconds": CHAOS_SECONDS, "faults": dict(Counter(faults)),
        "processes that ended on their own": dict(system.exits),
        "dossiers given a code": len(accepted), "distinct codes": len(codes),
        "submissions retried": sum(c.retries for c in citizens),
        "submissions refused": sum(len(c.refused) for c in citizens),
        "dossiers in intake": sum(intake.values()), "dossiers in status": len(status),
        "history entries": sum(history.values()), "work items (distinct event ids)": sum(map(len, items.values())),
        "work item deliveries to the department": sum(1 for line in lines if line["kind"] == "work_item"),
        "department commands done": sum(commands.values()), "e-mails sent (rows)": sum(notifications.values()),
        "e-mail messages (distinct Message-ID)": len(mail), "e-mail deliveries (SMTP)": sum(mail.values()),
        "unpublished outbox rows": sum(unpublished.values()), "messages left in queues": sum(queues.values()),
        "parked in dead letters": sum(parked.values()), "seconds to settle after the faults": round(settle_seconds, 1),
    }
    with capsys.disabled():
        print("\nfault campaign:\n" + "\n".join(f"  {name}: {value}" for name, value in counts.items()))

    assert set(faults) == set(FAULTS), f"some faults were never inflicted: {set(FAULTS) - set(faults)}"
    assert not system.exits, "a service ended without being killed: it must outlive its broker and database"
    assert not [r for c in citizens for r in c.refused], [r for c in citizens for r in c.refused]
    assert accepted and len(codes) == len(accepted), "two submissions were given one code"
    assert intake == Counter(codes), "intake holds a dossier twice, or one no citizen was given, or lost one"
    assert set(status) == codes and set(status.values()) == {"awaiting_supplement"}, Counter(status.values())
    assert history == Counter((code, state) for code in codes for state in TRANSITIONS), \
        [(k, n) for k, n in history.items() if n != 1 or k[1] not in TRANSITIONS][:20]
    assert {key: len(ids) for key, ids in items.items()} == {(code, t): 1 for code in codes for t in ITEM_TYPES}
    assert commands == Counter((code, action) for code in codes for action in ("accept", "request_supplement"))
    assert not [line for line in lines if line["kind"] == "refused"]
    assert notifications == Counter((code, t) for code in codes for t in TEMPLATES)
    assert len(mail) == len(codes) * len(TEMPLATES) and set(mail_to.values()) == {len(TEMPLATES)}
    assert not any(unpublished.values()), unpublished
    assert not any(parked.values()), parked
    assert not any(queues.values()), {name: n for name, n in queues.items() if n}
    assert not queues.get(department_queue(COMMUNE))
