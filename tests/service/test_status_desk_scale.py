"""The desk with 100,000 dossiers in PostgreSQL: one agency's filtered page is the right one, a dossier it
held in between (only dossier_access knows) is on it too, and every statement of the desk reads indexes, not
the agency's thousands of rows one by one, which is what keeps it fast. How fast is a number for
`bench/desk_scale.py`, which seeds the same dossiers (as many as it is asked for)."""
import re
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy.orm import Session

from motcua.calendar import local_date
from motcua.db import make_engine
from motcua_contracts.desk import DeskQuerySchema
from status.repository import desk_page
from tests.support import TEST_NOW

DOSSIERS, AGENCIES = 100_000, 50
AGENCY = "000.00.07.H49"
QUERY = {"state": ["received", "in_progress"], "due_before": "2026-12-31", "per_page": 50}

# A tenth of each agency's dossiers were transferred to the next agency, which holds them now: both see them.
# Whatever the count, the dossiers arrive over the same 208 days (100,000 of them, one every 3 minutes): more
# dossiers is a busier city, so a filter on the dates keeps the same share of them.
BULK_INSERT = """
INSERT INTO dossier (code, procedure_code, procedure_name, procedure_version, agency_code, holder_agency_code,
                     channel, return_method, state, version, tracking_key_hash, applicant_given_name, submitted_at,
                     received_at, appointment_date, time_limit_working_days, cutoff_hour, assignee,
                     supplement_requests, counted_overdue, updated_at, workflow, legal_due_date)
SELECT format('%s-261125-%s', a.code, lpad(i::text, {digits}, '0')), format('1.%s', lpad((i % 40)::text, 6, '0')),
       'Thủ tục', 1, a.code,
       CASE WHEN (i / {agencies}) % 10 = 0
            THEN format('000.00.%s.H49', lpad(((i + 1) % {agencies})::text, 2, '0')) ELSE a.code END,
       (ARRAY['counter', 'online', 'postal'])[i % 3 + 1], 'counter',
       (ARRAY['received', 'in_progress', 'in_progress', 'awaiting_supplement', 'completed', 'returned',
              'submitted'])[i % 7 + 1],
       3, repeat('a', 64), 'An', t, t, (t + make_interval(days => 10 + i % 30))::date, 10, '15:00', NULL, 0, false,
       t, '[]', (t + make_interval(days => 10 + i % 30))::date
FROM generate_series(1, {dossiers}) AS i,
     LATERAL (SELECT format('000.00.%s.H49', lpad((i % {agencies})::text, 2, '0')) AS code,
                     timestamptz '2026-06-01 02:00+00' + make_interval(secs => i * {seconds_apart}) AS t) AS a
"""
BULK_ACCESS = """
INSERT INTO dossier_access (dossier_code, agency_code)
SELECT code, agency_code FROM dossier
UNION ALL SELECT code, holder_agency_code FROM dossier WHERE holder_agency_code <> agency_code
"""


def seed(url: str, dossiers: int = DOSSIERS) -> None:
    """`dossiers` dossiers over AGENCIES agencies and their access rows, vacuumed and analysed as autovacuum leaves
    a table after a bulk insert (the planner knows them, and their pages are all-visible)."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(BULK_INSERT.format(dossiers=int(dossiers), agencies=AGENCIES,
                                                seconds_apart=DOSSIERS * 180 / max(int(dossiers), 1),
                                                digits=max(6, len(str(int(dossiers)))))))
        conn.execute(sa.text(BULK_ACCESS))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE dossier"))
        conn.execute(sa.text("VACUUM ANALYZE dossier_access"))
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


@contextmanager
def statements(session: Session):
    """The statements (with their parameters) that the session's connection runs meanwhile, in a list."""
    ran: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        ran.append((statement, parameters))

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def explained(session: Session, ran: list[tuple[str, object]]) -> list[str]:
    return ["\n".join(session.connection().exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
            for statement, parameters in ran]


def assert_read_through_indexes(plans: list[str]) -> None:
    """Neither table read whole, no agency's rows joined one by one: index ranges and keys."""
    for plan in plans:
        print(plan)
        assert not re.search(r"Seq Scan on dossier", plan)
        assert "Nested Loop" not in plan
        assert re.search(r"Index (Only )?Scan using \w+ on dossier", plan)


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
        for query in (QUERY, {}):  # with the filters, and the agency's whole desk
            with statements(session) as ran:
                desk_page(session, AGENCY, DeskQuerySchema().load(query), today)
            assert len(ran) == 2  # what it holds and sent on counted, then the page
            assert_read_through_indexes(explained(session, ran))
    engine.dispose()


def test_a_dossier_the_agency_held_in_between_is_on_its_desk_found_through_the_indexes(database_url):
    """Received elsewhere, transferred to the agency, then on to a third: only dossier_access says it held it."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        today = local_date(TEST_NOW)
        before = {name: desk_page(session, AGENCY, DeskQuerySchema().load(query), today)
                  for name, query in (("filtered", QUERY), ("all", {}))}
        between = session.execute(sa.text(  # the soonest due of the dossiers the filters keep, anywhere
            "SELECT appointment_date, code FROM dossier WHERE agency_code <> :a AND holder_agency_code <> :a "
            "AND state IN ('received', 'in_progress') ORDER BY appointment_date, code LIMIT 1"), {"a": AGENCY}).one()
        session.execute(sa.text("INSERT INTO dossier_access (dossier_code, agency_code) VALUES (:c, :a)"),
                        {"c": between.code, "a": AGENCY})
        for name, query in (("filtered", QUERY), ("all", {})):
            with statements(session) as ran:
                rows, total = desk_page(session, AGENCY, DeskQuerySchema().load(query), today)
            rows_before, total_before = before[name]
            assert total == total_before + 1
            assert [(row["appointment_date"], row["code"]) for row in rows] == sorted(
                [(row["appointment_date"], row["code"]) for row in rows_before] + [tuple(between)])[:50]
            assert between.code in [row["code"] for row in rows]
            assert len(ran) == 3 + (name == "filtered")  # census, codes held in between, (their count,) page
            assert_read_through_indexes(explained(session, ran))
        session.rollback()
    engine.dispose()
