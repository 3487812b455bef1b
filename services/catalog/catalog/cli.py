"""Import a catalogue file: `python -m catalog.cli import <file> [--dry-run]`.

All or nothing: a file with errors prints every one (with its line) and imports nothing; a good
one is upserted in one transaction, recording `procedure_published` in the outbox for each
published version that is new or whose definition changed (the running service's relay
publishes them). Importing the same file again changes nothing and records nothing.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path

from sqlalchemy import Row
from sqlalchemy.orm import sessionmaker

from motcua.config import database_url
from motcua.db import UnitOfWork, make_engine, new_correlation_id
from motcua.procedures import VersionLike
from motcua_contracts.catalog import ProcedureVersionSchema

from catalog import domain, repository
from catalog.catalogue_file import Catalogue, CatalogueFileError, load_catalogue
from catalog.models import agency, field, metadata, procedure, procedure_version


@dataclass
class Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}"


@dataclass
class Summary:
    agencies: Tally = dataclass_field(default_factory=Tally)
    fields: Tally = dataclass_field(default_factory=Tally)
    procedures: Tally = dataclass_field(default_factory=Tally)
    versions: Tally = dataclass_field(default_factory=Tally)
    events: int = 0  # procedure_published recorded

    def count(self, kind: str, outcome: repository.Outcome) -> None:
        tally = getattr(self, kind)
        setattr(tally, outcome, getattr(tally, outcome) + 1)


def apply(uow: UnitOfWork, catalogue: Catalogue, name: str) -> Summary:
    """Upsert the catalogue within `uow` (not committed here). Raises CatalogueFileError when the file,
    valid on its own, conflicts with what is already imported."""
    session, summary = uow.session, Summary()

    # Agencies: parents before children, paths over the tree as it will be (rows the file omits stay).
    current = {key[0]: row for key, row in repository.existing(session, agency).items()}
    wanted = {code: {"name": row.name, "level": row.level, "parent_code": row.parent_code,
                     "place_name": row.place_name} for code, row in current.items()}
    wanted.update({a.code: {"name": a.name, "level": a.level, "parent_code": a.parent, "place_name": a.place}
                   for a in catalogue.agencies})
    try:
        paths = domain.agency_paths({code: values["parent_code"] for code, values in wanted.items()})
    except ValueError as error:
        raise CatalogueFileError([f"{error} (with the agencies already imported)"], name) from None
    in_file = {a.code for a in catalogue.agencies}
    for code in sorted(wanted, key=lambda code: paths[code].count("/")):
        outcome = repository.save(session, agency, {"code": code}, dict(wanted[code], path=paths[code]),
                                  current.get(code))
        if code in in_file or outcome != "unchanged":  # an omitted agency moves when an ancestor does
            summary.count("agencies", outcome)

    current = repository.existing(session, field)
    for listed_field in catalogue.fields:
        summary.count("fields", repository.save(session, field, {"code": listed_field.code},
                                                {"name": listed_field.name}, current.get((listed_field.code,))))

    current = repository.existing(session, procedure)
    for listed in catalogue.procedures:
        summary.count("procedures", repository.save(session, procedure, {"code": listed.code},
                                                    {"name": listed.name, "field_code": listed.field},
                                                    current.get((listed.code,))))

    current = repository.existing(session, procedure_version)
    _refuse_overlaps(catalogue, current, name)
    schema = ProcedureVersionSchema()
    for listed, version, definition in domain.definitions(catalogue):
        before = current.get((listed.code, version.version))
        summary.count("versions", repository.save(session, procedure_version,
                                                  {"procedure_code": listed.code, "version": version.version},
                                                  repository.version_values(definition), before))
        if version.status == "published" and (before is None or before.definition != definition):
            uow.record_event("procedure_published", {"procedure": schema.load(definition)})
            summary.events += 1
    return summary


def _refuse_overlaps(catalogue: Catalogue, current: dict[tuple, Row], name: str) -> None:
    """The file checks its own versions; a version imported before and left out of it counts too."""
    imported: dict[str, dict[int, VersionLike]] = defaultdict(dict)
    for (code, number), row in current.items():
        imported[code][number] = row
    problems = []
    for listed in catalogue.procedures:
        versions = imported[listed.code] | {v.version: v for v in listed.versions}
        problems += [f"{listed.code}: published versions {a} and {b} overlap (with the versions already imported)."
                     for a, b in domain.overlapping(versions.values())]
    if problems:
        raise CatalogueFileError(problems, name)


def import_file(path: str | Path, url: str | None = None, dry_run: bool = False) -> Summary:
    """Load, validate and import `path` into the catalog database at `url` (default: the configured one)."""
    catalogue = load_catalogue(path)
    engine = make_engine(url or database_url("catalog"))
    try:
        with UnitOfWork(sessionmaker(bind=engine), metadata, producer="catalog",
                        correlation_id=new_correlation_id()) as uow:
            summary = apply(uow, catalogue, str(path))
            if not dry_run:
                uow.commit()
        return summary
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catalog.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("import", help="import a YAML or JSON catalogue file")
    command.add_argument("file", type=Path)
    command.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    args = parser.parse_args(argv)
    try:
        summary = import_file(args.file, dry_run=args.dry_run)
    except CatalogueFileError as error:
        print(f"{args.file}: refused, nothing imported ({len(error.errors)} error(s)):", file=sys.stderr)
        for line in error.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"{args.file}: cannot read: {error.strerror or error}", file=sys.stderr)
        return 1
    print(f"{args.file}: {'checked (dry run, nothing written)' if args.dry_run else 'imported'}")
    for kind in ("agencies", "fields", "procedures", "versions"):
        print(f"  {kind:<11} {getattr(summary, kind)}")
    print(f"  procedure_published events {'to record' if args.dry_run else 'recorded'}: {summary.events}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
