"""The officials' desk with 100,000 dossiers in PostgreSQL: how long one agency's filtered page takes,
over RPC to a running status process and as the bare query.

    python bench/desk_scale.py [--repeat 20]

Seeds a fresh database with the dossiers of `tests/service/test_status_desk_scale.py` (which proves
the result and that the planner uses the indexes), starts status alone in a vhost of its own, and
prints the latencies. A timing is a number to watch, not a test: a busy machine changes it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
import warnings
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

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
from tests.service.test_status_desk_scale import AGENCY, DOSSIERS, QUERY, seed  # noqa: E402


def timed(call, repeat: int) -> list[float]:
    call()  # warms the connection pool and the caches
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with ExitStack() as cleanup:
        name, url = create_postgres_database("mcbench", "status")
        cleanup.callback(drop_postgres_database, name)
        upgrade("status", url)
        started = time.perf_counter()
        seed(url)
        seeded = time.perf_counter() - started

        engine = make_engine(url)
        cleanup.callback(engine.dispose)
        query, today = DeskQuerySchema().load(QUERY), local_date(datetime.now(timezone.utc))

        def bare_query():
            with Session(engine) as session:
                return desk_page(session, AGENCY, query, today)

        sql = timed(bare_query, args.repeat)

        vhost = new_vhost(cleanup)
        root = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="motcua-bench-")))
        amqp = amqp_uri(vhost)
        stack = cleanup.enter_context(LocalStack({"AMQP_URI": amqp, "STATUS_DATABASE_URL": url, "LOG_LEVEL": "WARNING",
                                                  "MOTCUA_VAR_DIR": str(root)}, {"status": free_port()}, root / "log"))
        stack.start(["status"])
        official = {"subject": "can-bo-1", "agency_code": AGENCY, "roles": ["handler"],
                    "token_id": uuid.uuid4().hex,
                    "expires_at": (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()}
        with ServiceRpcProxy("status", {"AMQP_URI": amqp}, timeout=30) as rpc:
            total = rpc.desk_list(official, QUERY)["total"]
            over_rpc = timed(lambda: rpc.desk_list(official, QUERY), args.repeat)
    print(json.dumps({
        "dossiers": DOSSIERS, "seed_seconds": round(seeded, 1), "agency_page_total": total,
        "desk_list_rpc_ms": latency_summary(over_rpc), "desk_page_query_ms": latency_summary(sql),
    }, indent=2))


if __name__ == "__main__":
    main()
