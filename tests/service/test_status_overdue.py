"""The overdue sweep with two status replicas on one PostgreSQL database and the real RabbitMQ:
one run per interval between them, one apology and one dossier_overdue event per missed date."""
import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import eventlet
import pytest
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue
from nameko.testing.services import replace_dependencies

import status.overdue
from motcua.calendar import local_date
from motcua.db import make_engine
from motcua.migrations import upgrade
from motcua.stack import free_port
from status.domain.deadlines import apology_new_date
from status.models import apology, dossier, dossier_history, metadata, sweep_run
from status.overdue import SWEEP_LOCK
from status.service import StatusService
from tests.conftest import truncate_all
from tests.service.test_status_reports import AGENCY_A, AGENCY_B, code, row
from tests.support import TEST_NOW, RunningClock, query_rows, take_messages

INTERVAL = 0.5
QUEUE = "test-status-dossier-overdue"
TODAY = local_date(TEST_NOW)
LONG_AGO = TEST_NOW - timedelta(days=20)
PAST = TODAY - timedelta(days=5)
outbox = metadata.tables["outbox_message"]


def seed_row(number, agency, state, legal_due_date, appointment_date=None, **fields):
    return {**row(code(agency, number), agency, "online", state, LONG_AGO, legal_due_date, **fields),
            "appointment_date": appointment_date or legal_due_date}


OVERDUE = {code(AGENCY_A, 1): PAST, code(AGENCY_B, 2): TODAY - timedelta(days=1)}  # code -> legal due date
SEED = [
    seed_row(1, AGENCY_A, "in_progress", PAST),
    seed_row(2, AGENCY_B, "received", TODAY - timedelta(days=1)),  # due yesterday: overdue today
    seed_row(3, AGENCY_A, "in_progress", TODAY),  # due today: on time until tonight
    seed_row(4, AGENCY_A, "awaiting_supplement", PAST),  # paused for the citizen: not overdue while paused
    seed_row(5, AGENCY_A, "completed", PAST, completed_at=LONG_AGO + timedelta(days=18)),
    seed_row(6, AGENCY_A, "in_progress", PAST, appointment_date=TODAY + timedelta(days=2)),  # apologised already
]
EARLIER_APOLOGY = {"dossier_code": code(AGENCY_A, 6), "agency_code": AGENCY_A,
                   "issued_at": TEST_NOW - timedelta(days=4), "original_appointment_date": PAST,
                   "new_appointment_date": TODAY + timedelta(days=2), "reason": "Quá hạn"}


@dataclass(frozen=True)
class Claim:
    replica: int  # id of the replica's engine
    at: datetime
    won: bool


def seed(url):
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(dossier.insert(), SEED)
        conn.execute(apology.insert(), [EARLIER_APOLOGY])
    engine.dispose()


@pytest.fixture(scope="module")
def postgres_url(postgres_database):
    return postgres_database("status")


@pytest.fixture
def claims(monkeypatch):
    """Every replica's attempt to claim a run, in order."""
    seen: list[Claim] = []
    claim = status.overdue._claim_run

    def spy(session, now, interval_seconds):
        won = claim(session, now, interval_seconds)
        seen.append(Claim(id(session.get_bind()), now, won))
        return won

    monkeypatch.setattr(status.overdue, "_claim_run", spy)
    monkeypatch.setenv("STATUS_SWEEP_SECONDS", str(INTERVAL))
    return seen


@pytest.fixture
def events(rabbit_config):
    """A queue bound to status.events for dossier_overdue, declared before any replica publishes."""
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        exchange = Exchange("status.events", type="topic", durable=True)
        Queue(QUEUE, exchange, routing_key="dossier_overdue", durable=False).declare(channel=conn.default_channel)
    return lambda count, timeout: take_messages(rabbit_config["AMQP_URI"], QUEUE, count, timeout)


def start_replicas(container_factory, rabbit_config, web_config, url, count):
    """`count` status containers on one database, each with its own HTTP port, sharing a clock that runs from
    TEST_NOW as a wall clock would."""
    ports = [web_config, *({"WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"} for _ in range(count - 1))]
    containers = [container_factory(StatusService, {**rabbit_config, **web, "DATABASE_URL": url}) for web in ports]
    clock = RunningClock(TEST_NOW)
    for container in containers:
        replace_dependencies(container, clock=clock)
        container.start()
    return containers


def test_two_replicas_sweep_once_per_interval_and_apologise_once_per_missed_date(
        container_factory, rabbit_config, web_config, postgres_url, claims, events):
    truncate_all(postgres_url)
    seed(postgres_url)
    replicas = start_replicas(container_factory, rabbit_config, web_config, postgres_url, 2)
    eventlet.sleep(8 * INTERVAL)
    for container in replicas:
        container.stop()

    runs = [c for c in claims if c.won]
    assert len({c.replica for c in claims}) == 2  # both replicas' timers fired
    assert len(claims) > len(runs) >= 5  # and the one not sweeping skipped
    assert min(b.at - a.at for a, b in itertools.pairwise(runs)) >= timedelta(seconds=0.9 * INTERVAL)
    [last] = query_rows(postgres_url, sa.select(sweep_run))
    assert (last["name"], last["last_run_at"]) == ("overdue", runs[-1].at)

    new_date = apology_new_date(TODAY, 3)
    issued = query_rows(postgres_url, sa.select(apology).where(apology.c.dossier_code != code(AGENCY_A, 6)))
    assert sorted((a["dossier_code"], a["original_appointment_date"], a["new_appointment_date"]) for a in issued) \
        == sorted((c, due, new_date) for c, due in OVERDUE.items())
    for dossier_row in query_rows(postgres_url, sa.select(dossier)):
        if dossier_row["code"] in OVERDUE:
            due = OVERDUE[dossier_row["code"]]
            assert (dossier_row["appointment_date"], dossier_row["legal_due_date"], dossier_row["overdue_since"],
                    dossier_row["version"]) == (new_date, due, due + timedelta(days=1), 3)
        else:
            assert (dossier_row["appointment_date"], dossier_row["overdue_since"], dossier_row["version"]) == (
                TODAY + timedelta(days=2) if dossier_row["code"] == code(AGENCY_A, 6)
                else dossier_row["legal_due_date"], None, 2)
    history = query_rows(postgres_url, sa.select(dossier_history))
    assert sorted((h["dossier_code"], h["seq"], h["action"], h["actor_kind"], h["public"]) for h in history) \
        == sorted((c, 3, "apology", "scheduler", True) for c in OVERDUE)

    received = events(3, timeout=5)  # one more than expected: waits to show there is no duplicate
    assert sorted(e["dossier_code"] for e in received) == sorted(OVERDUE)
    for event in received:
        assert event["data"] == {
            "dossier_code": event["dossier_code"], "procedure_code": "1.001193",
            "agency_code": event["dossier_code"][:13],
            "state": "in_progress" if event["dossier_code"] == code(AGENCY_A, 1) else "received",
            "original_appointment_date": OVERDUE[event["dossier_code"]].isoformat(),
            "new_appointment_date": new_date.isoformat(), "reason": event["data"]["reason"],
        }
        assert OVERDUE[event["dossier_code"]].strftime("%d/%m/%Y") in event["data"]["reason"]


def test_no_replica_sweeps_while_another_holds_the_lock(
        container_factory, rabbit_config, web_config, postgres_url, claims):
    truncate_all(postgres_url)
    seed(postgres_url)
    engine = make_engine(postgres_url)
    with engine.connect() as holder:
        holder.execute(sa.select(sa.func.pg_advisory_lock(SWEEP_LOCK)))  # a sweep running elsewhere
        start_replicas(container_factory, rabbit_config, web_config, postgres_url, 2)
        eventlet.sleep(4 * INTERVAL)
        assert len(claims) >= 4 and not any(c.won for c in claims)
        assert query_rows(postgres_url, sa.select(sa.func.count()).select_from(sweep_run))[0]["count_1"] == 0
        holder.execute(sa.select(sa.func.pg_advisory_unlock(SWEEP_LOCK)))
        holder.commit()
    engine.dispose()
    eventlet.sleep(3 * INTERVAL)
    assert any(c.won for c in claims)
    assert len(query_rows(postgres_url, sa.select(apology))) == 1 + len(OVERDUE)


def test_on_sqlite_the_single_process_sweeps_without_the_postgresql_lock(
        container_factory, rabbit_config, web_config, tmp_path, claims):
    url = f"sqlite:///{tmp_path / 'status.db'}"
    upgrade("status", url)
    seed(url)
    start_replicas(container_factory, rabbit_config, web_config, url, 1)
    eventlet.sleep(4 * INTERVAL)
    assert sum(c.won for c in claims) >= 3
    assert sorted(a["dossier_code"] for a in query_rows(url, sa.select(apology))) \
        == sorted([code(AGENCY_A, 6), *OVERDUE])
    assert sorted(r["routing_key"] for r in query_rows(url, sa.select(outbox))) == ["dossier_overdue"] * len(OVERDUE)
