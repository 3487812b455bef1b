"""status persistence on both databases it runs on (migrated SQLite file and PostgreSQL): the
aggregate round-trips exactly, the version guard refuses a stale write, the history is append-only."""
import copy
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.db import make_engine
from motcua.errors import Conflict
from motcua.migrations import upgrade
from status import repository
from status.domain import Actor, Command, register
from status.models import dossier_history
from tests.unit.test_status_lifecycle import VN, submitted_data

OFFICIAL = Actor("official", "official-42", "000.00.00.H49")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'status.db'}"
        upgrade("status", url)
    else:
        url = request.getfixturevalue("postgres_database")("status")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def registered(engine, channel="counter"):
    dossier, changes = register(submitted_data(channel))
    with Session(engine) as session:
        repository.add(session, dossier)
        for change in changes:
            repository.add_history(session, dossier.code, change.entry)
        session.commit()
    return dossier


def apply_and_save(engine, dossier, cmd, at):
    with Session(engine) as session:
        read_version = dossier.version
        change = dossier.apply(cmd, at)
        repository.update(session, dossier, read_version)
        repository.add_history(session, dossier.code, change.entry)
        session.commit()


def test_the_dossier_round_trips_with_aware_utc_timestamps_and_its_pauses(engine):
    dossier = registered(engine)
    apply_and_save(engine, dossier, Command("request_supplement", OFFICIAL, missing_items=("Tờ khai",)),
                   datetime(2026, 11, 26, 9, 0, tzinfo=VN))
    with Session(engine) as session:
        loaded = repository.find(session, dossier.code)
    assert loaded == dossier
    assert loaded.submitted_at.tzinfo == timezone.utc and loaded.pauses[0].ended_at is None

    apply_and_save(engine, dossier, Command("receive_supplement", OFFICIAL), datetime(2026, 11, 30, 9, 0, tzinfo=VN))
    with Session(engine) as session:
        loaded = repository.find(session, dossier.code)
        public = repository.public_history(session, dossier.code)
    assert loaded == dossier and loaded.pauses[0].ended_at == datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)
    assert [h["action"] for h in public] == ["register", "accept", "request_supplement", "receive_supplement"]


def test_a_write_based_on_a_stale_read_is_a_conflict(engine):
    mine = registered(engine)
    theirs = copy.deepcopy(mine)
    apply_and_save(engine, theirs, Command("assign", OFFICIAL, assignee="official-7"), datetime.now(timezone.utc))
    with pytest.raises(Conflict, match="reload"):
        apply_and_save(engine, mine, Command("assign", OFFICIAL, assignee="official-8"), datetime.now(timezone.utc))
    with Session(engine) as session:
        assert repository.get(session, mine.code).assignee == "official-7"


@pytest.mark.parametrize("statement", [
    sa.update(dossier_history).values(reason="rewritten"),
    sa.delete(dossier_history),
])
def test_the_history_is_append_only(engine, statement):
    registered(engine)
    with Session(engine) as session, pytest.raises(sa.exc.DBAPIError, match="append-only"):
        session.execute(statement)


def test_naive_timestamps_are_refused(engine):
    dossier, _ = register(submitted_data("online", submitted_at=datetime(2026, 11, 25, 9, 0)))
    with Session(engine) as session, pytest.raises(sa.exc.StatementError, match="naive"):
        repository.add(session, dossier)
