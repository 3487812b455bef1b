"""status as a nameko service against the real RabbitMQ and PostgreSQL: registration from intake's
event, the citizen's view, actions with idempotency and optimistic locking, and the events it publishes."""
import hashlib
import json
import uuid
from datetime import date, datetime, timezone

import pytest
import requests
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from motcua.envelope import make_envelope
from motcua.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from status.models import dossier, dossier_history, metadata
from status.service import Service
from tests.conftest import truncate_all
from tests.support import query_rows, take_messages

AGENCY = "000.00.00.H49"
TRACKING_KEY = "tk-7d1e6f0a9b3c2d45"
OFFICIAL = {"kind": "official", "id": "official-42", "agency_code": AGENCY}
outbox = metadata.tables["outbox_message"]


@pytest.fixture(scope="module")
def database_url(postgres_database):
    return postgres_database("status")


@pytest.fixture
def config(rabbit_config, web_config, database_url):
    truncate_all(database_url)
    return {**rabbit_config, **web_config, "DATABASE_URL": database_url}


@pytest.fixture
def status(container_factory, config):
    container = container_factory(Service, config)
    container.start()
    return container


@pytest.fixture
def rpc(status, config):
    with ServiceRpcProxy("status", config, timeout=15) as proxy:
        yield proxy


def submitted_envelope(channel="online", number=1):
    code = f"{AGENCY}-261125-{number:04d}"
    data = {
        "dossier_code": code, "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh",
        "procedure_version": 1, "agency_code": AGENCY, "channel": channel, "return_method": "counter",
        "submitted_at": datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc), "appointment_date": date(2026, 11, 27),
        "time_limit_working_days": "2", "cutoff_hour": "15:00",
        "tracking_key_hash": hashlib.sha256(TRACKING_KEY.encode()).hexdigest(),
        "applicant": {"full_name": "Nguyễn Văn An", "phone": "0912345678", "email": None},
        "form": {}, "attachments": [], "fees_vnd": None,
    }
    return make_envelope("dossier_submitted", producer="intake", data=data, dossier_code=code)


def publish_submitted(status, envelope):
    with entrypoint_waiter(status, "on_dossier_submitted", timeout=10):
        with Connection(status.config["AMQP_URI"]) as conn:
            exchange = Exchange("intake.events", type="topic", durable=True)
            conn.Producer().publish(envelope, exchange=exchange, routing_key="dossier_submitted",
                                    serializer="json", delivery_mode=2, declare=[exchange])
    return envelope["dossier_code"]


def dossier_row(url, code):
    [row] = query_rows(url, sa.select(dossier).where(dossier.c.code == code))
    return row


def history(url, code):
    return query_rows(url, sa.select(dossier_history).where(dossier_history.c.dossier_code == code)
                 .order_by(dossier_history.c.seq))


def outbox_types(url):
    return [row["routing_key"] for row in query_rows(url, sa.select(outbox).order_by(outbox.c.seq))]


def action(name, key=None, **inputs):
    return {"action": name, "idempotency_key": key or f"key-{uuid.uuid4().hex}", "actor": OFFICIAL, **inputs}


def test_an_online_dossier_is_registered_once_even_when_the_event_is_redelivered(status, database_url):
    envelope = submitted_envelope("online")
    code = publish_submitted(status, envelope)
    row = dossier_row(database_url, code)
    assert (row["state"], row["version"], row["received_at"]) == ("submitted", 1, None)
    assert row["applicant_given_name"] == "An"
    assert row["submitted_at"] == datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    assert [h["action"] for h in history(database_url, code)] == ["register"]

    publish_submitted(status, envelope)  # the broker delivers it again
    publish_submitted(status, {**envelope, "event_id": str(uuid.uuid4())})  # intake announces it again
    assert dossier_row(database_url, code)["version"] == 1
    assert len(history(database_url, code)) == 1
    assert outbox_types(database_url) == ["dossier_registered"]


@pytest.mark.parametrize("channel", ["counter", "postal"])
def test_a_counter_or_postal_dossier_is_received_at_once(status, database_url, web_config_port, channel):
    code = publish_submitted(status, submitted_envelope(channel))
    row = dossier_row(database_url, code)
    assert (row["state"], row["version"]) == ("received", 2)
    assert row["received_at"] == row["submitted_at"]
    assert row["appointment_date"] == date(2026, 11, 27)  # as intake issued it
    assert [(h["action"], h["actor_kind"]) for h in history(database_url, code)] == [
        ("register", "system"), ("accept", "system")]
    assert outbox_types(database_url) == ["dossier_registered", "dossier_received"]
    metrics = requests.get(f"http://127.0.0.1:{web_config_port}/metrics", timeout=5).text
    assert f'motcua_dossiers_registered_total{{agency="{AGENCY}",channel="{channel}",procedure="1.001193"}}' in metrics
    labels = f'agency="{AGENCY}",channel="{channel}",event_type="dossier_received"'
    assert f"motcua_dossier_transitions_total{{{labels}}}" in metrics


def test_the_citizen_sees_the_public_view_with_the_right_key_only(status, rpc):
    code = publish_submitted(status, submitted_envelope("online"))
    rpc.apply_action(code, action("accept"))
    rpc.apply_action(code, action("assign", assignee="official-7"))
    rpc.apply_action(code, action("assign", assignee="official-8"))  # internal: not in the public history

    view = rpc.get_public_view(code, TRACKING_KEY)
    assert (view["dossier_code"], view["state"], view["national_status_code"]) == (code, "in_progress", 4)
    assert view["holder_agency_code"] == AGENCY
    assert [(h["action"], h["to_state"], h["actor_kind"]) for h in view["history"]] == [
        ("register", "submitted", "system"), ("accept", "received", "official"), ("assign", "in_progress", "official")]
    text = json.dumps(view, ensure_ascii=False)
    for private in ("official-42", "official-7", "official-8", "Nguyễn", "0912345678"):
        assert private not in text

    with pytest.raises(NotFound) as wrong_key:
        rpc.get_public_view(code, TRACKING_KEY + "x")
    with pytest.raises(NotFound) as unknown_code:
        rpc.get_public_view(f"{AGENCY}-261125-9999", TRACKING_KEY)
    assert wrong_key.value.message == unknown_code.value.message  # existence is not revealed


def test_accept_then_an_illegal_action_is_refused_and_changes_nothing(status, rpc, database_url):
    code = publish_submitted(status, submitted_envelope("online"))
    outcome = rpc.apply_action(code, action("accept"))
    assert (outcome["dossier_code"], outcome["state"], outcome["version"]) == (code, "received", 2)
    before = dossier_row(database_url, code)

    with pytest.raises(IllegalTransition) as refused:
        rpc.apply_action(code, action("complete"))
    assert "received" in refused.value.message and "complete" in refused.value.message
    with pytest.raises(ValidationFailed) as invalid:
        rpc.apply_action(code, action("refuse", actor={"kind": "wizard"}))
    assert "actor.kind" in invalid.value.fields
    assert dossier_row(database_url, code) == before
    assert [h["action"] for h in history(database_url, code)] == ["register", "accept"]
    assert outbox_types(database_url) == ["dossier_registered", "dossier_received"]


def test_a_repeated_idempotency_key_returns_the_first_outcome_and_a_different_body_conflicts(status, rpc, database_url):
    code = publish_submitted(status, submitted_envelope("online"))
    rpc.apply_action(code, action("accept"))
    first = rpc.apply_action(code, action("assign", key="assign-once-0001", assignee="official-7"))
    again = rpc.apply_action(code, action("assign", key="assign-once-0001", assignee="official-7"))
    assert again == first == {**first, "state": "in_progress", "version": 3}
    with pytest.raises(Conflict) as conflict:
        rpc.apply_action(code, action("assign", key="assign-once-0001", assignee="official-9"))
    assert "idempotency_key" in conflict.value.fields
    assert [h["action"] for h in history(database_url, code)] == ["register", "accept", "assign"]
    assert dossier_row(database_url, code)["assignee"] == "official-7"


def test_the_dossier_received_event_is_published_to_status_events(status, rpc, config):
    with Connection(config["AMQP_URI"]) as conn:
        Queue("test-dossier-received", exchange=Exchange("status.events", type="topic", durable=True),
              routing_key="dossier_received")(conn.default_channel).declare()
    code = publish_submitted(status, submitted_envelope("online"))
    outcome = rpc.apply_action(code, action("accept"))

    [envelope] = take_messages(config["AMQP_URI"], "test-dossier-received", 1)
    assert (envelope["event_type"], envelope["producer"]) == ("dossier_received", "status")
    assert envelope["dossier_code"] == code
    data = envelope["data"]
    assert (data["action"], data["from_state"], data["to_state"], data["national_status_code"]) == (
        "accept", "submitted", "received", 2)
    assert (data["agency_code"], data["channel"], data["actor"]) == (AGENCY, "online", OFFICIAL)
    assert data["appointment_date"] == outcome["appointment_date"]


def test_of_two_concurrent_actions_on_the_same_version_one_wins_and_the_other_conflicts(status, rpc, database_url):
    code = publish_submitted(status, submitted_envelope("online"))
    version = rpc.apply_action(code, action("accept"))["version"]
    replies = [rpc.apply_action.call_async(code, action("assign", assignee=who, expected_version=version))
               for who in ("official-7", "official-8")]
    results = []
    for reply in replies:
        try:
            results.append(reply.result())
        except Conflict as exc:
            results.append(exc)
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "dict"]
    assert [h["action"] for h in history(database_url, code)] == ["register", "accept", "assign"]
    assert dossier_row(database_url, code)["version"] == version + 1


def test_the_same_command_sent_twice_at_once_is_done_once_and_both_get_its_outcome(status, rpc, database_url):
    code = publish_submitted(status, submitted_envelope("online"))
    rpc.apply_action(code, action("accept"))
    command = action("assign", key="assign-twice-0001", assignee="official-7")
    replies = [rpc.apply_action.call_async(code, command) for _ in range(2)]
    first, second = (reply.result() for reply in replies)
    assert first == second == {**first, "state": "in_progress", "version": 3}
    assert [h["action"] for h in history(database_url, code)] == ["register", "accept", "assign"]
