"""The services' migrations: two pods migrating one fresh database at the same moment both succeed
(advisory lock), they build what the models declare, and an upgrade keeps what the old code wrote."""
import importlib
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from intake import handlers
from intake import models as intake_models
from intake.settings import IntakeSettings
from intake.versions import VersionCache
from motcua.db import make_engine
from motcua.migrations import alembic_config, upgrade
from motcua.stack import create_postgres_database, drop_postgres_database
from motcua.storage import LocalDiskStore
from tests.service.test_intake_service import RECEIVED_AT, body
from tests.support import LocalDatabase, PinnedClock
from tests.unit.test_intake_handlers import Catalogue


@pytest.mark.parametrize("service", ["status", "intake"])
def test_concurrent_upgrades_of_a_fresh_database_are_serialised(service):
    name, url = create_postgres_database("mct", f"mig{service}")
    try:
        env = dict(os.environ, **{f"{service.upper()}_DATABASE_URL": url})
        processes = [subprocess.Popen([sys.executable, "-m", "motcua.migrations", service], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(3)]
        outputs = [p.communicate(timeout=120)[0].decode() for p in processes]
        assert [p.returncode for p in processes] == [0, 0, 0], outputs
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        engine.dispose()
    finally:
        drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    """A fresh, empty database of each kind a service runs on; (make it for a service)."""
    made = []

    def make(service):
        if request.param == "sqlite":
            return f"sqlite:///{tmp_path}/{service}.db"
        name, url = create_postgres_database("mct", f"mig{service}")
        made.append(name)
        return url

    yield make
    for name in made:
        drop_postgres_database(name)


@pytest.mark.parametrize("service", ["catalog", "intake", "status", "notify", "postal"])
def test_the_migrations_build_the_tables_the_models_declare(service, fresh_url):
    url = fresh_url(service)
    upgrade(service, url)
    metadata = importlib.import_module(f"{service}.models").metadata
    engine = make_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


def test_a_submission_retried_across_the_tracking_key_upgrade_gets_its_key_back(fresh_url, tmp_path):
    """An idempotency record written before the salts (a sealed key) still answers its retry after the
    upgrade, and downgrading keeps it; the records written since have a salt instead."""
    url = fresh_url("intake")
    upgrade("intake", url)
    clock, store = PinnedClock(RECEIVED_AT), LocalDiskStore(tmp_path / "attachments")

    def submit(key):
        db = LocalDatabase(url, intake_models.metadata, "intake")
        try:
            return handlers.submit_dossier(db, clock, Catalogue(), VersionCache(), store, IntakeSettings(), body(), key)
        finally:
            db.engine.dispose()

    first = submit("b5f1a4d2-idem")
    engine = make_engine(url)
    with engine.begin() as conn:  # as intake wrote it before revision 5b0e7a4c2d19
        conn.execute(sa.text("UPDATE idempotency_record SET tracking_key_salt = NULL, sealed_tracking_key = "
                             "'805bce4113ab40ba59c368d4918fbb0cfb345d7c6ff8'"))
    config = alembic_config("intake", url)
    command.downgrade(config, "c73917deb3bc")
    command.upgrade(config, "head")
    assert submit("b5f1a4d2-idem") == dict(first, tracking_key="Qm9uZ0NoYW5oLUtleS0wMQ")
    later = submit("c6a2b5e3-idem")
    assert submit("c6a2b5e3-idem") == later
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT tracking_key_salt IS NOT NULL, sealed_tracking_key IS NOT NULL "
                                    "FROM idempotency_record")).all()
    engine.dispose()
    assert sorted(map(tuple, kept)) == [(False, True), (True, False)]
