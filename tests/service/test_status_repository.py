"""status persistence on both databases it runs on (migrated SQLite file and PostgreSQL): the
aggregate round-trips exactly, the version guard refuses a stale write, the history is append-only,
the agencies that held a dossier are kept, and revision 0002_desk upgrades a populated database."""
import copy
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from motcua.db import make_engine
from motcua.errors import Conflict
from motcua.migrations import alembic_config, upgrade
from motcua.stack import create_postgres_database, drop_postgres_database
from motcua_contracts.desk import DeskQuerySchema
from status import repository
from status.domain import Actor, Command, register
from status.models import dossier_access, dossier_history
from tests.unit.test_status_lifecycle import AGENCY_B, AGENCY_X, ROUTE, VN, submitted_data

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


def registered(engine, channel="counter", **fields):
    dossier, changes = register(submitted_data(channel, **fields))
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


def test_the_route_the_result_document_and_every_agency_that_held_the_dossier_are_kept(engine):
    dossier = registered(engine, workflow=ROUTE)  # a counter dossier: accepted at once, on step 0
    assert dossier.step_index == 0
    apply_and_save(engine, dossier, Command("transfer", OFFICIAL, to_agency_code=AGENCY_B), datetime.now(timezone.utc))
    apply_and_save(engine, dossier, Command("transfer", OFFICIAL, to_agency_code=AGENCY_X), datetime.now(timezone.utc))
    document = {"filename": "quyet-dinh.pdf", "sha256": "d" * 64, "size_bytes": 10, "storage_key": "d" * 64}
    apply_and_save(engine, dossier,
                   Command("complete", Actor("official", "can-bo-9", AGENCY_X), result_document=document),
                   datetime.now(timezone.utc))
    with Session(engine) as session:
        loaded = repository.find(session, dossier.code)
        held = session.execute(sa.select(dossier_access.c.agency_code)
                               .where(dossier_access.c.dossier_code == dossier.code)).scalars().all()
        assert (repository.has_held(session, dossier.code, AGENCY_B)
                and not repository.has_held(session, dossier.code, "x"))
    assert loaded == dossier
    assert (loaded.step_index, loaded.step_role, loaded.result_document) == (1, "handler", document)
    assert sorted(held) == sorted({dossier.agency_code, AGENCY_B, AGENCY_X})


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_desk_revision_upgrades_a_database_with_dossiers(dialect, tmp_path):
    if dialect == "sqlite":
        url, name = f"sqlite:///{tmp_path / 'old.db'}", None
    else:
        name, url = create_postgres_database("mct", "status-0002")
    try:
        command.upgrade(alembic_config("status", url), "466b3ac4a9c3")
        old = make_engine(url)
        with old.begin() as conn:  # a dossier received at A, then transferred to B, written by the previous code
            conn.execute(sa.text(
                "INSERT INTO dossier VALUES ('000.00.00.H49-261125-0001', 'p', 'n', 1, '000.00.00.H49', "
                "'000.00.12.H49', 'online', 'counter', 'in_progress', 3, 'h', 'An', '2026-11-25 02:00:00+00:00', "
                "NULL, '2026-11-27', 2, '15:00:00', NULL, 0, false, NULL, NULL, '2026-11-25 02:00:00+00:00')"))
            conn.execute(sa.text(
                "INSERT INTO dossier_history VALUES ('000.00.00.H49-261125-0001', 2, '2026-11-25 02:00:00+00:00', "
                "'transfer', 'received', 'in_progress', '000.00.00.H49', 'official', NULL, NULL, NULL, NULL, '{}', "
                "true)"))
        old.dispose()
        upgrade("status", url)
        engine = make_engine(url)
        with Session(engine) as session:
            loaded = repository.get(session, "000.00.00.H49-261125-0001")
            held = session.execute(sa.select(dossier_access.c.agency_code)).scalars().all()
            assert session.execute(sa.select(sa.func.count()).select_from(dossier_history)).scalar() == 1
        engine.dispose()
        assert (loaded.legal_due_date, loaded.workflow, loaded.step_index) == (date(2026, 11, 27), (), None)
        assert sorted(held) == ["000.00.00.H49", "000.00.12.H49"]
    finally:
        if name:
            drop_postgres_database(name)


def test_the_desk_query_shows_an_agency_what_it_holds_or_has_held_and_filters_overdue(engine):
    default_query = DeskQuerySchema().load({})
    late = registered(engine, dossier_code="000.00.00.H49-261125-0001", appointment_date=date(2026, 11, 20)).code
    moved = registered(engine, dossier_code="000.00.00.H49-261125-0002", appointment_date=date(2026, 12, 20))
    apply_and_save(engine, moved, Command("transfer", OFFICIAL, to_agency_code=AGENCY_B), datetime.now(timezone.utc))
    registered(engine, dossier_code=f"{AGENCY_X}-261125-0003", agency_code=AGENCY_X)
    with Session(engine) as session:
        def codes(agency, **query):
            rows, total = repository.desk_page(session, agency, {**default_query, **query}, date(2026, 12, 1))
            assert total == len(rows)
            return [row["code"] for row in rows]

        assert codes("000.00.00.H49") == [late, moved.code]
        assert codes(AGENCY_B) == [moved.code]
        assert len(codes(None)) == 3  # a city admin
        assert codes("000.00.00.H49", overdue=True) == [late]
        assert codes("000.00.00.H49", overdue=False, state=["in_progress"]) == [moved.code]
