"""The delivery summary status keeps from postal's events: it never moves backwards."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from motcua_contracts.events import load_event_data
from status.domain.delivery import delivered_reason, follow, reached, returned_reason

DELIVERY_ID = uuid.UUID("5b0f9a52-2f5e-4b8e-9a57-4f3c1c7e0a11")
T0 = datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc)  # 08:00 in Vietnam


def event(state: str, minutes: int, attempts: int = 0, **extra) -> dict:
    """DeliveryEventSchema data as the handler receives it (loaded), `minutes` after T0."""
    return load_event_data("postal", "delivery_ordered", {
        "delivery_id": str(DELIVERY_ID), "dossier_code": "000.00.00.H49-261125-0001",
        "agency_code": "000.00.00.H49", "waybill": "VN123456789", "carrier": "vnpost", "state": state,
        "at": (T0 + timedelta(minutes=minutes)).isoformat(), "attempts": attempts, "max_attempts": 2, **extra})


def run(*events: dict):
    summary = None
    for delivery_event in events:
        summary = follow(summary, delivery_event)
    return summary


def test_in_order_the_summary_follows_each_step():
    summary = run(event("ordered", 0), event("picked_up", 60), event("out_for_delivery", 120),
                  event("delivered", 180, attempts=1, recipient_name="Nguyễn Văn An"))
    assert (summary.state, summary.attempts, summary.waybill, summary.carrier) == ("delivered", 1, "VN123456789", "vnpost")
    assert (summary.delivery_id, summary.max_attempts) == (str(DELIVERY_ID), 2)
    assert summary.updated_at == T0 + timedelta(minutes=180)


def test_delivered_before_picked_up_stays_delivered():
    delivered = run(event("ordered", 0), event("delivered", 180, attempts=1))
    assert run(event("ordered", 0), event("delivered", 180, attempts=1), event("picked_up", 60)) == delivered
    assert run(event("ordered", 0), event("delivered", 180, attempts=1), event("out_for_delivery", 240)) == delivered


def test_a_final_state_wins_over_a_later_stamped_step_and_is_never_left():
    # The carrier's clocks disagree: the delivery is stamped before the last out-for-delivery it follows.
    summary = run(event("out_for_delivery", 120), event("delivered", 110, attempts=1))
    assert summary.state == "delivered"
    assert run(event("returned_to_sender", 300, attempts=2), event("delivered", 400)).state == "returned_to_sender"


def test_an_older_step_arriving_late_does_not_regress_and_a_second_attempt_goes_out_again():
    summary = run(event("picked_up", 60), event("out_for_delivery", 120, attempts=0),
                  event("attempt_failed", 180, attempts=1, reason="Không có người nhận"))
    assert (summary.state, summary.attempts) == ("attempt_failed", 1)
    assert follow(summary, event("picked_up", 60)) == summary  # late: older than what is shown
    again = follow(summary, event("out_for_delivery", 24 * 60, attempts=1))  # the next day's attempt
    assert (again.state, again.attempts) == ("out_for_delivery", 1)
    # The first attempt's out-for-delivery, late: neither the state nor the attempts go back.
    assert follow(again, event("out_for_delivery", 120, attempts=0)) == again


def test_the_same_instant_is_ordered_by_the_state():
    assert run(event("picked_up", 60), event("ordered", 60)).state == "picked_up"
    assert run(event("ordered", 60), event("picked_up", 60)).state == "picked_up"


def test_a_duplicate_changes_nothing():
    summary = run(event("ordered", 0), event("picked_up", 60))
    assert follow(summary, event("picked_up", 60)) == summary


@pytest.mark.parametrize("events, state, expected", [
    ([event("out_for_delivery", 120), event("delivered", 180)], "delivered", True),
    ([event("delivered", 180), event("delivered", 180)], "delivered", False),  # announced again
    ([event("delivered", 180), event("picked_up", 60)], "delivered", False),  # a late step after it
    ([event("returned_to_sender", 300)], "returned_to_sender", True),  # the first news is the return
    ([event("delivered", 180), event("returned_to_sender", 300)], "returned_to_sender", False),
])
def test_reached_only_when_this_event_brought_the_summary_there(events, state, expected):
    before = run(*events[:-1]) if len(events) > 1 else None
    assert reached(before, follow(before, events[-1]), state) is expected


def test_the_reasons_name_the_recipient_time_and_waybill():
    delivered = event("delivered", 180, attempts=1, recipient_name="Nguyễn Văn An")
    assert delivered_reason(delivered) == (
        "Bưu chính đã giao kết quả cho Nguyễn Văn An lúc 11:00 03/12/2026 (vận đơn VN123456789).")
    assert "cho người nhận lúc" in delivered_reason(event("delivered", 180))  # no name given
    assert returned_reason(event("returned_to_sender", 300, attempts=2)) == (
        "Bưu chính không giao được kết quả sau 2 lần phát (vận đơn VN123456789) và đã hoàn trả; "
        "mời nhận kết quả tại bộ phận một cửa.")
