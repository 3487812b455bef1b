"""catalog: the catalogue of procedures behind RabbitMQ. Each entrypoint delegates to its use case in
catalog.handlers with the service's ports: the database and the clock.

Procedures enter through `python -m catalog.cli import`; this service serves them over RPC and its
outbox relay publishes the `procedure_published` events the import recorded.
"""
from __future__ import annotations

from nameko.timer import timer

from motcua.dependencies import Clock, Database, WorkerContext
from motcua.rpc import rpc
from motcua.web import OpsEndpoints

from catalog import handlers
from catalog.models import metadata


class CatalogService(OpsEndpoints):
    name = "catalog"
    db = Database(metadata)
    context = WorkerContext()
    clock = Clock()

    @rpc
    def search_procedures(self, query: dict) -> dict:
        return handlers.search_procedures(self.db, self.clock, query)

    @rpc
    def get_procedure(self, procedure_code: str) -> dict:
        return handlers.get_procedure(self.db, self.clock, procedure_code)

    @rpc
    def get_procedure_version(self, procedure_code: str, version: int) -> dict:
        return handlers.get_procedure_version(self.db, procedure_code, version)

    @rpc
    def list_agencies(self) -> list[dict]:
        return handlers.list_agencies(self.db)

    @rpc
    def list_fields(self) -> list[dict]:
        return handlers.list_fields(self.db)

    @timer(interval=60, eager=True)
    def refresh_published_gauge(self) -> None:
        handlers.refresh_published_gauge(self.db, self.clock)
