"""Dossier code format (Circular 01/2018 art. 19) and QCVN 102:2016 agency codes."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from motcua.dossier_code import (
    AGENCY_CODE_PATTERN,
    DOSSIER_CODE_PATTERN,
    DossierCode,
    format_dossier_code,
    is_valid_agency_code,
    parse_dossier_code,
)


@pytest.mark.parametrize(
    "code", ["000.00.00.H49", "000.A0.01.H26", "000.00.00.G15", "123.AB.9Z.H31"]
)
def test_valid_agency_codes(code: str):
    assert is_valid_agency_code(code)
    assert AGENCY_CODE_PATTERN.match(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "00.00.00.H49",  # level 4 needs 3 digits
        "A00.00.00.H49",
        "000.0.00.H49",
        "000.00.000.H49",
        "000.00.00.49",  # level 1 needs a letter
        "000.00.00.H4",
        "000.00.00.H490",
        "000.a0.01.H26",  # upper case only
        "000-00-00-H49",
        "000.00.00.H49\n",
        " 000.00.00.H49",
        None,
        49,
    ],
)
def test_invalid_agency_codes(code):
    assert not is_valid_agency_code(code)


def test_format_example_from_the_brief():
    assert format_dossier_code("000.00.00.H49", date(2026, 11, 25), 7) == "000.00.00.H49-261125-0007"


def test_sequence_padding_and_overflow():
    day = date(2026, 1, 5)
    assert format_dossier_code("000.A0.01.H26", day, 1) == "000.A0.01.H26-260105-0001"
    assert format_dossier_code("000.A0.01.H26", day, 9999) == "000.A0.01.H26-260105-9999"
    assert format_dossier_code("000.A0.01.H26", day, 10000) == "000.A0.01.H26-260105-10000"
    assert format_dossier_code("000.A0.01.H26", day, 123456) == "000.A0.01.H26-260105-123456"


def test_aware_datetime_uses_the_hanoi_date():
    # 18:00 UTC on 24 Nov 2026 is 01:00 on 25 Nov in Hanoi.
    at = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
    assert format_dossier_code("000.00.00.H49", at, 7) == "000.00.00.H49-261125-0007"


@pytest.mark.parametrize("sequence", [0, -1])
def test_sequence_must_be_positive(sequence: int):
    with pytest.raises(ValueError):
        format_dossier_code("000.00.00.H49", date(2026, 11, 25), sequence)


def test_format_refuses_bad_input():
    with pytest.raises(ValueError):
        format_dossier_code("H49", date(2026, 11, 25), 1)
    with pytest.raises(TypeError):
        format_dossier_code("000.00.00.H49", date(2026, 11, 25), True)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        format_dossier_code("000.00.00.H49", date(2126, 1, 1), 1)  # yy would say 2026
    with pytest.raises(ValueError):
        format_dossier_code("000.00.00.H49", datetime(2026, 11, 25, 9, 0), 1)  # naive


def test_parse():
    parsed = parse_dossier_code("000.00.00.H49-261125-0007")
    assert parsed == DossierCode("000.00.00.H49", date(2026, 11, 25), 7)
    assert parsed.agency_code == "000.00.00.H49"
    assert str(parsed) == "000.00.00.H49-261125-0007"
    assert parse_dossier_code("000.A0.01.H26-280229-10000") == DossierCode(
        "000.A0.01.H26", date(2028, 2, 29), 10000
    )
    assert DOSSIER_CODE_PATTERN.fullmatch("000.00.00.G15-260101-0001")


@pytest.mark.parametrize(
    "code",
    [
        "",
        "000.00.00.H49",
        "000.00.00.H49-261125",
        "000.00.00.H49-261125-007",  # 3-digit sequence
        "000.00.00.H49-261125-00007",  # padded past 4 digits
        "000.00.00.H49-261125-0000",  # sequence starts at 1
        "000.00.00.H49-260229-0001",  # 2026 is not a leap year
        "000.00.00.H49-261301-0001",  # month 13
        "000.00.00.H49-261100-0001",  # day 0
        "000.00.00.H49-20261125-0001",
        "000.00.00.h49-261125-0001",
        "00.00.00.H49-261125-0001",
        "000.00.00.H49-261125-0007\n",
        "000.00.00.H49_261125_0007",
        "000.00.00.H49-261125-000a",
        "000.00.00.H49-２61125-0007",  # full-width digit
        None,
    ],
)
def test_parse_rejects_malformed(code):
    with pytest.raises(ValueError):
        parse_dossier_code(code)


agency_codes = st.from_regex(r"\A[0-9]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}\Z")


@given(
    agency_codes,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=1, max_value=10**6),
)
def test_format_parse_round_trip(agency: str, day: date, sequence: int):
    code = format_dossier_code(agency, day, sequence)
    assert parse_dossier_code(code) == (agency, day, sequence)
    assert str(parse_dossier_code(code)) == code


@given(st.text(max_size=40))
def test_parse_never_raises_anything_but_value_error(text: str):
    try:
        parsed = parse_dossier_code(text)
    except ValueError:
        return
    assert str(parsed) == text


@pytest.mark.parametrize("code", [
    "000.00.51.H24-261125-0007", "000.00.51.H24-261125-10000", "000.00.51.H24-261125-00007",
    "000.00.51.H24-261125-007", "000.00.51.H24-261125-0007\n", "00.00.51.H24-261125-0007", "000.00.51.H24-2611250-0007",
])
def test_the_contracts_accept_exactly_the_codes_motcua_parses(code: str):
    """One spelling (motcua_contracts.codes): a code the messages accept is one the services can parse."""
    from marshmallow import ValidationError

    from motcua_contracts.common import DOSSIER_CODE

    try:
        DOSSIER_CODE(code)
        contract = True
    except ValidationError:
        contract = False
    try:
        parse_dossier_code(code)
        parsed = True
    except ValueError:
        parsed = False
    assert contract == parsed, code
