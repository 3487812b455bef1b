"""The dossier gauges (status.gauges) over 1,000,000 dossiers in PostgreSQL: what one read costs when
Prometheus scrapes, and what a scrape costs while the read is cached.

    python bench/metrics_gauges.py [--dossiers 1000000] [--agencies 50] [--runs 50]

Creates a database of its own (dropped at the end), migrates it, loads the dossiers with COPY in chunks
(76% in a final state, 24% open across the other states: several times a real city's open share, so the
numbers err on the slow side),
VACUUM ANALYZEs them as autovacuum would, then times, each `--runs` times:
- cold: a new engine and connection, a new collector (nothing cached in the process), then one collect;
- warm: the service's case every METRICS_DB_GAUGE_SECONDS: the same collector and pooled connection, its
  cache expired (the clock moved past it), so the query runs again;
- cached: a scrape while the read is fresh, answered without the database.
PostgreSQL's own buffers are not emptied between runs (that takes a server restart, and the server is
shared); the plan with its buffer counts is printed too. A timing is a number to watch, not a test.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import percentile  # noqa: E402
from motcua.calendar import local_date  # noqa: E402
from motcua.db import make_engine  # noqa: E402
from motcua.migrations import upgrade  # noqa: E402
from motcua.stack import create_postgres_database, drop_postgres_database  # noqa: E402
from status.gauges import DossierGauges, holdings_query  # noqa: E402

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
# A city's dossiers over two years: most are finished; the open ones spread over the desk's states.
STATES = {"returned": 70, "completed": 3, "refused": 3, "withdrawn": 2, "stopped": 1, "submitted": 2,
          "received": 4, "in_progress": 11, "awaiting_supplement": 3, "awaiting_payment": 1}
FINISHED = {"returned", "refused", "withdrawn", "stopped"}
COLUMNS = ("code", "procedure_code", "procedure_name", "procedure_version", "agency_code", "holder_agency_code",
           "channel", "return_method", "state", "version", "tracking_key_hash", "applicant_given_name",
           "submitted_at", "received_at", "appointment_date", "time_limit_working_days", "cutoff_hour",
           "supplement_requests", "counted_overdue", "completed_at", "returned_at", "updated_at", "workflow",
           "legal_due_date")
CHUNK = 100_000


def dossier_lines(first: int, count: int, agencies: list[str], rng: random.Random) -> str:
    """`count` dossiers as COPY text lines (tab-separated, \\N for NULL)."""
    states, weights = list(STATES), list(STATES.values())
    lines = []
    for number in range(first, first + count):
        agency = agencies[number % len(agencies)]
        # One in seven was transferred to another agency, which holds it now.
        holder = agencies[(number + 1) % len(agencies)] if number % 7 == 0 else agency
        state = rng.choices(states, weights)[0]
        # Open dossiers are recent (a few weeks, a long tail); finished ones spread over two years.
        age_days = rng.uniform(0, 730) if state in FINISHED else min(rng.expovariate(1 / 12), 400)
        submitted = NOW - timedelta(days=age_days)
        received = None if state == "submitted" else submitted + timedelta(hours=rng.uniform(0, 30))
        due = (received or submitted).date() + timedelta(days=rng.choice((5, 10, 15, 20, 30)))
        completed = received + timedelta(days=rng.uniform(1, 25)) if state in ("completed", "returned") else None
        returned = completed + timedelta(days=rng.uniform(0, 5)) if state == "returned" else None
        values = (f"{agency}-{submitted:%y%m%d}-{number:07d}", f"1.{number % 400:06d}", "Thủ tục", 1, agency, holder,
                  ("counter", "online", "postal")[number % 3], "counter", state, 3, "a" * 64, "An", submitted,
                  received, due, 10, "15:00", 0, "f", completed, returned, returned or completed or submitted, "[]",
                  due)
        lines.append("\t".join(r"\N" if v is None else v.isoformat() if isinstance(v, (datetime, date)) else str(v)
                               for v in values))
    return "\n".join(lines) + "\n"


def load(url: str, dossiers: int, agencies: list[str]) -> float:
    """COPY the dossiers in chunks, then VACUUM ANALYZE; returns the seconds it took."""
    started, rng = time.perf_counter(), random.Random(766)
    engine = make_engine(url)
    with engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        for first in range(0, dossiers, CHUNK):
            text = dossier_lines(first, min(CHUNK, dossiers - first), agencies, rng)
            cursor.copy_expert(f"COPY dossier ({', '.join(COLUMNS)}) FROM STDIN", io.StringIO(text))
            conn.connection.dbapi_connection.commit()
            print(f"loaded {first + CHUNK:,} dossiers", file=sys.stderr)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE dossier"))
    engine.dispose()
    return time.perf_counter() - started


class Clock:
    """The collector's clock, moved by the bench to expire its cache."""

    def __init__(self):
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def summary(milliseconds: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(milliseconds), 3), "p99": round(percentile(milliseconds, 99), 3),
            "max": round(max(milliseconds), 3)}


def cold_read(url: str) -> None:
    engine = make_engine(url)
    gauges = DossierGauges(Clock())
    gauges.read_from(engine, 10)
    list(gauges.collect())
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--agencies", type=int, default=50)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    agencies = [f"000.00.{n:02d}.H49" for n in range(args.agencies)]
    with ExitStack() as cleanup:
        name, url = create_postgres_database("mcbench", "status")
        cleanup.callback(drop_postgres_database, name)
        upgrade("status", url)
        loaded = load(url, args.dossiers, agencies)

        cold = [timed(lambda: cold_read(url)) for _ in range(args.runs)]

        engine = make_engine(url)
        cleanup.callback(engine.dispose)
        clock = Clock()
        gauges = DossierGauges(clock)
        gauges.read_from(engine, 10)
        families = list(gauges.collect())  # fills the pool; the timings below start warm
        warm, cached = [], []
        for _ in range(args.runs):
            clock.now += timedelta(seconds=10)  # the read has expired: the next scrape queries again
            warm.append(timed(gauges.collect))
            clock.now += timedelta(seconds=1)  # a scrape of another job or replica, while the read is fresh
            cached.append(timed(gauges.collect))

        query = str(holdings_query(local_date(NOW)).compile(dialect=postgresql.dialect(),
                                                            compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            plan = conn.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {query}")).scalars().all()
            sizes = conn.execute(sa.text(
                "SELECT pg_size_pretty(pg_relation_size('dossier')), "
                "pg_size_pretty(pg_relation_size('ix_dossier_state_holder_agency_code_legal_due_date_received_at'))"
            )).one()
    samples = {family.name: len(family.samples) for family in families}
    print(query, "\n".join(plan), sep="\n", file=sys.stderr)
    print(json.dumps({
        "dossiers": args.dossiers, "agencies": args.agencies, "load_seconds": round(loaded, 1),
        "table_size": sizes[0], "gauge_index_size": sizes[1], "series": samples,
        "cold_ms": summary(cold), "warm_ms": summary(warm), "cached_ms": summary(cached),
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
