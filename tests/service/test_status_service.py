"""status as a nameko service against the real RabbitMQ and PostgreSQL: registration from intake's
event, the citizen's view, actions with idempotency and optimistic locking, and the events it publishes."""
import hashlib
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
import requests
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_waiter

from motcua.envelope import make_envelope
from motcua.errors import Conflict, IllegalTransition, NotFound, ValidationFailed
from status.models import dossier, dossier_history, metadata
from tests.conftest import truncate_all
from tests.support import TEST_NOW, dossier_submitted, query_rows, take_messages

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


def submitted_envelope(channel="online", number=1):
    code = f"{AGENCY}-261125-{number:04d}"
    data = dossier_submitted(dossier_code=code, agency_code=AGENCY, channel=channel,
                             tracking_key_hash=hashlib.sha256(TRACKING_KEY.encode()).hexdigest())
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
    """The events staged for status.events (work items for departments are staged beside them)."""
    return [row["routing_key"] for row in query_rows(
        url, sa.select(outbox).where(outbox.c.exchange == "status.events").order_by(outbox.c.seq))]


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


# --- the result by post (postal.events) ----------------------------------------------------------

DELIVERY_ID = uuid.UUID("5b0f9a52-2f5e-4b8e-9a57-4f3c1c7e0a11")
HANDLERS = {"delivery_ordered": "on_delivery_ordered", "result_shipped": "on_result_shipped",
            "delivery_out_for_delivery": "on_delivery_out_for_delivery",
            "delivery_attempt_failed": "on_delivery_attempt_failed", "result_delivered": "on_result_delivered",
            "result_returned_to_sender": "on_result_returned_to_sender"}
STATES = {"delivery_ordered": "ordered", "result_shipped": "picked_up",
          "delivery_out_for_delivery": "out_for_delivery", "delivery_attempt_failed": "attempt_failed",
          "result_delivered": "delivered", "result_returned_to_sender": "returned_to_sender"}


def completed_by_post(status, rpc):
    """A postal dossier (received at once), completed by the department's system: its result goes by post."""
    envelope = submitted_envelope("postal")
    envelope["data"]["return_method"] = "postal"
    code = publish_submitted(status, envelope)
    system = {"kind": "department_system", "id": "so-tp", "agency_code": AGENCY}
    rpc.apply_action(code, action("assign", assignee="official-7"))
    rpc.apply_action(code, {**action("complete"), "actor": system})
    return code


def delivery_envelope(code, event_type, at, attempts=0, **extra):
    data = {"delivery_id": DELIVERY_ID, "dossier_code": code, "agency_code": AGENCY, "waybill": "VN123456789",
            "carrier": "vnpost", "state": STATES[event_type], "at": at, "attempts": attempts, "max_attempts": 2,
            **extra}
    return make_envelope(event_type, producer="postal", data=data, dossier_code=code)


def publish_delivery(status, envelope):
    with entrypoint_waiter(status, HANDLERS[envelope["event_type"]], timeout=10):
        with Connection(status.config["AMQP_URI"]) as conn:
            exchange = Exchange("postal.events", type="topic", durable=True)
            conn.Producer().publish(envelope, exchange=exchange, routing_key=envelope["event_type"],
                                    serializer="json", delivery_mode=2, declare=[exchange])


def at(hour, minute=0, day=3):
    return datetime(2026, 12, day, hour, minute, tzinfo=timezone.utc)


def outbox_data(url, event_type):
    return [json.loads(row["body"])["data"] for row in query_rows(
        url, sa.select(outbox).where(outbox.c.routing_key == event_type).order_by(outbox.c.seq))]


def test_lifecycle_events_say_how_the_result_returns(status, rpc, database_url):
    code = completed_by_post(status, rpc)
    assert {data["return_method"] for data in outbox_data(database_url, "dossier_completed")} == {"postal"}
    assert [d["return_method"] for d in outbox_data(database_url, "dossier_received")] == ["postal"]
    assert rpc.get_public_view(code, TRACKING_KEY)["return_method"] == "postal"


def test_delivery_events_build_the_summary_and_delivered_returns_the_dossier_as_the_carrier(
        status, rpc, database_url):
    code = completed_by_post(status, rpc)
    assert rpc.get_public_view(code, TRACKING_KEY)["delivery"] is None  # nothing ordered yet
    publish_delivery(status, delivery_envelope(code, "delivery_ordered", at(1)))
    publish_delivery(status, delivery_envelope(code, "result_shipped", at(2)))
    view = rpc.get_public_view(code, TRACKING_KEY)
    assert view["delivery"] == {"waybill": "VN123456789", "carrier": "vnpost", "state": "picked_up", "attempts": 0,
                                "updated_at": "2026-12-03T02:00:00+00:00"}
    assert view["state"] == "completed"

    delivered = delivery_envelope(code, "result_delivered", at(4), attempts=1, recipient_name="Nguyễn Văn An")
    publish_delivery(status, delivered)
    # Late and out of order: the out-for-delivery step arrives after the delivery; nothing goes backwards.
    publish_delivery(status, delivery_envelope(code, "delivery_out_for_delivery", at(3)))
    publish_delivery(status, delivered)  # the broker delivers it again
    publish_delivery(status, {**delivered, "event_id": str(uuid.uuid4())})  # postal announces it again

    view = rpc.get_public_view(code, TRACKING_KEY)
    assert (view["state"], view["national_status_code"]) == ("returned", 10)
    assert view["delivery"] == {"waybill": "VN123456789", "carrier": "vnpost", "state": "delivered", "attempts": 1,
                                "updated_at": "2026-12-03T04:00:00+00:00"}
    last = history(database_url, code)[-1]
    assert (last["action"], last["from_state"], last["to_state"]) == ("return_result", "completed", "returned")
    assert (last["actor_kind"], last["actor_id"], last["idempotency_key"]) == ("carrier", "vnpost",
                                                                              delivered["event_id"])
    assert last["at"] == at(4) and "Nguyễn Văn An" in last["reason"]  # the proof of delivery
    assert [h["action"] for h in history(database_url, code)].count("return_result") == 1
    [returned] = outbox_data(database_url, "dossier_returned")
    assert (returned["actor"], returned["return_method"]) == (
        {"kind": "carrier", "id": "vnpost", "agency_code": None}, "postal")
    assert dossier_row(database_url, code)["returned_at"] == at(4)


def test_the_desk_shows_how_the_result_returns_and_where_its_delivery_is(status, rpc):
    code = completed_by_post(status, rpc)
    official = {"subject": "can-bo-1", "agency_code": AGENCY, "roles": ["receptionist"], "token_id": "t-1",
                "expires_at": (TEST_NOW + timedelta(hours=1)).isoformat()}
    detail = rpc.desk_get(official, code)
    assert (detail["return_method"], detail["delivery"]) == ("postal", None)  # nothing ordered yet
    publish_delivery(status, delivery_envelope(code, "delivery_ordered", at(1)))
    publish_delivery(status, delivery_envelope(code, "result_shipped", at(2)))
    assert rpc.desk_get(official, code)["delivery"] == rpc.get_public_view(code, TRACKING_KEY)["delivery"] == {
        "waybill": "VN123456789", "carrier": "vnpost", "state": "picked_up", "attempts": 0,
        "updated_at": "2026-12-03T02:00:00+00:00"}


def test_two_failed_attempts_then_returned_to_sender_bring_the_result_to_the_counter(status, rpc, database_url):
    code = completed_by_post(status, rpc)
    version = dossier_row(database_url, code)["version"]
    for event_type, when, attempts in (("delivery_ordered", at(1), 0), ("result_shipped", at(2), 0),
                                       ("delivery_out_for_delivery", at(3), 0),
                                       ("delivery_attempt_failed", at(5), 1),
                                       ("delivery_out_for_delivery", at(3, day=4), 1),
                                       ("delivery_attempt_failed", at(5, day=4), 2),
                                       ("result_returned_to_sender", at(2, day=5), 2)):
        reason = "Không có người nhận" if event_type == "delivery_attempt_failed" else None
        publish_delivery(status, delivery_envelope(code, event_type, when, attempts, reason=reason))
        if event_type == "delivery_attempt_failed":
            assert rpc.get_public_view(code, TRACKING_KEY)["delivery"]["attempts"] == attempts

    view = rpc.get_public_view(code, TRACKING_KEY)
    assert (view["state"], view["return_method"]) == ("completed", "counter")
    assert (view["delivery"]["state"], view["delivery"]["attempts"]) == ("returned_to_sender", 2)
    assert view["history"][-1]["action"] == "collect_at_counter"  # the citizen sees where to collect it
    row = dossier_row(database_url, code)
    assert (row["state"], row["return_method"], row["version"]) == ("completed", "counter", version + 1)
    last = history(database_url, code)[-1]
    assert (last["action"], last["actor_kind"], last["from_state"], last["to_state"]) == (
        "collect_at_counter", "carrier", "completed", "completed")
    assert outbox_data(database_url, "dossier_returned") == []

    # The citizen collects it at the counter: the result goes back as any other.
    outcome = rpc.apply_action(code, action("return_result"))
    assert outcome["state"] == "returned"
    assert outbox_data(database_url, "dossier_returned")[0]["return_method"] == "counter"


def test_a_delivery_after_the_result_was_handed_over_at_the_counter_changes_only_the_summary(
        status, rpc, database_url):
    code = completed_by_post(status, rpc)
    rpc.apply_action(code, action("return_result"))  # the citizen came to the counter after all
    before = dossier_row(database_url, code)
    publish_delivery(status, delivery_envelope(code, "result_delivered", at(4), 1, recipient_name="Nguyễn Văn An"))
    assert dossier_row(database_url, code) == before
    assert [h["action"] for h in history(database_url, code)].count("return_result") == 1
    assert rpc.get_public_view(code, TRACKING_KEY)["delivery"]["state"] == "delivered"


def test_a_delivery_stamped_before_the_completion_is_recorded_at_the_completion(status, rpc, database_url):
    code = completed_by_post(status, rpc)
    completed_at = dossier_row(database_url, code)["completed_at"]
    skewed = completed_at - timedelta(hours=2)  # the carrier's clock is behind
    publish_delivery(status, delivery_envelope(code, "result_delivered", skewed, 1, recipient_name="Nguyễn Văn An"))
    row = dossier_row(database_url, code)
    assert (row["state"], row["returned_at"]) == ("returned", completed_at)
    assert history(database_url, code)[-1]["at"] == completed_at
    assert rpc.get_public_view(code, TRACKING_KEY)["delivery"]["updated_at"] == skewed.isoformat()
