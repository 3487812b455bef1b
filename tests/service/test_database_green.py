"""Database calls must not block the eventlet hub: workers of one service run concurrently."""
import time

import eventlet
import sqlalchemy as sa

from motcua.db import make_engine


def test_ten_slow_queries_run_concurrently_not_one_after_another():
    engine = make_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", pool_size=10)

    def slow_query(_):
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_sleep(0.5)"))

    started = time.monotonic()
    list(eventlet.GreenPool(10).imap(slow_query, range(10)))
    elapsed = time.monotonic() - started
    engine.dispose()
    # Serialised they would take 5 s; green they overlap.
    assert elapsed < 2.0, f"took {elapsed:.2f} s"
