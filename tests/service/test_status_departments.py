"""status and the departments' own systems, against the real RabbitMQ and PostgreSQL: each agency's
work items reach its queue and no other, and a department's commands are done with the desk's
rules and answered on its own queue, once per command_id; garbage is parked, the rest goes on."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
import requests
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_waiter

from motcua.envelope import make_envelope
from motcua_contracts.departments import COMMANDS_EXCHANGE, WORK_EXCHANGE, command_routing_key
from tests.conftest import truncate_all
from tests.service.test_messaging import read_dead_letters
from tests.service.test_status_desk import supplement_envelope
from tests.service.test_status_service import dossier_row, history, publish_submitted, submitted_envelope
from tests.support import TEST_NOW, take_messages

AGENCY_A, AGENCY_B = "000.00.00.H49", "000.00.12.H49"  # A receives the test dossiers (submitted_envelope's agency)


@pytest.fixture(scope="module")
def database_url(postgres_database):
    return postgres_database("status")


@pytest.fixture
def config(rabbit_config, web_config, database_url):
    truncate_all(database_url)
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        work = Exchange(WORK_EXCHANGE, type="topic", durable=True)
        for agency in (AGENCY_A, AGENCY_B):  # as `python -m motcua.departments add` binds a department's queue
            Queue(queue_of(agency), exchange=work, routing_key=f"{agency}.#", durable=True)(conn.default_channel).declare()
    return {**rabbit_config, **web_config, "DATABASE_URL": database_url}


def queue_of(agency):
    return f"test-department-{agency}"


def received(status, agency, count):
    """(event type, data) of the next `count` messages on the agency's queue."""
    messages = take_messages(status.config["AMQP_URI"], queue_of(agency), count)
    assert len(messages) == count, messages
    return [(m["event_type"], m["data"]) for m in messages]


def nothing_more(status, agency):
    return take_messages(status.config["AMQP_URI"], queue_of(agency), 1, timeout=1.0) == []


def publish_command(status, routing_key, body):
    with Connection(status.config["AMQP_URI"]) as conn:
        exchange = Exchange(COMMANDS_EXCHANGE, type="topic", durable=True)
        conn.Producer().publish(body, exchange=exchange, routing_key=routing_key, serializer="json",
                                delivery_mode=2, declare=[exchange])


def command(status, agency, code, action, command_id=None, routing_agency=None, **fields):
    """Send a department's command (DepartmentCommandSchema) and wait until status handled it."""
    data = {"command_id": command_id or f"cmd-{uuid.uuid4().hex}", "agency_code": agency, "dossier_code": code,
            "action": action, **fields}
    with entrypoint_waiter(status, "on_department_command", timeout=10):
        publish_command(status, command_routing_key(routing_agency or agency, action),
                        make_envelope("department_command", producer="department", data=data, dossier_code=code))
    return data["command_id"]


def outcome_of(status, agency, command_id):
    """The outcome the agency received for `command_id` (skipping its work items)."""
    for _ in range(5):
        for event_type, data in received(status, agency, 1):
            if event_type == "command_outcome":
                assert data["command_id"] == command_id
                return data
    raise AssertionError("no outcome")


def submitted_online(status):
    """An online dossier registered at agency A, which is told it waits for acceptance."""
    code = publish_submitted(status, submitted_envelope("online"))
    [(event_type, item)] = received(status, AGENCY_A, 1)
    assert (event_type, item["item_type"], item["dossier_code"], item["state"]) == (
        "work_item", "dossier_registered", code, "submitted")
    return code


def official(agency, *roles):
    return {"subject": f"can-bo@{agency}", "agency_code": agency, "roles": list(roles), "token_id": uuid.uuid4().hex,
            "expires_at": (TEST_NOW + timedelta(hours=1)).isoformat()}


def test_an_online_dossier_accepted_at_the_desk_puts_a_received_item_on_its_agencys_queue_only(status, rpc):
    code = submitted_online(status)
    outcome = rpc.desk_action(official(AGENCY_A, "receptionist"), code, {"action": "accept"}, "accept-0001")

    [(event_type, item)] = received(status, AGENCY_A, 1)
    assert (event_type, item["item_type"], item["agency_code"], item["dossier_code"]) == (
        "work_item", "dossier_received", AGENCY_A, code)
    assert (item["state"], item["version"], item["appointment_date"]) == (
        "received", outcome["version"], outcome["appointment_date"])
    assert nothing_more(status, AGENCY_A) and nothing_more(status, AGENCY_B)


def test_a_departments_accept_supplement_request_transfer_and_completion_go_as_at_the_desk(
        status, database_url, web_config_port):
    code = submitted_online(status)

    accept = command(status, AGENCY_A, code, "accept", official_id="chuyen-vien-09", expected_version=1)
    item, answer = received(status, AGENCY_A, 2)  # the work it made, then the answer
    assert item == ("work_item", {**item[1], "item_type": "dossier_received", "version": 2})
    assert answer[0] == "command_outcome"
    assert {k: answer[1][k] for k in ("command_id", "agency_code", "dossier_code", "action", "outcome", "state",
                                      "version", "error")} == {
        "command_id": accept, "agency_code": AGENCY_A, "dossier_code": code, "action": "accept", "outcome": "accepted",
        "state": "received", "version": 2, "error": None}

    supplement = command(status, AGENCY_A, code, "request_supplement", missing_items=["Bản sao giấy chứng sinh"],
                         expected_version=2)
    assert outcome_of(status, AGENCY_A, supplement)["state"] == "awaiting_supplement"
    with entrypoint_waiter(status, "on_supplement_submitted", timeout=10), \
            Connection(status.config["AMQP_URI"]) as conn:
        exchange = Exchange("intake.events", type="topic", durable=True)
        conn.Producer().publish(supplement_envelope(code, TEST_NOW), exchange=exchange,
                                routing_key="supplement_submitted", serializer="json", declare=[exchange])
    [(_, back)] = received(status, AGENCY_A, 1)
    assert (back["item_type"], back["state"], back["version"]) == ("supplement_received", "in_progress", 4)

    transfer = command(status, AGENCY_A, code, "transfer", to_agency_code=AGENCY_B, reason="Thuộc thẩm quyền của sở",
                       expected_version=4)
    assert outcome_of(status, AGENCY_A, transfer)["version"] == 5
    [(_, moved)] = received(status, AGENCY_B, 1)
    assert (moved["item_type"], moved["agency_code"], moved["from_agency_code"], moved["version"]) == (
        "dossier_transferred", AGENCY_B, AGENCY_A, 5)
    assert nothing_more(status, AGENCY_A)  # the transfer's work is the receiving agency's

    complete = command(status, AGENCY_B, code, "complete", expected_version=5)
    done = outcome_of(status, AGENCY_B, complete)
    assert (done["outcome"], done["state"], done["version"]) == ("accepted", "completed", 6)

    rows = history(database_url, code)
    assert [(h["action"], h["actor_kind"], h["actor_id"], h["actor_agency_code"]) for h in rows] == [
        ("register", "system", None, None),
        ("accept", "department_system", "chuyen-vien-09", AGENCY_A),
        ("request_supplement", "department_system", f"department:{AGENCY_A}", AGENCY_A),
        ("receive_supplement", "citizen", None, None),
        ("transfer", "department_system", f"department:{AGENCY_A}", AGENCY_A),
        ("complete", "department_system", f"department:{AGENCY_B}", AGENCY_B)]
    assert [rows[i]["idempotency_key"] for i in (1, 2, 4, 5)] == [accept, supplement, transfer, complete]
    row = dossier_row(database_url, code)
    assert (row["state"], row["holder_agency_code"], row["version"]) == ("completed", AGENCY_B, 6)

    metrics = requests.get(f"http://127.0.0.1:{web_config_port}/metrics", timeout=5).text
    assert 'motcua_department_commands_total{action="complete",outcome="accepted"}' in metrics
    assert 'motcua_department_work_items_total{item_type="dossier_transferred"}' in metrics


def test_a_body_naming_another_agency_than_its_routing_key_is_forbidden_and_changes_nothing(status, database_url):
    code = submitted_online(status)
    sent = command(status, AGENCY_A, code, "accept", routing_agency=AGENCY_B)  # B's system speaking for A
    answer = outcome_of(status, AGENCY_B, sent)  # the answer goes to who sent it
    assert (answer["outcome"], answer["agency_code"], answer["error"]["code"]) == ("rejected", AGENCY_B, "forbidden")
    assert "agency_code" in answer["error"]["fields"]
    assert dossier_row(database_url, code)["version"] == 1
    assert nothing_more(status, AGENCY_A)


def test_only_the_agency_holding_the_dossier_now_acts_on_it(status, database_url):
    code = submitted_online(status)
    never_held = outcome_of(status, AGENCY_B, command(status, AGENCY_B, code, "accept"))
    assert (never_held["outcome"], never_held["error"]["code"], never_held["state"]) == ("rejected", "not_found", None)

    command(status, AGENCY_A, code, "accept")
    command(status, AGENCY_A, code, "transfer", to_agency_code=AGENCY_B)
    received(status, AGENCY_A, 3)  # the received item and both answers (the transferred item is B's)
    held_before = outcome_of(status, AGENCY_A, command(status, AGENCY_A, code, "stop", reason="Người nộp đề nghị dừng"))
    assert (held_before["outcome"], held_before["error"]["code"]) == ("rejected", "forbidden")
    assert dossier_row(database_url, code)["state"] == "in_progress"


def test_a_stale_expected_version_is_rejected_with_the_current_version(status, database_url):
    code = submitted_online(status)
    command(status, AGENCY_A, code, "accept")
    received(status, AGENCY_A, 2)
    stale = outcome_of(status, AGENCY_A, command(status, AGENCY_A, code, "request_supplement",
                                                 missing_items=["Tờ khai"], expected_version=1))
    assert (stale["outcome"], stale["error"]["code"], stale["state"], stale["version"]) == (
        "rejected", "conflict", "received", 2)
    assert dossier_row(database_url, code)["state"] == "received"


def test_the_same_command_id_is_answered_the_same_and_done_once_even_when_rejected(status, rpc, database_url):
    code = submitted_online(status)
    first = outcome_of(status, AGENCY_A, command(status, AGENCY_A, code, "accept", command_id="so-tp-accept-0001"))
    again = outcome_of(status, AGENCY_A, command(status, AGENCY_A, code, "accept", command_id="so-tp-accept-0001"))
    assert again == first and first["outcome"] == "accepted"
    assert [h["action"] for h in history(database_url, code)] == ["register", "accept"]
    assert nothing_more(status, AGENCY_A)  # one work item only, taken above with the first answer

    early = outcome_of(status, AGENCY_A, command(status, AGENCY_A, code, "complete", command_id="so-tp-complete-01"))
    assert (early["outcome"], early["error"]["code"]) == ("rejected", "illegal_transition")
    rpc.desk_action(official(AGENCY_A, "handler"), code, {"action": "assign", "assignee": "can-bo-7"}, "assign-0001")
    received(status, AGENCY_A, 1)
    # Completable now, but this command_id was answered: the same rejection, nothing done.
    assert outcome_of(status, AGENCY_A,
                      command(status, AGENCY_A, code, "complete", command_id="so-tp-complete-01")) == early
    assert dossier_row(database_url, code)["state"] == "in_progress"

    # Another agency reusing the id learns nothing of A's command.
    reused = outcome_of(status, AGENCY_B, command(status, AGENCY_B, code, "accept", command_id="so-tp-accept-0001"))
    assert (reused["outcome"], reused["agency_code"], reused["error"]["code"], reused["state"]) == (
        "rejected", AGENCY_B, "conflict", None)


def envelope_with(data):
    return {"event_id": str(uuid.uuid4()), "event_type": "department_command", "schema_version": 1,
            "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "department",
            "dossier_code": None, "correlation_id": uuid.uuid4().hex, "data": data}


def test_an_off_contract_command_with_a_readable_id_is_answered_with_its_field_messages(status, config, database_url):
    code = submitted_online(status)
    data = {"command_id": "so-tp-bad-00001", "agency_code": AGENCY_A, "dossier_code": code, "action": "approve",
            "colour": "red"}
    with entrypoint_waiter(status, "on_department_command", timeout=10):
        publish_command(status, f"{AGENCY_A}.approve", envelope_with(data))
    answer = outcome_of(status, AGENCY_A, "so-tp-bad-00001")
    assert (answer["outcome"], answer["error"]["code"], answer["dossier_code"]) == (
        "rejected", "validation_failed", code)
    assert set(answer["error"]["fields"]) == {"action", "colour"}
    assert read_dead_letters(config["AMQP_URI"], "status") == []
    assert dossier_row(database_url, code)["version"] == 1


def test_garbage_is_parked_and_the_service_goes_on_with_the_next_command(status, config):
    code = submitted_online(status)
    garbage = [
        (f"{AGENCY_A}.accept", b"not json at all"),
        (f"{AGENCY_A}.accept", json.dumps({"command_id": "so-tp-no-envelope"}).encode()),  # no envelope
        (f"{AGENCY_A}.accept",
         json.dumps(envelope_with({"action": "accept", "agency_code": AGENCY_A})).encode()),  # no id
        (f"{AGENCY_A}.accept", json.dumps(envelope_with({"command_id": "so-tp-other-01", "agency_code": AGENCY_B,
                                                         "action": "accept"})).encode()),  # an answer for B's queue
        ("accept", json.dumps(make_envelope("department_command", producer="department", data={
            "command_id": "so-tp-nobody-01", "agency_code": AGENCY_A, "dossier_code": code,
            "action": "accept"})).encode()),
    ]
    with Connection(config["AMQP_URI"]) as conn:
        exchange = Exchange(COMMANDS_EXCHANGE, type="topic", durable=True)
        for routing_key, body in garbage:
            conn.Producer().publish(body, exchange=exchange, routing_key=routing_key,
                                    content_type="application/json", content_encoding="utf-8", declare=[exchange])
    dead = []
    for _ in range(40):
        dead += read_dead_letters(config["AMQP_URI"], "status")
        if len(dead) >= len(garbage):
            break
        eventlet.sleep(0.25)
    assert len(dead) == len(garbage)
    headers = [m.properties["application_headers"] for m in dead]
    # Parked by the consumer or, for what reached the handler, by its worker: in no set order.
    assert sorted(h["x-motcua-original-routing-key"] for h in headers) == sorted(key for key, _ in garbage)
    assert all(h["x-motcua-original-queue"] == "status.department-commands" for h in headers)
    assert nothing_more(status, AGENCY_A) and nothing_more(status, AGENCY_B)  # nobody to answer

    accepted = outcome_of(status, AGENCY_A, command(status, AGENCY_A, code, "accept"))
    assert accepted["outcome"] == "accepted"
