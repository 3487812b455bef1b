"""catalog: nameko entrypoints only; the rules are in catalog.domain, the SQL in catalog.repository.

Procedures enter through `python -m catalog.cli import`; this service serves them over RPC and its
outbox relay publishes the `procedure_published` events the import recorded.
"""
from __future__ import annotations

from marshmallow import ValidationError
from nameko.timer import timer
from prometheus_client import Counter, Gauge

from motcua.dependencies import Clock, Database, WorkerContext
from motcua.errors import NotFound, ValidationFailed, marshmallow_fields
from motcua.procedures import version_in_force
from motcua.rpc import rpc
from motcua.web import OpsEndpoints
from motcua_contracts.catalog import AgencySchema, FieldOfWorkSchema, ProcedurePageSchema, ProcedureSearchSchema

from catalog import domain, repository
from catalog.models import metadata

PUBLISHED = Gauge("motcua_catalog_procedures_published", "Procedures with a published version in force today")
SEARCHES = Counter("motcua_catalog_searches_total", "Catalogue searches, by whether anything matched", ["found"])


class CatalogService(OpsEndpoints):
    name = "catalog"
    db = Database(metadata)
    context = WorkerContext()
    clock = Clock()

    @rpc
    def search_procedures(self, query: dict) -> dict:
        """ProcedureSearchSchema in, ProcedurePageSchema out: versions in force today, ordered by name."""
        try:
            q = ProcedureSearchSchema().load(query)
        except ValidationError as exc:
            raise ValidationFailed("The search parameters are invalid.", marshmallow_fields(exc.messages)) from None
        with self.db.unit_of_work() as uow:
            definitions, total = repository.search(
                uow.session, domain.today(self.clock()), domain.search_tokens(q["q"]), q["agency"], q["field"],
                q["level"], q["page"], q["per_page"])
        SEARCHES.labels("yes" if total else "no").inc()
        items = [dict({key: d[key] for key in ("procedure_code", "name", "field", "agency", "version",
                                                "service_level", "channels")},
                      time_limit_working_days=d["time_limit"]["working_days"]) for d in definitions]
        return ProcedurePageSchema().dump({"items": items, "page": q["page"], "per_page": q["per_page"],
                                           "total": total})

    @rpc
    def get_procedure(self, procedure_code: str) -> dict:
        """The version in force today (ProcedureVersionSchema dump); NotFound if none is."""
        day = domain.today(self.clock())
        with self.db.unit_of_work() as uow:
            versions = repository.versions_of(uow.session, procedure_code) if isinstance(procedure_code, str) else []
        current = version_in_force(versions, day)
        if current is None:
            reason = f"No published version is in force on {day.isoformat()}." if versions else "No such procedure."
            raise NotFound("No published procedure has this code.", {"procedure_code": [reason]})
        return current.definition

    @rpc
    def get_procedure_version(self, procedure_code: str, version: int) -> dict:
        """One version in any status (a dossier stays pinned to the version it was filed under)."""
        definition = None
        if isinstance(procedure_code, str) and isinstance(version, int):
            with self.db.unit_of_work() as uow:
                definition = repository.find_version(uow.session, procedure_code, version)
        if definition is None:
            raise NotFound("No such procedure version.",
                           {"procedure_code": [f"No version {version!r} of {procedure_code!r}."]})
        return definition

    @rpc
    def list_agencies(self) -> list[dict]:
        """Every agency (AgencySchema dumps), parents before their children."""
        with self.db.unit_of_work() as uow:
            return AgencySchema(many=True).dump(repository.agencies(uow.session))

    @rpc
    def list_fields(self) -> list[dict]:
        with self.db.unit_of_work() as uow:
            return FieldOfWorkSchema(many=True).dump(repository.fields(uow.session))

    @timer(interval=60, eager=True)
    def refresh_published_gauge(self) -> None:
        # Imports run in another process and versions come into force by date: count, don't track.
        with self.db.unit_of_work() as uow:
            PUBLISHED.set(repository.count_in_force(uow.session, domain.today(self.clock())))
