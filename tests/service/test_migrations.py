"""Two pods migrating one fresh database at the same moment both succeed (advisory lock)."""
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from motcua.stack import create_postgres_database, drop_postgres_database


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
