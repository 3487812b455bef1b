"""status's metrics against the real RabbitMQ and PostgreSQL: a redelivered event counts once, a refusal is
counted as the caller's, the outbox lag and the dossier gauges are on /metrics; and the gauges' one query
gives the right values on both databases status runs on, from the index alone on PostgreSQL."""
from datetime import date, timedelta

import pytest
import requests
import sqlalchemy as sa
from nameko.standalone.rpc import ServiceRpcProxy
from prometheus_client import REGISTRY

from motcua.db import make_engine
from motcua.errors import NotFound
from motcua.migrations import upgrade
from status.gauges import DOSSIER_GAUGES, DossierGauges, holdings_query
from status.models import dossier
from tests.conftest import truncate_all
from tests.service.test_status_service import (  # noqa: F401 - config and database_url are fixtures
    AGENCY, config, database_url, publish_submitted, submitted_envelope,
)
from tests.support import TEST_NOW, PinnedClock, wait_for
from tests.unit.test_status_metrics import seeded_row

OTHER = "000.00.12.H49"
TODAY = date(2026, 11, 25)




def sample(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def calls(entrypoint, outcome):
    return sample("motcua_entrypoint_calls_total", service="status", entrypoint=entrypoint, outcome=outcome)


def test_a_redelivered_dossier_is_received_once_and_an_unknown_dossier_is_the_callers_fault(
        status, config, web_config_port, monkeypatch):
    received = {"procedure": "1.001193", "agency": AGENCY, "channel": "counter"}
    before = sample("motcua_dossiers_received_total", **received), calls("on_dossier_submitted", "ok")
    envelope = submitted_envelope("counter")
    publish_submitted(status, envelope)
    publish_submitted(status, envelope)  # the broker delivers it again
    assert wait_for(lambda: calls("on_dossier_submitted", "ok") == before[1] + 2, seconds=5)
    assert sample("motcua_dossiers_received_total", **received) == before[0] + 1

    refused = calls("apply_action", "refused")
    with ServiceRpcProxy("status", config, timeout=15) as rpc, pytest.raises(NotFound):
        rpc.apply_action(f"{AGENCY}-261125-9999", {"action": "accept", "idempotency_key": "key-00000001",
                                                   "actor": {"kind": "system"}})
    # Counted as the worker ends, just after the reply went out.
    assert wait_for(lambda: calls("apply_action", "refused") == refused + 1, seconds=5)

    monkeypatch.setattr(DOSSIER_GAUGES, "clock", PinnedClock(TEST_NOW))  # submitted 02:00, now 03:00 UTC
    metrics = wait_for(lambda: (text := requests.get(f"http://127.0.0.1:{web_config_port}/metrics", timeout=5).text)
                       and 'motcua_outbox_pending{service="status"} 0.0' in text and text)
    assert f'motcua_dossiers_open{{agency="{AGENCY}",state="received"}} 1.0' in metrics
    assert f'motcua_dossiers_overdue{{agency="{AGENCY}"}} 0.0' in metrics
    assert f'motcua_dossier_backlog_oldest_seconds{{agency="{AGENCY}"}} 3600.0' in metrics
    assert 'motcua_outbox_oldest_pending_seconds{service="status"} 0.0' in metrics  # all relayed


@pytest.fixture(params=["sqlite", "postgresql"])
def seeded(request, tmp_path, database_url):
    """A small status database of each kind: (its engine, the gauges' expected samples)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'status.db'}"
        upgrade("status", url)
    else:
        url = database_url
        truncate_all(url)
    engine = make_engine(url)
    day = timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(dossier.insert(), [
            seeded_row("A-1", AGENCY, "in_progress", TEST_NOW - 4 * day, TODAY - day),  # overdue
            seeded_row("A-2", AGENCY, "received", TEST_NOW - 2 * day, TODAY - 2 * day),  # overdue
            seeded_row("A-3", AGENCY, "in_progress", TEST_NOW - day, TODAY),  # due today: on time until tonight
            seeded_row("A-4", AGENCY, "awaiting_supplement", TEST_NOW - 9 * day, TODAY - 5 * day),  # paused
            seeded_row("A-5", AGENCY, "completed", TEST_NOW - 30 * day, TODAY - 20 * day),  # result not collected
            seeded_row("A-6", AGENCY, "returned", TEST_NOW - 60 * day, TODAY - 50 * day),  # final
            seeded_row("B-1", OTHER, "submitted", None, TODAY + 5 * day),
            seeded_row("B-2", OTHER, "refused", None, TODAY + 5 * day),  # final
        ])
    expected = {
        ("motcua_dossiers_open", AGENCY, "in_progress"): 2, ("motcua_dossiers_open", AGENCY, "received"): 1,
        ("motcua_dossiers_open", AGENCY, "awaiting_supplement"): 1, ("motcua_dossiers_open", AGENCY, "completed"): 1,
        ("motcua_dossiers_open", OTHER, "submitted"): 1,
        ("motcua_dossiers_overdue", AGENCY): 2, ("motcua_dossiers_overdue", OTHER): 0,
        ("motcua_dossier_backlog_oldest_seconds", AGENCY): 9 * 86400,
    }
    yield engine, expected
    engine.dispose()


def test_the_gauges_count_each_holders_dossiers_by_state_with_one_query(seeded):
    engine, expected = seeded
    gauges = DossierGauges(PinnedClock(TEST_NOW))
    gauges.read_from(engine, cache_seconds=10)
    found = {(s.name, *s.labels.values()): s.value for family in gauges.collect() for s in family.samples}
    assert found == expected


@pytest.mark.parametrize("seeded", ["postgresql"], indirect=True)
def test_on_postgresql_the_gauges_query_reads_the_index_alone(seeded):
    engine, _ = seeded
    with engine.connect() as conn:
        conn.execute(sa.text("ANALYZE dossier"))
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))  # a table this small would be scanned whole
        statement = holdings_query(TODAY).compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {statement}")).scalars())
    assert "Index Only Scan using ix_dossier_state_holder_agency_code_legal_due_date_received_at" in plan, plan
