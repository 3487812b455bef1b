"""The on-time rate by the national rule, on examples counted by hand (period 1/11 - 30/11/2026)."""
from datetime import date

import pytest

from motcua_contracts.reports import OnTimeReportSchema
from status.domain.kpi import Bucket, on_time_rows

FROM, TO = date(2026, 11, 1), date(2026, 11, 30)


def on(day: int, month: int = 11) -> date:
    return date(2026, month, day)


# (bucket, the category it must land in: cot/cl = completed on time/late, uot/ul = unfinished on time/late)
AGENCY_A = [
    (Bucket("A", "online", "completed", on(2), on(10), completed_on=on(10)), "cot"),  # on its due date
    (Bucket("A", "counter", "returned", on(3), on(10), completed_on=on(11)), "cl"),  # a day late
    (Bucket("A", "postal", "in_progress", on(5), on(20)), "ul"),  # open, past due at the period's end
    # Due 12/11 at receipt; a 5-working-day supplement pause moved the legal date to 19/11.
    (Bucket("A", "online", "completed", on(5), on(19), completed_on=on(18)), "cot"),
    (Bucket("A", "counter", "received", on(1, 12), on(4, 12)), None),  # received after the period
    (Bucket("A", "online", "completed", on(20, 10), on(30, 10), completed_on=on(3)), "cl"),  # received before
    (Bucket("A", "online", "completed", on(1, 10), on(15, 10), completed_on=on(31, 10)), None),  # done before
    (Bucket("A", "online", "received", on(27), on(30)), "uot"),  # due on the period's last day
    # Paused for the citizen on 24/11, before its due date 25/11: its date will move, not late.
    (Bucket("A", "online", "awaiting_supplement", on(16), on(25), paused_on=on(24)), "uot"),
    # Paused on 27/11, already past its due date 25/11: late.
    (Bucket("A", "counter", "awaiting_supplement", on(16), on(25), paused_on=on(27)), "ul"),
    (Bucket("A", "online", "completed", on(10), on(25), completed_on=on(2, 12)), "ul"),  # done after the period
    (Bucket("A", "counter", "stopped", on(12), on(20)), None),  # stopped: received, never judged
    # Completed before its date but counted overdue for a second supplement request.
    (Bucket("A", "online", "completed", on(9), on(20), completed_on=on(19), counted_overdue=True), "cl"),
]


def test_each_case_lands_in_its_category():
    names = {"cot": "completed_on_time", "cl": "completed_late", "uot": "unfinished_on_time",
             "ul": "unfinished_late"}
    for bucket, expected in AGENCY_A:
        [row] = on_time_rows([bucket], FROM, TO)
        counts = {short: getattr(row, name) for short, name in names.items()}
        assert counts == {short: int(short == expected) for short in names}, bucket


def test_the_agency_row_counted_by_hand():
    [row] = on_time_rows([b for b, _ in AGENCY_A], FROM, TO)
    assert (row.key, row.received) == ("A", 10)  # all but received after, received before, done before
    assert (row.completed_on_time, row.completed_late, row.unfinished_late, row.unfinished_on_time) == (2, 3, 3, 2)
    assert row.on_time_rate == pytest.approx(2 / 8)
    assert row.online_share == pytest.approx(6 / 10)
    assert row.by_channel == {"online": 6, "counter": 3, "postal": 1}
    assert row.by_state == {"completed": 4, "returned": 1, "in_progress": 1, "received": 1,
                            "awaiting_supplement": 2, "stopped": 1}


def test_the_rows_dump_through_the_contract():
    report = {"date_from": FROM, "date_to": TO, "group_by": "agency",
              "rows": on_time_rows([b for b, _ in AGENCY_A], FROM, TO)}
    dumped = OnTimeReportSchema().dump(report)
    assert OnTimeReportSchema().load(dumped)["rows"][0]["on_time_rate"] == 0.25
    assert dumped["from"] == "2026-11-01" and dumped["rows"][0]["by_channel"]["postal"] == 1


def test_a_bucket_counts_as_many_dossiers_and_keys_group_and_sort():
    buckets = [
        Bucket("B", "online", "completed", on(2), on(10), completed_on=on(9), count=3),
        Bucket("B", "counter", "in_progress", on(2), on(10), count=1),
        Bucket("A", "counter", "completed", on(2), on(10), completed_on=on(12), count=2),
        Bucket("C", "online", "completed", on(20, 10), on(30, 10), completed_on=on(31, 10)),  # nothing judged
    ]
    row_a, row_b, row_c = on_time_rows(buckets, FROM, TO)
    assert [row_a.key, row_b.key, row_c.key] == ["A", "B", "C"]
    assert (row_a.completed_late, row_a.on_time_rate, row_a.online_share) == (2, 0.0, 0.0)
    assert (row_b.received, row_b.completed_on_time, row_b.unfinished_late) == (4, 3, 1)
    assert row_b.on_time_rate == pytest.approx(3 / 4) and row_b.online_share == pytest.approx(3 / 4)
    assert (row_c.received, row_c.on_time_rate, row_c.online_share) == (0, None, None)  # no division by zero


def test_the_period_bounds_are_both_included():
    on_first = Bucket("A", "online", "completed", on(1), on(1), completed_on=on(1))
    on_last = Bucket("A", "online", "completed", on(30), on(30), completed_on=on(30))
    [row] = on_time_rows([on_first, on_last], FROM, TO)
    assert (row.received, row.completed_on_time) == (2, 2)


def test_a_period_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError):
        on_time_rows([], TO, FROM)
