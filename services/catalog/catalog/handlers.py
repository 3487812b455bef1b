"""catalog's use cases: plain functions over the unit-of-work factory (`db`) and the clock, so they run the
same in the nameko service (catalog.service, which only delegates) and in a unit test on SQLite.

Procedures enter through `python -m catalog.cli import`; these serve them.
"""
from __future__ import annotations

from marshmallow import ValidationError
from prometheus_client import Counter, Gauge

from motcua.db import Db, TimeSource
from motcua.errors import NotFound, ValidationFailed, marshmallow_fields
from motcua.procedures import version_in_force
from motcua_contracts.base import shared
from motcua_contracts.catalog import AgencySchema, FieldOfWorkSchema, ProcedurePageSchema, ProcedureSearchSchema

from catalog import domain, repository

PUBLISHED = Gauge("motcua_catalog_procedures_published", "Procedures with a published version in force today")
SEARCHES = Counter("motcua_catalog_searches_total", "Catalogue searches, by whether anything matched", ["found"])


def search_procedures(db: Db, clock: TimeSource, query: object) -> dict:
    """ProcedureSearchSchema in, ProcedurePageSchema out: versions in force today, ordered by name."""
    try:
        wanted = shared(ProcedureSearchSchema).load(query)
    except ValidationError as exc:
        raise ValidationFailed("The search parameters are invalid.", marshmallow_fields(exc.messages)) from None
    with db.unit_of_work() as uow:
        definitions, total = repository.search(
            uow.session, domain.today(clock()), domain.search_tokens(wanted["q"]), wanted["agency"],
            wanted["field"], wanted["level"], wanted["page"], wanted["per_page"])
    SEARCHES.labels("yes" if total else "no").inc()
    items = [dict({key: d[key] for key in ("procedure_code", "name", "field", "agency", "version",
                                            "service_level", "channels")},
                  time_limit_working_days=d["time_limit"]["working_days"]) for d in definitions]
    return shared(ProcedurePageSchema).dump({"items": items, "page": wanted["page"], "per_page": wanted["per_page"],
                                       "total": total})


def get_procedure(db: Db, clock: TimeSource, procedure_code: object) -> dict:
    """The version in force today (ProcedureVersionSchema dump); NotFound if none is."""
    day = domain.today(clock())
    with db.unit_of_work() as uow:
        versions = repository.versions_of(uow.session, procedure_code) if isinstance(procedure_code, str) else []
    current = version_in_force(versions, day)
    if current is None:
        reason = f"No published version is in force on {day.isoformat()}." if versions else "No such procedure."
        raise NotFound("No published procedure has this code.", {"procedure_code": [reason]})
    return current.definition


def get_procedure_version(db: Db, procedure_code: object, version: object) -> dict:
    """One version in any status (a dossier stays pinned to the version it was filed under)."""
    definition = None
    if isinstance(procedure_code, str) and isinstance(version, int):
        with db.unit_of_work() as uow:
            definition = repository.find_version(uow.session, procedure_code, version)
    if definition is None:
        raise NotFound("No such procedure version.",
                       {"procedure_code": [f"No version {version!r} of {procedure_code!r}."]})
    return definition


def list_agencies(db: Db) -> list[dict]:
    """Every agency (AgencySchema dumps), parents before their children."""
    with db.unit_of_work() as uow:
        return shared(AgencySchema, many=True).dump(repository.agencies(uow.session))


def list_fields(db: Db) -> list[dict]:
    with db.unit_of_work() as uow:
        return shared(FieldOfWorkSchema, many=True).dump(repository.fields(uow.session))


def refresh_published_gauge(db: Db, clock: TimeSource) -> None:
    # Imports run in another process and versions come into force by date: count, don't track.
    with db.unit_of_work() as uow:
        PUBLISHED.set(repository.count_in_force(uow.session, domain.today(clock())))
