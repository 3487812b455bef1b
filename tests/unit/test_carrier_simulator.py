"""The carrier simulator's rules: VNPost-style waybills, each scenario's events, what each event reports,
how callbacks are signed, and which refusals a carrier tries again."""
from datetime import datetime, timezone
from itertools import count

import pytest
from marshmallow import ValidationError

from carrier_simulator import rules
from motcua.webhooks import verify
from motcua_contracts.postal import DELIVERY_CARRIER_EVENTS, PICKUP_CARRIER_EVENTS, CarrierCallbackSchema

ADDRESS = {"province": "Hải Phòng", "commune": "Phường Hồng Bàng", "street": "18 Hoàng Diệu"}
PICKUP = {"client_reference": "p-1", "kind": "pickup", "sender": {"name": "Trần Thị Lan", "address": ADDRESS},
          "recipient": {"name": "Sở Tư pháp", "address": ADDRESS}, "cash_on_delivery_vnd": 50_000, "max_attempts": 2,
          "documents": [{"code": "TP-01", "name": "Tờ khai", "required": True},
                        {"code": "TP-02", "name": "Bản sao CCCD", "required": False}],
          "callback_url": "http://127.0.0.1:8005/callbacks/carrier"}
DELIVERY = {**PICKUP, "client_reference": "d-1", "kind": "delivery", "documents": [], "cash_on_delivery_vnd": 0,
            "sender": PICKUP["recipient"], "recipient": PICKUP["sender"]}
NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def test_waybills_carry_the_s10_check_digit():
    # The UPU S10 standard's own example: serial 47312482 has check digit 9.
    assert rules.waybill_number(47312482) == "EE473124829VN"
    assert rules.waybill_number(15) == "EE000000155VN"  # a check of 11 is written 5
    assert rules.waybill_number(8) == "EE000000080VN"  # and a check of 10 is written 0
    assert rules.is_waybill("EE473124829VN")
    for wrong in ("EE473124828VN", "ee473124829VN", "EE473124829US", "EE47312482VN", "473124829"):
        assert not rules.is_waybill(wrong)


def test_a_new_waybill_is_never_one_already_issued():
    draws = count(1)
    taken = {rules.waybill_number(1), rules.waybill_number(2)}
    assert rules.new_waybill(taken, lambda: next(draws)) == rules.waybill_number(3)
    assert all(rules.is_waybill(rules.new_waybill(set())) for _ in range(50))


def test_scenarios_follow_the_issue():
    assert rules.script("pickup", "collect", 2) == ("collected", "handed_over")
    assert rules.script("pickup", "collection_failed", 2) == ("collection_failed",)
    assert rules.script("delivery", "deliver", 2) == ("picked_up", "out_for_delivery", "delivered")
    assert rules.script("delivery", "fail_then_deliver", 2) == (
        "picked_up", "out_for_delivery", "attempt_failed", "out_for_delivery", "delivered")


@pytest.mark.parametrize("max_attempts", [1, 2, 3])
def test_return_fails_every_allowed_attempt_then_returns_to_sender(max_attempts):
    events = rules.script("delivery", "return", max_attempts)
    assert events[0] == "picked_up" and events[-1] == "returned_to_sender"
    assert events.count("attempt_failed") == events.count("out_for_delivery") == max_attempts
    assert "delivered" not in events


def test_every_scripted_event_is_one_the_contract_allows_for_its_kind():
    allowed = {"pickup": PICKUP_CARRIER_EVENTS, "delivery": DELIVERY_CARRIER_EVENTS}
    for kind, scenarios in rules.SCENARIOS.items():
        for scenario in scenarios:
            assert set(rules.script(kind, scenario, 2)) <= set(allowed[kind])


def test_scenario_choice_defaults_by_kind_and_refuses_the_other_kinds_scenarios():
    assert rules.choose_scenario("pickup", None, "return") == "collect"
    assert rules.choose_scenario("delivery", None, "return") == "return"
    assert rules.choose_scenario("delivery", "fail_then_deliver", "deliver") == "fail_then_deliver"
    with pytest.raises(ValueError, match="deliver"):
        rules.choose_scenario("delivery", "collect", "deliver")
    with pytest.raises(ValueError):
        rules.choose_scenario("pickup", "return", "deliver")


def test_collection_finds_every_document_and_the_fee_and_seals_the_package():
    collected = rules.event_fields(PICKUP, "EE473124829VN", "collected")
    assert collected["checklist"] == [{"code": "TP-01", "present": True}, {"code": "TP-02", "present": True}]
    assert collected["fees_collected_vnd"] == 50_000
    handed_over = rules.event_fields(PICKUP, "EE473124829VN", "handed_over")
    assert handed_over["seal_number"] == collected["seal_number"] == "NP473124829"
    assert handed_over["received_by"] == "Cán bộ Bộ phận Một cửa" and handed_over["carrier_staff"]


def test_delivery_events_report_the_recipient_or_the_reason():
    assert rules.event_fields(DELIVERY, "EE473124829VN", "delivered")["recipient_name"] == "Trần Thị Lan"
    assert rules.event_fields(DELIVERY, "EE473124829VN", "attempt_failed")["reason"] == "Không có người nhận"
    assert rules.event_fields(PICKUP, "EE473124829VN", "collection_failed")["reason"]


def test_a_callback_payload_fits_the_contract_and_has_a_fresh_event_id():
    fields = rules.event_fields(PICKUP, "EE473124829VN", "collected")
    first = rules.callback_payload("EE473124829VN", "p-1", "collected", fields, NOW)
    second = rules.callback_payload("EE473124829VN", "p-1", "collected", fields, NOW)
    loaded = CarrierCallbackSchema().load(first)
    assert (loaded["event"], loaded["client_reference"], loaded["occurred_at"]) == ("collected", "p-1", NOW)
    assert first["event_id"] != second["event_id"]
    assert rules.callback_payload("EE473124829VN", "p-1", "collected", fields, NOW, "evt-1")["event_id"] == "evt-1"
    with pytest.raises(ValidationError):
        rules.callback_payload("EE473124829VN", "p-1", "collected", {"present": True}, NOW)


def test_signature_options_good_bad_and_stale():
    secret, body, now = b"shared", b'{"event": "delivered"}', 1_780_000_000
    assert verify(secret, body, rules.signature_header(secret, body, now), now=now)
    bad = rules.signature_header(secret, body, now, "bad")
    assert bad.startswith(f"t={now},v1=") and not verify(secret, body, bad, now=now)
    stale = rules.signature_header(secret, body, now, "stale")
    assert not verify(secret, body, stale, now=now)
    assert verify(secret, body, stale, now=now - rules.STALE_SECONDS)  # right key, only too old


@pytest.mark.parametrize(("status", "again"), [
    (None, True), (500, True), (502, True), (503, True), (408, True), (429, True),
    (200, False), (201, False), (204, False), (400, False), (401, False), (404, False), (409, False), (422, False)])
def test_which_answers_a_carrier_tries_again(status, again):
    assert rules.retryable(status) is again


def test_retry_waits_double():
    assert [rules.retry_delay(attempt, 1.5) for attempt in (2, 3, 4, 5)] == [1.5, 3.0, 6.0, 12.0]
