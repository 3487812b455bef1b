"""The desk with 100,000 dossiers in PostgreSQL: one agency's filtered page is the right one, and the
permission filter is SQL the planner drives through indexes (no scan of `dossier`), which is what keeps
it fast. How fast is a number for `bench/desk_scale.py`, which seeds the same dossiers."""
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from motcua.calendar import local_date
from motcua.db import make_engine
from motcua_contracts.desk import DeskQuerySchema
from status.repository import desk_page, desk_query
from tests.support import TEST_NOW

DOSSIERS, AGENCIES = 100_000, 50
AGENCY = "000.00.07.H49"
QUERY = {"state": ["received", "in_progress"], "due_before": "2026-12-31", "per_page": 50}

# A tenth of each agency's dossiers were transferred to the next agency, which holds them now: both see them.
BULK_INSERT = f"""
INSERT INTO dossier (code, procedure_code, procedure_name, procedure_version, agency_code, holder_agency_code,
                     channel, return_method, state, version, tracking_key_hash, applicant_given_name, submitted_at,
                     received_at, appointment_date, time_limit_working_days, cutoff_hour, assignee,
                     supplement_requests, counted_overdue, updated_at, workflow, legal_due_date)
SELECT format('%s-261125-%s', a.code, lpad(i::text, 6, '0')), format('1.%s', lpad((i % 40)::text, 6, '0')),
       'Thủ tục', 1, a.code,
       CASE WHEN (i / {AGENCIES}) % 10 = 0
            THEN format('000.00.%s.H49', lpad(((i + 1) % {AGENCIES})::text, 2, '0')) ELSE a.code END,
       (ARRAY['counter', 'online', 'postal'])[i % 3 + 1], 'counter',
       (ARRAY['received', 'in_progress', 'in_progress', 'awaiting_supplement', 'completed', 'returned',
              'submitted'])[i % 7 + 1],
       3, repeat('a', 64), 'An', t, t, (t + make_interval(days => 10 + i % 30))::date, 10, '15:00', NULL, 0, false,
       t, '[]', (t + make_interval(days => 10 + i % 30))::date
FROM generate_series(1, {DOSSIERS}) AS i,
     LATERAL (SELECT format('000.00.%s.H49', lpad((i % {AGENCIES})::text, 2, '0')) AS code,
                     timestamptz '2026-06-01 02:00+00' + make_interval(mins => i * 3) AS t) AS a
"""
BULK_ACCESS = """
INSERT INTO dossier_access (dossier_code, agency_code)
SELECT code, agency_code FROM dossier
UNION ALL SELECT code, holder_agency_code FROM dossier WHERE holder_agency_code <> agency_code
"""


def seed(url: str) -> None:
    """The dossiers and their access rows, analysed so that the planner knows them."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(BULK_INSERT))
        conn.execute(sa.text(BULK_ACCESS))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE dossier"))
        conn.execute(sa.text("ANALYZE dossier_access"))
    engine.dispose()


@pytest.fixture(scope="module")
def database_url(postgres_database):
    url = postgres_database("status")
    seed(url)
    return url


@pytest.fixture
def config(rabbit_config, web_config, database_url):
    return {**rabbit_config, **web_config, "DATABASE_URL": database_url}


def official():
    return {"subject": "can-bo-1", "agency_code": AGENCY, "roles": ["handler"], "token_id": uuid.uuid4().hex,
            "expires_at": (TEST_NOW + timedelta(hours=1)).isoformat()}


def test_one_agencys_filtered_page_of_100000_dossiers_is_its_own_work_found_through_the_indexes(status, config):
    with ServiceRpcProxy("status", config, timeout=15) as rpc:
        page = rpc.desk_list(official(), QUERY)

    engine = make_engine(config["DATABASE_URL"])
    with Session(engine) as session:
        # Transfers here are one hop: the agency sees what it received or holds (2,000 + 200, 3 in 7 in a state).
        expected = session.execute(sa.text(
            "SELECT code, appointment_date FROM dossier WHERE (agency_code = :a OR holder_agency_code = :a) "
            "AND state IN ('received', 'in_progress') AND appointment_date <= '2026-12-31' "
            "ORDER BY appointment_date, code"), {"a": AGENCY}).all()
        assert 800 < page["total"] == len(expected) < 1000
        assert [item["dossier_code"] for item in page["items"]] == [code for code, _ in expected[:50]]
        assert any(item["holder_agency_code"] != AGENCY for item in page["items"])  # held before, still seen
        today = local_date(TEST_NOW)
        desk_page(session, AGENCY, DeskQuerySchema().load(QUERY), today)  # explained in the desk's transaction
        for query in (QUERY, {}):  # with the filters, and the agency's whole desk
            for statement in desk_query(AGENCY, DeskQuerySchema().load(query), today):
                sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
                plan = "\n".join(session.execute(sa.text(f"EXPLAIN {sql}")).scalars())
                print(plan)
                assert not re.search(r"Seq Scan on dossier\b(?!_)", plan)
                assert re.search(r"Index (Only )?Scan using \w+ on dossier\b(?!_)", plan)
    engine.dispose()
