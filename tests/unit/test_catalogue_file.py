"""The catalogue import file: the seed loads, and a bad file is refused with every error at its line."""

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from catalog.catalogue_file import (
    SEED_PATH, Catalogue, CatalogueFileError, load_catalogue, parse_catalogue)

BAD = SEED_PATH.parent / "bad_examples"
IN_FORCE = dt.date(2026, 8, 8)

# A small valid catalogue; tests break one thing in it at a time.
MINIMAL = """\
format_version: 1
sources: []
agencies:
  - {code: 000.00.00.H99, name: "Thành phố Thử", level: city, parent: null}
fields:
  - {code: ho-tich, name: "Hộ tịch"}
procedures:
  - code: "1.001193"
    name: "Thủ tục đăng ký khai sinh"
    field: ho-tich
    versions:
      - version: 1
        status: published
        valid_from: 2026-08-08
        agency: 000.00.00.H99
        time_limit: {working_days: 1, confirmed: true}
        service_level: {legacy: null, online: null}
        channels: [counter]
        return_methods: [counter]
        sources: ["https://example.org/source"]
"""


def refused(text: str, fmt: str = "yaml") -> list[str]:
    with pytest.raises(CatalogueFileError) as caught:
        parse_catalogue(text, fmt)
    return caught.value.errors


@pytest.fixture(scope="module")
def seed() -> Catalogue:
    return load_catalogue(SEED_PATH)


def test_seed_has_enough_published_procedures_fields_and_levels(seed: Catalogue) -> None:
    statuses = Counter(v.status for p in seed.procedures for v in p.versions)
    published = [p for p in seed.procedures if p.published_on(IN_FORCE)]
    agencies = {a.code: a for a in seed.agencies}

    assert statuses["published"] >= 30 and statuses["draft"] > 0 and statuses["withdrawn"] == 2
    assert len(published) >= 30
    assert len({p.field for p in published}) >= 8
    assert len({agencies[p.published_on(IN_FORCE).agency].level for p in published}) >= 3


def test_seed_agency_tree_is_at_least_three_deep(seed: Catalogue) -> None:
    parents = {a.code: a.parent for a in seed.agencies}

    def depth(code: str | None) -> int:
        return 0 if code is None else 1 + depth(parents[code])

    assert max(depth(code) for code in parents) >= 3
    assert [a.code for a in seed.agencies if a.parent is None] == ["000.00.00.H24"]


def test_every_published_version_has_a_time_limit_and_a_real_agency(seed: Catalogue) -> None:
    agencies = {a.code for a in seed.agencies}
    for procedure in seed.procedures:
        for version in procedure.versions:
            assert version.agency in agencies
            if version.status == "published":
                assert version.time_limit is not None, procedure.code
                assert version.valid_from == IN_FORCE


def test_every_seed_agency_names_the_place_its_papers_are_dated_at(seed: Catalogue) -> None:
    """The city's own agencies write "Hải Phòng, ngày ..."; a commune and its units write the commune's name."""
    agencies = {a.code: a for a in seed.agencies}

    def commune_of(agency):
        return agency if agency.level == "commune" or agency.parent is None else commune_of(agencies[agency.parent])

    for agency in seed.agencies:
        commune = commune_of(agency)
        if commune.level == "commune":
            assert agency.place == commune.place and commune.name.endswith(f" {commune.place}"), agency.code
        else:
            assert agency.place == "Hải Phòng", agency.code
    assert agencies["000.00.51.H24"].place == "Vĩnh Bảo" and agencies["000.01.51.H24"].place == "Vĩnh Bảo"
    assert agencies["000.00.09.H24"].place == "Hải Phòng"  # Công an thành phố


def test_an_agency_may_name_no_place_but_not_an_empty_one() -> None:
    assert parse_catalogue(MINIMAL).agencies[0].place is None  # its papers carry the date alone
    agency = 'level: city, parent: null'
    placed = MINIMAL.replace(agency, f'{agency}, place: "Thử"')
    assert parse_catalogue(placed).agencies[0].place == "Thử"
    assert refused(MINIMAL.replace(agency, f'{agency}, place: ""')) == [
        "line 4, column 77: agencies[0].place: Shorter than minimum length 1."]
    assert refused(MINIMAL.replace(agency, f"{agency}, place: 5")) == [
        "line 4, column 77: agencies[0].place: Not a valid string."]


def test_seed_keeps_what_the_sources_say(seed: Catalogue) -> None:
    procedures = {p.code: p for p in seed.procedures}
    birth = procedures["1.001193"].published_on(IN_FORCE)
    assert procedures["1.001193"].national_code and not procedures["LOCAL-H24-0001"].national_code
    assert [(f.amount_vnd, f.online_amount_vnd) for f in birth.fees] == [(0, 0), (8000, 0)]
    assert birth.cutoff_hour == dt.time(15, 0)
    assert procedures["1.008675"].published_on(IN_FORCE).time_limit.working_days == Decimal("7.5")
    # "N Khác" in DVCQG has no unit: kept, but not confirmed.
    marriage = procedures["1.000894"].published_on(IN_FORCE)
    assert not marriage.time_limit.confirmed and "time_limit" in marriage.unconfirmed
    repealed = procedures["2.002481"].versions[0]
    assert repealed.status == "withdrawn" and repealed.withdrawn_by.startswith("QĐ 1847/QĐ-UBND")
    assert procedures["2.002481"].published_on(IN_FORCE) is None


def test_a_file_with_several_errors_lists_each_at_its_line() -> None:
    with pytest.raises(CatalogueFileError) as caught:
        load_catalogue(BAD / "several_errors.yaml")

    assert caught.value.errors == [
        "line 7, column 66: agencies[1].parent: Unknown agency '000.00.07.H99'.",
        "line 8, column 6: agencies[2].code: Not an agency code in QCVN 102 form such as 000.00.00.H49.",
        "line 8, column 44: agencies[2].level: Must be one of: city, department, division, commune, commune_unit.",
        "line 21, column 11: procedures[0].versions[0].time_limit.working_days: Not a valid number.",
        "line 24, column 29: procedures[0].versions[0].channels[1]: Must be one of: counter, online, postal.",
        "line 27, column 9: procedures[0].versions[0].colour: Unknown field.",
        "line 29: procedures[0].versions[0].form_fields[0].choices: A choice field needs choices; other types take none.",
        "line 32, column 5: procedures[1].field: Unknown field 'khai-tu'.",
        "line 37, column 9: procedures[1].versions[0].agency: Unknown agency '000.00.09.H99'.",
        "line 42, column 23: procedures[1].versions[0].sources[1]: Unknown source 'S2': not a key of `sources` nor a URL.",
        "line 45, column 9: procedures[1].versions[1].valid_from: Published version 2 overlaps published version 1: "
        "at most one published version may be valid on any date.",
        "line 52: procedures[2].name: Missing data for required field.",
        "line 58, column 9: procedures[2].versions[0].valid_to: Must be after valid_from.",
        "line 60, column 9: procedures[2].versions[0].time_limit: A published version needs a time limit.",
    ]
    assert str(BAD / "several_errors.yaml") in str(caught.value)


def test_unknown_keys_are_refused_not_dropped() -> None:
    text = MINIMAL.replace("format_version: 1", "format_version: 1\nowner: someone").replace(
        "time_limit: {working_days: 1, confirmed: true}", "time_limit: {working_days: 1, confirmed: true, days: 2}")

    assert refused(text) == [
        "line 2, column 1: owner: Unknown field.",
        "line 17, column 56: procedures[0].versions[0].time_limit.days: Unknown field.",
    ]


def test_a_cycle_in_the_agency_tree_is_refused() -> None:
    with pytest.raises(CatalogueFileError) as caught:
        load_catalogue(BAD / "agency_cycle.yaml")

    assert caught.value.errors == [
        "line 6, column 60: agencies[1].parent: Agencies form a cycle: "
        "000.00.01.H99 -> 000.01.02.H99 -> 000.00.02.H99 -> 000.00.01.H99.",
        "line 9, column 60: agencies[4].parent: Agencies form a cycle: 000.00.03.H99 -> 000.00.03.H99.",
    ]


def test_duplicates_are_refused_in_json_too() -> None:
    with pytest.raises(CatalogueFileError) as caught:
        load_catalogue(BAD / "duplicates.json")

    assert caught.value.errors == [
        "line 6, column 6: agencies[1].code: Duplicate agency code '000.00.00.H99' (first at agencies[0].code).",
        "line 10, column 6: fields[1].code: Duplicate field code 'ho-tich' (first at fields[0].code).",
        "line 10, column 44: fields[1].name: Duplicate key.",
        "line 25, column 14: procedures[0].versions[0].fees[1].code: Duplicate fee code 'trang' "
        "(first at procedures[0].versions[0].fees[0].code).",
        "line 29, column 11: procedures[0].versions[1].version: Duplicate version '1' "
        "(first at procedures[0].versions[0].version).",
        "line 37, column 7: procedures[1].code: Duplicate procedure code '2.000815' (first at procedures[0].code).",
        "line 42, column 11: procedures[1].versions[0].channels: Repeated item(s): counter.",
        "line 43, column 42: procedures[1].versions[0].colour: Unknown field.",
    ]


def test_json_input_loads_like_yaml(seed: Catalogue, tmp_path: Path) -> None:
    as_json = tmp_path / "haiphong.json"
    as_json.write_text(json.dumps(yaml.safe_load(SEED_PATH.read_text("utf-8")), default=str, indent="\t"), "utf-8")

    assert load_catalogue(as_json) == seed


def test_syntax_errors_carry_their_line() -> None:
    assert refused('{\n  "format_version": 1,\n  "sources": [,]\n}', "json") == [
        "line 3, column 15: Expecting value"]
    assert refused("format_version: 1\nsources: [\nagencies: x\n") == [
        "line 4, column 1: expected ',' or ']', but got '<stream end>'"]
    assert refused("") == ["line 1: The file holds no catalogue."]


def test_yaml_pitfalls_are_handled() -> None:
    # YAML 1.1 reads an unquoted 15:00 as the number 900: it must still be the time 15:00.
    text = MINIMAL.replace("        channels:", "        cutoff_hour: 16:30\n        channels:")
    assert parse_catalogue(text).procedures[0].versions[0].cutoff_hour == dt.time(16, 30)
    # An unquoted code is a number to YAML: the message says to quote it.
    assert refused(MINIMAL.replace('code: "1.001193"', "code: 1.001193")) == [
        'line 8, column 5: procedures[0].code: Not a valid string (quote codes such as "1.001193", '
        'or YAML reads them as numbers).']


def test_unconfirmed_values_must_be_declared() -> None:
    text = MINIMAL.replace("confirmed: true}", "confirmed: false}")
    # `unconfirmed` is absent, so the error points at the version (line 12) without a column.
    assert refused(text) == [
        "line 12: procedures[0].versions[0].unconfirmed: Must list time_limit: not confirmed below."]
    assert parse_catalogue(text + "        unconfirmed: [time_limit]\n").procedures[0].versions[0].unconfirmed == (
        "time_limit",)


def test_every_published_version_routes_receive_handle_approve_within_its_time_limit(seed: Catalogue) -> None:
    for procedure in seed.procedures:
        for version in procedure.versions:
            if version.status != "published":
                continue
            steps = version.workflow
            roles = [step.role for step in steps]
            assert roles[0] == "receptionist" and roles[-1] == "approver", procedure.code
            assert set(roles[1:-1]) == {"handler"}, procedure.code
            assert steps[0].agency == version.agency, procedure.code  # the receiving agency's counter
            assert sum(step.working_days for step in steps) == version.time_limit.working_days, procedure.code
            assert "workflow" in version.unconfirmed, procedure.code  # modelled, not published


def test_some_routes_cross_two_agencies_and_same_day_ones_take_no_step_time(seed: Catalogue) -> None:
    levels = {a.code: a.level for a in seed.agencies}
    published = {p.code: p.published_on(IN_FORCE) for p in seed.procedures if p.published_on(IN_FORCE)}
    crossing = {code for code, v in published.items() if len({step.agency for step in v.workflow}) == 2}
    assert len(crossing) >= 3
    land = published["1.013978"].workflow  # received at the commune, registered by the Sở
    assert [(levels[s.agency], s.role) for s in land] == [
        ("commune", "receptionist"), ("department", "handler"), ("commune", "approver")]
    same_day = [v for v in published.values() if v.time_limit.working_days == 0]
    assert same_day and all(step.working_days == 0 for v in same_day for step in v.workflow)


def test_a_workflow_at_an_unknown_agency_or_longer_than_the_time_limit_is_refused() -> None:
    def with_steps(*days: str, handler: str = "000.00.00.H99") -> str:
        agencies = ("000.00.00.H99", handler)
        return MINIMAL + "        workflow:\n" + "".join(
            f"          - {{agency: {agency}, role: handler, working_days: {d}}}\n" for agency, d in zip(agencies, days))

    fits = parse_catalogue(with_steps("0.5", "0.5")).procedures[0].versions[0].workflow
    assert [step.working_days for step in fits] == [Decimal("0.5"), Decimal("0.5")]
    assert refused(with_steps("0.5", "0.5", handler="000.00.09.H99")) == [
        "line 23, column 14: procedures[0].versions[0].workflow[1].agency: Unknown agency '000.00.09.H99'."]
    assert refused(with_steps("0.5", "0.75")) == [(
        "line 21, column 9: procedures[0].versions[0].workflow: "
        "The steps take 1.25 working days; the time limit is 1.")]
