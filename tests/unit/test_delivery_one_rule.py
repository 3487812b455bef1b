"""postal (the carrier's callbacks) and status (postal's events, in whatever order the bus brings them)
show one delivery state: both move by motcua.shipments.DELIVERY."""
from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from motcua_contracts.postal import DELIVERY_CARRIER_EVENTS
from postal.domain import delivery
from status.domain.delivery import follow

T0 = datetime(2026, 12, 3, 3, 0, tzinfo=timezone.utc)  # 10:00 in Vietnam
REQUEST = {"dossier_code": "000.00.51.H24-261203-0001", "agency_code": "000.00.51.H24"}


def callback(event: str, minutes: int) -> dict:
    return {"event": event, "occurred_at": T0 + timedelta(minutes=minutes), "reason": "Vắng nhà",
            "recipient_name": "Nguyễn Văn An"}


def postal_run(callbacks: list[dict]) -> tuple[dict, list[dict]]:
    """postal's delivery after the callbacks, and the delivery events it published on the way."""
    row = delivery.new_delivery(REQUEST, {"waybill": "VN1", "carrier": "vnpost"}, 2, T0, T0 - timedelta(hours=1))
    published = [delivery.event_data(row)]
    for received in callbacks:
        changes = delivery.apply_event(row, received)
        if changes is not None:
            row = {**row, **changes}
            published.append(delivery.event_data(row))
    return row, published


def status_run(events: list[dict]):
    summary = None
    for event in events:
        summary = follow(summary, event)
    return summary


def test_an_earlier_stamped_out_for_delivery_arriving_after_picked_up_moves_both():
    # The carrier reports "picked up" stamped 10:05, then "out for delivery" stamped 10:00.
    row, published = postal_run([callback("picked_up", 5), callback("out_for_delivery", 0)])
    assert [event["state"] for event in published] == ["ordered", "picked_up", "out_for_delivery"]
    assert row["state"] == status_run(published).state == "out_for_delivery"


@given(st.lists(st.tuples(st.sampled_from(DELIVERY_CARRIER_EVENTS), st.integers(0, 10_000)), max_size=8,
                unique_by=lambda pair: pair[1]),
       st.randoms(use_true_random=False))
def test_status_ends_where_postal_ends_whatever_the_order(reported, rng):
    """Callbacks in any order at distinct instants; postal's events then reach status shuffled."""
    row, published = postal_run([callback(event, minutes) for event, minutes in reported])
    rng.shuffle(published)
    assert status_run(published).state == row["state"]
