"""A handler's claim on a message (the inbox) on PostgreSQL and SQLite: the first claim wins, a second one
changes nothing and the transaction goes on, and a concurrent twin waits for the first claim's outcome."""
import eventlet
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from motcua.db import INBOX, UnitOfWork, add_messaging_tables, make_engine

metadata = sa.MetaData()
add_messaging_tables(metadata)


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, postgres_database, tmp_path):
    url = postgres_database("status") if request.param == "postgresql" else f"sqlite:///{tmp_path}/uow.db"
    engine = make_engine(url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_engine(postgres_database):
    # Only PostgreSQL lets two writers meet: on SQLite the twin cannot begin until the first ends.
    engine = make_engine(postgres_database("status"))
    yield engine
    engine.dispose()


def unit_of_work(engine) -> UnitOfWork:
    return UnitOfWork(sessionmaker(bind=engine, expire_on_commit=False), metadata, producer="status",
                      correlation_id="c0ffee")


def count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(metadata.tables[table])).scalar_one()


def test_a_message_is_claimed_once_and_a_second_claim_leaves_the_transaction_usable(engine):
    with unit_of_work(engine) as uow:
        assert uow.claim_message("status.on_submitted", "event-1")
        uow.commit()
    with unit_of_work(engine) as uow:
        assert not uow.claim_message("status.on_submitted", "event-1")
        # A write after the refused claim: on PostgreSQL a failed statement would have aborted the transaction.
        assert uow.claim_message("notify.on_submitted", "event-1")
        uow.commit()
    assert count(engine, INBOX) == 2


@pytest.mark.parametrize("first_commits", [True, False], ids=["first commits", "first rolls back"])
def test_a_twin_claiming_while_the_first_is_uncommitted_waits_for_its_outcome(postgres_engine, first_commits):
    engine = postgres_engine
    first = unit_of_work(engine).__enter__()
    assert first.claim_message("status.on_submitted", "event-2")
    twin = eventlet.spawn(lambda: _claim_and_commit(engine, "event-2"))
    eventlet.sleep(0.3)  # the twin is waiting on the first's row by now
    if first_commits:
        first.commit()
    first.__exit__(None, None, None)  # without a commit: rolled back, its handler failed
    # The twin yields to a first that committed, and claims the message when the first rolled back.
    assert twin.wait() is not first_commits
    assert count(engine, INBOX) == 1


def _claim_and_commit(engine, message_id: str) -> bool:
    with unit_of_work(engine) as uow:
        claimed = uow.claim_message("status.on_submitted", message_id)
        uow.commit()
    return claimed
