"""Connections to PostgreSQL that the server dropped (a restart, a failover, an idle timeout): one that sat in the
pool is tried before use and replaced unseen; one used a moment ago costs one failed statement, after which the
whole pool is new."""
import pytest
import sqlalchemy as sa

from motcua import db
from motcua.stack import POSTGRES_ADMIN_URL


@pytest.fixture
def engine(postgres_database):
    url = postgres_database("catalog")
    engine = db.make_engine(url, pool_size=2)
    yield engine
    engine.dispose()


def drop_server_side(engine) -> int:
    """End every server process serving the engine's database, as a restart of PostgreSQL would."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ended = conn.execute(sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                     "WHERE datname = :name AND pid <> pg_backend_pid()"),
                             {"name": engine.url.database}).scalar_one()
    admin.dispose()
    return ended


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()


def test_a_dropped_connection_that_sat_in_the_pool_is_replaced_before_use(engine, monkeypatch):
    first = backend_pid(engine)
    assert drop_server_side(engine) == 1
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # as after a second unused
    assert backend_pid(engine) != first  # no error: the ping found it gone


def test_a_dropped_connection_used_a_moment_ago_fails_once_then_the_pool_is_new(engine):
    backend_pid(engine)
    assert drop_server_side(engine) == 1
    with pytest.raises(sa.exc.OperationalError) as failed:
        backend_pid(engine)
    assert failed.value.connection_invalidated
    assert backend_pid(engine) > 0
