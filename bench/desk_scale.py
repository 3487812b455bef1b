"""The officials' desk with many dossiers in PostgreSQL: how long the desk list takes while officials of
different agencies ask for theirs at the same time, over RPC to a running status process, and the bare query.

    python bench/desk_scale.py --dossiers 1000000 --officials 16 --duration 30 [--held-in-between 20] [--plans]

Seeds a fresh, migrated database with `--dossiers` dossiers (default 100,000) arriving over 208 days at 50
agencies, with the seed of `tests/service/test_status_desk_scale.py` (which proves the page right and that
every statement reads indexes): a tenth of each agency's dossiers were transferred to the next agency, which
holds them now; 3 in 7 are received or in progress. The seed ends with VACUUM ANALYZE, as autovacuum would,
and a CHECKPOINT (or the officials' queries would be the ones writing its pages out of PostgreSQL's cache).
`--held-in-between N` also gives each agency N dossiers it held in between (received by one agency, held
now by a third), which only dossier_access knows and which take the desk's slower path. Then:

- the bare `status.repository.desk_page` for one agency (000.00.07.H49), `--repeat` times one after another,
  per list, and the EXPLAIN (ANALYZE, BUFFERS) of each statement it runs (time, buffers, the plan's nodes;
  `--plans` prints the whole plans on stderr);
- status alone, as deployed (one process, MAX_WORKERS 10), in a RabbitMQ vhost of its own, and `--officials`
  officials (handlers, default 16), each of a different agency and with an RPC connection of its own (a thread
  each), each asking for its desk list over and over with no pause for `--duration` seconds, alternately the
  work list as the desk page first opens it (no filter: everything the agency holds or has held, soonest due
  first, 50 a page) and a filtered one (received or in progress, due by 2026-12-31). It prints latency (p50,
  p95, p99, max, in ms) and calls/s, overall, per list and per agency, and the machine's load average.

A closed loop with no pause is the hardest case: each official waits only for its previous answer, so the
latency includes queueing for the machine's cores, which the officials, RabbitMQ, status and PostgreSQL share
(and anything else running: see the load average). A timing is a number to watch, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import defaultdict
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import sqlalchemy as sa  # noqa: E402
from nameko.standalone.rpc import ServiceRpcProxy  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test module holds the seed

from common import amqp_uri, latency_summary, new_vhost  # noqa: E402
from motcua.calendar import local_date  # noqa: E402
from motcua.db import make_engine  # noqa: E402
from motcua.migrations import upgrade  # noqa: E402
from motcua.stack import LocalStack, create_postgres_database, drop_postgres_database, free_port  # noqa: E402
from motcua_contracts.desk import DeskQuerySchema  # noqa: E402
from status.repository import desk_page  # noqa: E402
from tests.service.test_status_desk_scale import AGENCIES, AGENCY, DOSSIERS, QUERY, seed, statements  # noqa: E402

# The desk lists an official opens: the work list as the desk page first shows it, and a filtered one.
LISTS = {"work_list": {}, "filtered": QUERY}


def agencies(count: int) -> list[str]:
    """`count` different agencies of the seed's AGENCIES, AGENCY first, spread over the rest."""
    if not 1 <= count <= AGENCIES:
        raise SystemExit(f"--officials must be between 1 and {AGENCIES} (one agency each)")
    first = int(AGENCY.split(".")[2])
    step = next(s for s in (7, 3, 11, 13, 17, 1) if AGENCIES % s)  # coprime with AGENCIES: all different
    return [f"000.00.{(first + k * step) % AGENCIES:02d}.H49" for k in range(count)]


# Each agency also held `between` dossiers in between: received by another agency, transferred to it and passed
# on to a third (here those the agency halfway round received first); only dossier_access knows.
HELD_IN_BETWEEN = """
INSERT INTO dossier_access (dossier_code, agency_code)
SELECT d.code, a.code
FROM (SELECT n, format('000.00.%s.H49', lpad(n::text, 2, '0')) AS code FROM generate_series(0, {last}) AS n) AS a,
     LATERAL (SELECT code FROM dossier
              WHERE code >= format('000.00.%s.H49', lpad(((a.n + {half}) % {agencies})::text, 2, '0'))
                AND agency_code <> a.code AND holder_agency_code <> a.code
              ORDER BY code LIMIT {between}) AS d
"""


def hold_in_between(engine: sa.Engine, between: int) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(HELD_IN_BETWEEN.format(last=AGENCIES - 1, half=AGENCIES // 2, agencies=AGENCIES,
                                                    between=int(between))))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE dossier_access"))


def official(agency: str, number: int) -> dict:
    return {"subject": f"can-bo-{number}", "agency_code": agency, "roles": ["handler"], "token_id": uuid.uuid4().hex,
            "expires_at": (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()}


def timed(call, repeat: int) -> list[float]:
    call()  # warms the connection pool and the caches
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def summary(milliseconds: list[float], seconds: float) -> dict:
    return {**latency_summary(milliseconds), "calls": len(milliseconds),
            "calls_per_s": round(len(milliseconds) / seconds, 1)}


def explain(engine: sa.Engine, agency: str, today, show: bool) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement desk_page runs for `agency`, per list: its time, its buffers
    and its plan's nodes (the whole plans on stderr if `show`)."""
    found = {}
    for name, wanted in LISTS.items():
        with Session(engine) as session:
            with statements(session) as ran:
                desk_page(session, agency, DeskQuerySchema().load(wanted), today)
            found[name] = []
            for statement, parameters in ran:
                if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                    continue  # a SET, say
                plan = list(session.connection().exec_driver_sql(
                    f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters).scalars())
                if show:
                    print(f"-- {name} ({agency})\n" + "\n".join(plan), file=sys.stderr)
                text = "\n".join(plan)
                top = next((line for line in plan if "Buffers:" in line), "")
                found[name].append({
                    "execution_ms": float(re.search(r"Execution Time: ([\d.]+)", text).group(1)),
                    "planning_ms": float(re.search(r"Planning Time: ([\d.]+)", text).group(1)),
                    "buffers": top.strip().removeprefix("Buffers: "),
                    "nodes": [re.sub(r"\s+\(cost=.*", "", line).rstrip() for line in plan if "(cost=" in line],
                })
    return found


def officials_at_work(amqp: str, desks: list[str], duration: float) -> tuple[dict, float]:
    """Each official in a thread of its own asks for its lists in turn until `duration` has passed:
    {(agency, list): [milliseconds]}, and the seconds the run took."""
    timings: dict[tuple[str, str], list[float]] = defaultdict(list)
    errors: list[BaseException] = []
    ready = threading.Barrier(len(desks) + 1)
    stop = threading.Event()

    def work(number: int, agency: str) -> None:
        who = official(agency, number)
        try:
            with ServiceRpcProxy("status", {"AMQP_URI": amqp}, timeout=60) as rpc:
                for wanted in LISTS.values():
                    rpc.desk_list(who, wanted)  # connected, and its first answers are not the run's
                ready.wait()
                turn = number  # officials start on different lists
                while not stop.is_set():
                    name = list(LISTS)[turn % len(LISTS)]
                    started = time.perf_counter()
                    rpc.desk_list(who, LISTS[name])
                    timings[(agency, name)].append((time.perf_counter() - started) * 1000)
                    turn += 1
        except BaseException as error:  # noqa: BLE001 - reported after the run
            errors.append(error)
            ready.abort()

    threads = [threading.Thread(target=work, args=(n, agency), daemon=True) for n, agency in enumerate(desks, 1)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    try:
        ready.wait()
        started = time.perf_counter()
        time.sleep(duration)
    except threading.BrokenBarrierError:
        pass  # an official failed: its error is raised below
    stop.set()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return timings, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=DOSSIERS, help="dossiers seeded (default %(default)s)")
    parser.add_argument("--officials", type=int, default=16, help="concurrent officials, each of its own agency")
    parser.add_argument("--duration", type=float, default=30, help="seconds the officials keep asking")
    parser.add_argument("--held-in-between", type=int, default=0, metavar="N",
                        help="dossiers each agency held in between, received and now held by others (default 0)")
    parser.add_argument("--repeat", type=int, default=20, help="bare queries, one after another")
    parser.add_argument("--plans", action="store_true", help="print the EXPLAIN (ANALYZE, BUFFERS) plans on stderr")
    args = parser.parse_args()
    desks = agencies(args.officials)
    with ExitStack() as cleanup:
        name, url = create_postgres_database("mcbench", "status")
        cleanup.callback(drop_postgres_database, name)
        upgrade("status", url)
        started = time.perf_counter()
        seed(url, args.dossiers)
        engine = make_engine(url)
        cleanup.callback(engine.dispose)
        if args.held_in_between:
            hold_in_between(engine, args.held_in_between)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("CHECKPOINT"))  # the seed written out now, not by the officials' queries
        seeded = time.perf_counter() - started
        today = local_date(datetime.now(timezone.utc))

        def bare_query(wanted: dict):
            loaded = DeskQuerySchema().load(wanted)

            def call():
                with Session(engine) as session:
                    return desk_page(session, AGENCY, loaded, today)
            return call

        bare = {list_name: latency_summary(timed(bare_query(wanted), args.repeat))
                for list_name, wanted in LISTS.items()}
        totals = {list_name: bare_query(wanted)()[1] for list_name, wanted in LISTS.items()}
        plans = explain(engine, AGENCY, today, args.plans)

        vhost = new_vhost(cleanup)
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="motcua-bench-")))
        amqp = amqp_uri(vhost)
        stack = cleanup.enter_context(LocalStack({"AMQP_URI": amqp, "STATUS_DATABASE_URL": url, "LOG_LEVEL": "WARNING",
                                                  "MOTCUA_VAR_DIR": str(root)}, {"status": free_port()}, root / "log"))
        stack.start(["status"])
        load = [round(os.getloadavg()[0], 2)]
        timings, seconds = officials_at_work(amqp, desks, args.duration)
        load.append(round(os.getloadavg()[0], 2))

    every = [ms for values in timings.values() for ms in values]
    print(json.dumps({
        "dossiers": args.dossiers, "agencies": AGENCIES, "held_in_between": args.held_in_between,
        "seed_seconds": round(seeded, 1),
        "officials": args.officials, "duration_s": round(seconds, 1), "cpus": os.cpu_count(),
        "load_average_1m_before_after": load,  # the officials' run; others' work on the machine shows here
        "desk_list_rpc_ms": {
            "all": summary(every, seconds),
            **{list_name: summary([ms for (_, n), values in timings.items() if n == list_name for ms in values],
                                  seconds) for list_name in LISTS},
            "per_agency": {agency: summary([ms for (a, _), values in timings.items() if a == agency
                                            for ms in values], seconds) for agency in desks},
        },
        "bare_query": {"agency": AGENCY, "totals": totals, "desk_page_ms": bare, "explain_analyze": plans},
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
