"""The dossier code (ma ho so): ``{agency code}-{yymmdd}-{daily sequence}``.

Format from Circular 01/2018/TT-VPCP art. 19, e.g. ``000.00.00.H49-261125-0007``.
The agency code follows QCVN 102:2016 ``V1V2V3.Z1Z2.Y1Y2.Hxx``: level-4 unit (3
digits), level-3 (2 letters/digits), level-2 (2 letters/digits), level-1 unit
(a letter + 2 digits: ``H49`` a province, ``G15`` a ministry).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import NamedTuple

from motcua_contracts.codes import AGENCY_CODE_REGEX, DOSSIER_CODE_REGEX

from .calendar import local_date

__all__ = [
    "AGENCY_CODE_PATTERN",
    "DOSSIER_CODE_PATTERN",
    "DossierCode",
    "is_valid_agency_code",
    "format_dossier_code",
    "parse_dossier_code",
]

AGENCY_CODE_PATTERN = re.compile(AGENCY_CODE_REGEX)
DOSSIER_CODE_PATTERN = re.compile(DOSSIER_CODE_REGEX)  # groups: agency, yymmdd, sequence


class DossierCode(NamedTuple):
    agency_code: str
    date: date
    sequence: int

    def __str__(self) -> str:
        return format_dossier_code(self.agency_code, self.date, self.sequence)


def is_valid_agency_code(code: object) -> bool:
    # fullmatch, not match: "$" alone would accept a trailing newline.
    return isinstance(code, str) and AGENCY_CODE_PATTERN.fullmatch(code) is not None


def format_dossier_code(agency_code: str, local_day: date | datetime, sequence: int) -> str:
    """Build the code for the ``sequence``-th dossier of ``local_day`` at an agency.

    ``local_day`` is the Asia/Ho_Chi_Minh date (an aware datetime is converted).
    ``sequence`` starts at 1 and is zero-padded to 4 digits; a day beyond 9999
    dossiers is written with more digits (``...-10000``) rather than failing,
    because refusing a citizen's dossier over a display width is worse.
    """
    if not is_valid_agency_code(agency_code):
        raise ValueError(f"invalid agency code {agency_code!r} (QCVN 102:2016 V1V2V3.Z1Z2.Y1Y2.Hxx)")
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        raise TypeError(f"sequence must be an int, got {type(sequence).__name__}")
    if sequence < 1:
        raise ValueError(f"sequence must be >= 1, got {sequence}")
    day = local_date(local_day)
    if not 2000 <= day.year <= 2099:  # yy cannot say which century
        raise ValueError(f"date {day} outside 2000-2099 cannot be written as yymmdd")
    return f"{agency_code}-{day:%y%m%d}-{sequence:04d}"


def parse_dossier_code(code: str) -> DossierCode:
    """Split a dossier code; ``ValueError`` if it is malformed in any way."""
    if not isinstance(code, str):
        raise ValueError(f"dossier code must be a string, got {type(code).__name__}")
    matched = DOSSIER_CODE_PATTERN.fullmatch(code)
    if matched is None:
        raise ValueError(f"malformed dossier code {code!r}")
    agency, raw, digits = matched.groups()
    try:
        day = date(2000 + int(raw[:2]), int(raw[2:4]), int(raw[4:]))
    except ValueError:
        raise ValueError(f"dossier code {code!r} has an impossible date {raw}") from None
    sequence = int(digits)
    if sequence < 1:
        raise ValueError(f"dossier code {code!r} has sequence 0")
    return DossierCode(agency, day, sequence)
