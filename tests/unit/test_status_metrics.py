"""status's business metrics (docs/metrics.md) on SQLite, without a broker: each counter moves once per
committed change, never for a redelivered event or a repeated key; the time in each state is measured from
the history; and the dossier gauges' arithmetic, query and cache."""
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from motcua.national_codes import DossierState
from status import handlers
from status.domain import Actor, HistoryEntry, time_in_states_left
from status.domain.backlog import Holding, backlog
from status.domain.kpi import completed_on_time
from status.gauges import DossierGauges
from status.models import dossier, metadata
from tests.support import LocalDatabase, PinnedClock
from tests.unit.test_status_lifecycle import HOLDER, OTHER, submitted_data

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # Wednesday 10:00 in Hanoi; filed at 02:30 UTC
CODE = "000.00.00.H49-261125-0007"
PROCEDURE = "1.001193"
DEPARTMENT = {"kind": "department_system", "agency_code": HOLDER}
S = DossierState


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Metrics:
    """The business metrics of one procedure at one agency, read before and after: `moved()` says by how much."""

    SAMPLES = {
        "received_online": ("motcua_dossiers_received_total", {"channel": "online"}),
        "received_counter": ("motcua_dossiers_received_total", {"channel": "counter"}),
        "on_time": ("motcua_dossiers_completed_total", {"timeliness": "on_time"}),
        "late": ("motcua_dossiers_completed_total", {"timeliness": "late"}),
        "supplements": ("motcua_supplements_requested_total", {}),
    }

    def __init__(self):
        self.before = self.read()

    def read(self) -> dict[str, float]:
        values = {key: sample(name, procedure=PROCEDURE, agency=HOLDER, **labels)
                  for key, (name, labels) in self.SAMPLES.items()}
        for state in S:
            values[f"{state}_count"] = sample("motcua_dossier_state_seconds_count", state=state)
            values[f"{state}_sum"] = sample("motcua_dossier_state_seconds_sum", state=state)
        return values

    def moved(self) -> dict[str, float]:
        now = self.read()
        return {key: now[key] - self.before[key] for key in now if now[key] != self.before[key]}


@pytest.fixture
def db(tmp_path):
    return LocalDatabase(f"sqlite:///{tmp_path}/status.db", metadata, "status", create=True)


def act(db, clock, action, key, **inputs):
    return handlers.apply_action(db, clock, CODE, {"action": action, "idempotency_key": key, "actor": DEPARTMENT,
                                                   **inputs})


def supplement_submitted(at):
    return {"event_id": "supplement-event-1", "data": {
        "dossier_code": CODE, "supplement_id": "supplement-1", "agency_code": HOLDER, "submitted_at": at,
        "note": None, "attachments": []}}


def test_a_counter_dossier_is_received_as_it_is_registered_and_a_redelivery_counts_nothing(db):
    metrics = Metrics()
    for _ in range(2):  # the same event delivered twice
        handlers.register_dossier(db, {"event_id": "event-1", "data": submitted_data("counter")})
    assert metrics.moved() == {"received_counter": 1, "submitted_count": 1}  # 0 s in submitted: accepted at once


def test_a_registered_dossier_makes_the_series_it_moves_next_exist_at_zero(db):
    # Prometheus's increase() cannot count the first increment of a series it has never scraped.
    handlers.register_dossier(db, {"event_id": "event-1", "data": {**submitted_data("online"),
                                                                   "procedure_code": "2.000635"}})
    for name, labels in (("motcua_dossiers_received_total", {"channel": "online"}),
                         ("motcua_dossiers_completed_total", {"timeliness": "on_time"}),
                         ("motcua_dossiers_completed_total", {"timeliness": "late"})):
        assert REGISTRY.get_sample_value(name, {"procedure": "2.000635", "agency": HOLDER, **labels}) == 0


def test_each_committed_change_of_an_online_dossier_counts_once_with_the_time_it_left_behind(db):
    clock = PinnedClock(NOW)
    metrics = Metrics()
    handlers.register_dossier(db, {"event_id": "event-1", "data": submitted_data("online")})
    assert metrics.moved() == {}  # filed, not received yet

    for _ in range(2):  # a repeated key is answered, not done again
        act(db, clock, "accept", "accept-0001")
    clock.advance(3600)
    act(db, clock, "assign", "assign-0001", assignee="can-bo-7")
    act(db, clock, "transfer", "transfer-0001", to_agency_code=OTHER)  # within in_progress: no state left
    act(db, clock, "transfer", "transfer-0002", to_agency_code=HOLDER)
    clock.advance(2 * 3600)
    for _ in range(2):
        act(db, clock, "request_supplement", "supplement-0001", missing_items=["Bản sao giấy chứng sinh"])
    for _ in range(2):  # intake's supplement_submitted, redelivered
        handlers.take_supplement(db, clock, supplement_submitted(clock() + timedelta(days=1)))
    clock.advance(86400 + 600)
    for _ in range(2):
        act(db, clock, "complete", "complete-0001")

    assert metrics.moved() == {
        "received_online": 1, "supplements": 1, "on_time": 1,
        "submitted_count": 1, "submitted_sum": 1800,  # filed at 02:30, accepted at 03:00
        "received_count": 1, "received_sum": 3600,
        "in_progress_count": 2, "in_progress_sum": 2 * 3600 + 600,  # before the supplement request, and after
        "awaiting_supplement_count": 1, "awaiting_supplement_sum": 86400,
    }


def test_a_dossier_completed_after_its_legal_due_date_counts_late(db):
    clock = PinnedClock(NOW)
    handlers.register_dossier(db, {"event_id": "event-1", "data": submitted_data("counter")})
    act(db, clock, "assign", "assign-0001", assignee="can-bo-7")
    metrics = Metrics()
    clock.advance(10 * 86400)  # due on Friday 27/11; completed on Saturday 5/12
    act(db, clock, "complete", "complete-0001")
    assert metrics.moved() == {"late": 1, "in_progress_count": 1, "in_progress_sum": 10 * 86400}


def test_the_national_rule_judges_a_completion_on_its_legal_due_date():
    due = date(2026, 11, 27)
    assert completed_on_time(due, due, counted_overdue=False)
    assert not completed_on_time(due + timedelta(days=1), due, counted_overdue=False)
    assert not completed_on_time(due - timedelta(days=3), due, counted_overdue=True)  # a second supplement request


def entry(at, from_state, to_state):
    return HistoryEntry(seq=1, at=at, action="x", from_state=from_state, to_state=to_state, agency_code=HOLDER,
                        actor=Actor("system"), reason=None, idempotency_key=None, details={}, public=True)


def test_the_time_in_each_state_left_runs_from_when_the_dossier_entered_it():
    hour = timedelta(hours=1)
    registered = [entry(NOW, None, S.SUBMITTED), entry(NOW, S.SUBMITTED, S.RECEIVED)]
    assert time_in_states_left(None, registered) == [(S.SUBMITTED, timedelta(0))]
    moves = [entry(NOW + hour, S.IN_PROGRESS, S.IN_PROGRESS), entry(NOW + 3 * hour, S.IN_PROGRESS, S.COMPLETED),
             entry(NOW + 4 * hour, S.COMPLETED, S.RETURNED)]
    assert time_in_states_left(NOW, moves) == [(S.IN_PROGRESS, 3 * hour), (S.COMPLETED, hour)]
    assert time_in_states_left(NOW, [entry(NOW + hour, S.IN_PROGRESS, S.IN_PROGRESS)]) == []
    assert time_in_states_left(None, moves) == [(S.COMPLETED, hour)]  # no history: the first stay is unknown


def test_the_backlog_counts_open_and_overdue_per_holder_and_ages_the_oldest_still_being_processed():
    day = timedelta(days=1)
    found = backlog([
        Holding("A", S.IN_PROGRESS, 5, 2, NOW - 3 * day),
        Holding("A", S.SUBMITTED, 4, 0, None),
        Holding("A", S.COMPLETED, 1, 0, NOW - 90 * day),  # a result waiting to be collected: not the backlog
        Holding("B", S.AWAITING_SUPPLEMENT, 1, 0, NOW - 10 * day),
        Holding("B", S.RECEIVED, 2, 0, NOW - day),
    ], NOW)
    assert found.open == {("A", S.IN_PROGRESS): 5, ("A", S.SUBMITTED): 4, ("A", S.COMPLETED): 1,
                          ("B", S.AWAITING_SUPPLEMENT): 1, ("B", S.RECEIVED): 2}
    assert found.overdue == {"A": 2, "B": 0}
    assert found.oldest_seconds == {"A": 3 * 86400, "B": 10 * 86400}


def seeded_row(code, holder, state, received_at, legal_due_date):
    return {
        "code": code, "procedure_code": PROCEDURE, "procedure_name": "Đăng ký khai sinh", "procedure_version": 1,
        "agency_code": holder, "holder_agency_code": holder, "channel": "online", "return_method": "counter",
        "state": state, "version": 2, "tracking_key_hash": "0" * 64, "applicant_given_name": "An",
        "submitted_at": received_at or NOW - timedelta(hours=2), "received_at": received_at,
        "appointment_date": legal_due_date, "time_limit_working_days": 5, "cutoff_hour": datetime.min.time(),
        "supplement_requests": 0, "counted_overdue": False, "updated_at": NOW, "workflow": "[]",
        "legal_due_date": legal_due_date,
    }


def families(gauges):
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in gauges.collect() for sample in family.samples}


def test_the_gauges_read_once_per_cache_period_by_their_clock_and_not_before_the_service_starts(db):
    today = date(2026, 11, 25)
    with db.engine.begin() as conn:
        conn.execute(dossier.insert(), [
            seeded_row("A-1", HOLDER, "in_progress", NOW - timedelta(days=4), today - timedelta(days=1)),
            seeded_row("A-2", HOLDER, "returned", NOW - timedelta(days=40), today - timedelta(days=30)),
        ])
    clock = PinnedClock(NOW)
    gauges = DossierGauges(clock)
    assert list(gauges.describe())[0].name == "motcua_dossiers_open" and gauges.collect() == []
    gauges.read_from(db.engine, cache_seconds=10)
    first = families(gauges)
    assert first == {
        ("motcua_dossiers_open", (("agency", HOLDER), ("state", "in_progress"))): 1,
        ("motcua_dossiers_overdue", (("agency", HOLDER),)): 1,
        ("motcua_dossier_backlog_oldest_seconds", (("agency", HOLDER),)): 4 * 86400,
    }
    with db.engine.begin() as conn:
        conn.execute(dossier.insert(), [seeded_row("B-1", OTHER, "submitted", None, today + timedelta(days=5))])
    clock.advance(9.9)
    assert families(gauges) == first  # cached: a scrape within the period costs no query
    clock.advance(0.1)
    assert families(gauges)[("motcua_dossiers_open", (("agency", OTHER), ("state", "submitted")))] == 1
    assert families(gauges)[("motcua_dossier_backlog_oldest_seconds", (("agency", HOLDER),))] == 4 * 86400 + 10

    gauges.stop_reading(db.engine)
    assert gauges.collect() == []


def test_a_database_that_does_not_answer_leaves_the_gauges_absent_not_stale(tmp_path):
    gauges = DossierGauges(PinnedClock(NOW))
    gauges.read_from(sa.create_engine(f"sqlite:///{tmp_path}/no-tables.db"), cache_seconds=10)
    assert gauges.collect() == []
