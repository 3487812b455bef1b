# nameko's pytest plugin no longer monkey-patches: without this the first container hangs.
import warnings

warnings.filterwarnings("ignore", message="\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

from urllib.parse import urljoin  # noqa: E402

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import werkzeug.urls  # noqa: E402

from motcua.migrations import upgrade  # noqa: E402
from motcua.stack import create_postgres_database, drop_postgres_database  # noqa: E402

# The browser tests run in a pytest process of their own, without eventlet (tests/browser/conftest.py).
collect_ignore = ["browser"]

# nameko 2.14's web_session fixture imports werkzeug.urls.url_join, which Werkzeug 3 removed.
if not hasattr(werkzeug.urls, "url_join"):
    werkzeug.urls.url_join = urljoin

@pytest.fixture(scope="session")
def postgres_database():
    """Factory: a fresh, migrated PostgreSQL database for a service; dropped after the run."""
    created: list[str] = []

    def create(service: str) -> str:
        name, url = create_postgres_database("mct", service)
        created.append(name)
        upgrade(service, url)
        return url

    yield create
    for name in created:
        drop_postgres_database(name)


def truncate_all(url: str) -> None:
    """Empty every table of a service's database but the migration marker."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
        if names:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
