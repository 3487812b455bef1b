"""Which version of a procedure is in force on a day: one rule for catalog, its catalogue file and intake.

A version applies from `valid_from` up to the day before `valid_to` (the first day it no longer
applies; none: open-ended), and only once published. Should two published versions overlap (the
catalogue file refuses it, an operator's mistake may not), the highest version wins. The SQL
twin of `in_force` is motcua.db.procedure_in_force; a test checks that the two agree.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol, TypeVar


class VersionLike(Protocol):
    version: int
    status: str
    valid_from: date
    valid_to: date | None


Version = TypeVar("Version", bound=VersionLike)


class Catalogue(Protocol):
    """catalog's RPC as the other services call it: the version in force today (ProcedureVersionSchema dump);
    NotFound when there is none."""

    def get_procedure(self, procedure_code: str) -> dict[str, Any]: ...


def in_force(status: str, valid_from: date, valid_to: date | None, day: date) -> bool:
    """valid_from <= day < valid_to, published only."""
    return status == "published" and valid_from <= day and (valid_to is None or day < valid_to)


def version_in_force(versions: Iterable[Version], day: date) -> Version | None:
    """The published version in force on `day`; the highest, should two overlap."""
    return max((v for v in versions if in_force(v.status, v.valid_from, v.valid_to, day)),
               key=lambda version: version.version, default=None)
