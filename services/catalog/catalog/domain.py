"""catalog's rules in plain Python (no nameko, no SQLAlchemy): the search normaliser, the contract
shape of a catalogue version, which version is in force on a day, and the agency tree's paths."""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from itertools import pairwise

from motcua.calendar import local_date
from motcua.procedures import VersionLike
from motcua_contracts.catalog import ProcedureVersionSchema

from catalog.catalogue_file import Catalogue, Procedure, ProcedureVersion, Source

# NFD leaves đ whole (a letter of its own, not d plus a mark); ð is the look-alike older encodings produce.
_D_WITH_STROKE = str.maketrans({"đ": "d", "ð": "d"})


def normalise(text: str) -> str:
    """Lower-case, without Vietnamese diacritics, whitespace collapsed: "Đăng  Ký" -> "dang ky"."""
    decomposed = unicodedata.normalize("NFD", text.lower().translate(_D_WITH_STROKE))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def search_tokens(query: str | None) -> list[str]:
    """Every token must occur in a version's search text."""
    return normalise(query or "").split()


def search_text(definition: Mapping) -> str:
    """What `q` is matched against (a ProcedureVersionSchema dump): name, code, field and agency names.

    The name comes first, so ordering by this text is a diacritic-insensitive order by name.
    """
    return normalise(" ".join((definition["name"], definition["procedure_code"],
                               definition["field"]["name"], definition["agency"]["name"])))


# --- which version is in force ---------------------------------------------------------------------

def today(now: datetime) -> date:
    """The date in Hai Phong (Asia/Ho_Chi_Minh) at `now`: servers run in UTC, 7 hours behind."""
    return local_date(now)


# Which version is in force on a day is motcua.procedures' rule, shared with intake and the catalogue file.

def overlapping(versions: Iterable[VersionLike]) -> list[tuple[int, int]]:
    """Pairs of published versions valid on a common day (at most one may be, for any date)."""
    published = sorted((v for v in versions if v.status == "published"), key=lambda version: version.valid_from)
    return [(a.version, b.version) for a, b in pairwise(published)
            if a.valid_to is None or a.valid_to > b.valid_from]


# --- the agency tree -------------------------------------------------------------------------------

def agency_paths(parents: Mapping[str, str | None]) -> dict[str, str]:
    """"/root/.../code/" per agency, so "this agency and everything under it" is one `LIKE path%`."""
    paths: dict[str, str] = {}

    def path(code: str, below: frozenset[str]) -> str:
        if code not in paths:
            if code in below:
                raise ValueError(f"Agencies form a cycle through {code}.")
            parent = parents[code]
            if parent is not None and parent not in parents:
                raise ValueError(f"Agency {code} has an unknown parent {parent}.")
            paths[code] = (path(parent, below | {code}) if parent else "/") + f"{code}/"
        return paths[code]

    for code in parents:
        path(code, frozenset())
    return paths


# --- the contract shape ----------------------------------------------------------------------------

def definitions(catalogue: Catalogue) -> Iterator[tuple[Procedure, ProcedureVersion, dict]]:
    """Every version of the catalogue with its ProcedureVersionSchema dump (JSON types)."""
    agencies = {a.code: {"code": a.code, "name": a.name, "level": a.level, "parent_code": a.parent,
                         "place_name": a.place} for a in catalogue.agencies}
    field_names = {f.code: f.name for f in catalogue.fields}
    sources = {s.key: s for s in catalogue.sources}
    schema = ProcedureVersionSchema()
    for procedure in catalogue.procedures:
        for version in procedure.versions:
            yield procedure, version, schema.dump({
                "procedure_code": procedure.code, "name": procedure.name,
                "field": {"code": procedure.field, "name": field_names[procedure.field]},
                "version": version.version, "status": version.status,
                "valid_from": version.valid_from, "valid_to": version.valid_to,
                "agency": agencies[version.agency],
                "time_limit": version.time_limit and vars(version.time_limit),
                "cutoff_hour": version.cutoff_hour.strftime("%H:%M"),
                "fees": [vars(fee) for fee in version.fees],
                "documents": [vars(document) for document in version.documents],
                # The file writes "no choices" as an empty list; the contract as null.
                "form_fields": [dict(vars(f), choices=list(f.choices) or None) for f in version.form_fields],
                "service_level": vars(version.service_level),
                "channels": version.channels, "return_methods": version.return_methods,
                "legal_basis": version.legal_basis,
                "sources": [_source_text(ref, sources) for ref in version.sources],
                "unconfirmed": version.unconfirmed,
                "workflow": [vars(step) for step in version.workflow],
                "note": version.note, "withdrawn_by": version.withdrawn_by,
            })


def _source_text(ref: str, sources: Mapping[str, Source]) -> str:
    """A source key ("S3") means nothing outside the file: consumers get its title and address."""
    source = sources.get(ref)
    if source is None:
        return ref  # already a URL
    return f"{source.title} <{source.url}>" if source.url else source.title
