"""Alembic, per service: each service package keeps its revisions in `<service>/migrations`.

`python -m motcua.migrations <service> [upgrade|revision -m MSG]` uses the service's
database URL from the environment (see motcua.config.database_url).
"""
import argparse
import importlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from motcua.config import database_url

MIGRATION_LOCK_KEY = 7_466_821  # any constant: advisory locks are per database, one per service here


def alembic_config(service: str, url: str | None = None) -> Config:
    package = importlib.import_module(service)
    config = Config()
    config.set_main_option("script_location", str(Path(package.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url or database_url(service))
    config.attributes["service"] = service
    return config


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


def run_env(target_metadata) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context

    from motcua.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=engine.dialect.name == "sqlite")
        with context.begin_transaction():
            if engine.dialect.name == "postgresql":
                # Alembic takes no lock: pods starting together would race. This one is held to commit.
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            context.run_migrations()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service")
    parser.add_argument("command", choices=("upgrade", "revision"), nargs="?", default="upgrade")
    parser.add_argument("-m", "--message", default="change")
    args = parser.parse_args()
    if args.command == "upgrade":
        upgrade(args.service)
    else:
        command.revision(alembic_config(args.service), message=args.message, autogenerate=True)


if __name__ == "__main__":
    main()
