"""catalog's pure rules: the search normaliser, the version in force, the agency tree, the contract shape."""
import unicodedata
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from motcua.procedures import in_force, version_in_force
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.events import event_version, load_event_data

from catalog.catalogue_file import SEED_PATH, load_catalogue
from catalog.domain import (
    agency_paths, definitions, normalise, overlapping, search_text, search_tokens, today,
)


@pytest.mark.parametrize("text, expected", [
    ("Đăng ký kết hôn", "dang ky ket hon"),
    ("ĐĂNG KÝ KHAI SINH", "dang ky khai sinh"),
    ("Ủy ban nhân dân đặc khu Cát Hải", "uy ban nhan dan dac khu cat hai"),
    ("Công nhận hộ nghèo, hộ cận nghèo", "cong nhan ho ngheo, ho can ngheo"),
    # ơ and ư carrying every tone mark: the horn and the tone are both combining marks under NFD.
    ("ơ ờ ớ ở ỡ ợ Ơ Ờ Ớ Ở Ỡ Ợ", "o o o o o o o o o o o o"),
    ("ư ừ ứ ử ữ ự Ư Ừ Ứ Ử Ữ Ự", "u u u u u u u u u u u u"),
    ("Trường Người lao động nước ngoài", "truong nguoi lao dong nuoc ngoai"),
    ("  Giấy phép\tlái   xe\n", "giay phep lai xe"),
    ("ÐIỆN BIÊN", "dien bien"),  # U+00D0, the look-alike of Đ in text converted from old encodings
    ("1.001193 LOCAL-H24-0001", "1.001193 local-h24-0001"),
])
def test_normalise_strips_case_diacritics_and_extra_whitespace(text, expected):
    assert normalise(text) == expected


def test_normalise_gives_the_same_text_for_composed_and_decomposed_input():
    composed = "Chứng thực chữ ký Đồng Hới"
    assert normalise(unicodedata.normalize("NFD", composed)) == normalise(composed) == "chung thuc chu ky dong hoi"


def test_search_tokens_and_text_match_without_diacritics():
    definition = {"name": "Thủ tục đăng ký kết hôn", "procedure_code": "1.000894",
                  "field": {"code": "ho-tich", "name": "Hộ tịch"},
                  "agency": {"code": "000.00.51.H24", "name": "Ủy ban nhân dân xã Vĩnh Bảo"}}
    text = search_text(definition)
    assert text == "thu tuc dang ky ket hon 1.000894 ho tich uy ban nhan dan xa vinh bao"
    assert search_tokens("DANG  Ký kết HÔN") == ["dang", "ky", "ket", "hon"]
    assert all(token in text for token in search_tokens("Vĩnh Bảo hộ tịch"))
    assert search_tokens(None) == search_tokens("   ") == []


def version(number, status="published", valid_from=date(2026, 8, 8), valid_to=None):
    return SimpleNamespace(version=number, status=status, valid_from=valid_from, valid_to=valid_to)


@pytest.mark.parametrize("day, expected", [
    (date(2026, 8, 7), False),   # the day before valid_from
    (date(2026, 8, 8), True),    # valid_from itself
    (date(2026, 12, 31), True),  # the last day before valid_to
    (date(2027, 1, 1), False),   # valid_to: the first day it no longer applies
])
def test_in_force_from_valid_from_up_to_but_not_including_valid_to(day, expected):
    assert in_force("published", date(2026, 8, 8), date(2027, 1, 1), day) is expected


def test_only_published_versions_are_ever_in_force():
    day = date(2026, 11, 25)
    assert in_force("published", date(2026, 8, 8), None, day)
    assert not in_force("draft", date(2026, 8, 8), None, day)
    assert not in_force("withdrawn", date(2026, 8, 8), None, day)


def test_current_version_changes_over_on_the_boundary_day():
    old = version(1, valid_from=date(2025, 7, 1), valid_to=date(2026, 8, 8))
    new = version(2, valid_from=date(2026, 8, 8))
    draft = version(3, status="draft", valid_from=date(2026, 1, 1))
    versions = [draft, new, old]
    assert version_in_force(versions, date(2025, 6, 30)) is None
    assert version_in_force(versions, date(2026, 8, 7)) is old
    assert version_in_force(versions, date(2026, 8, 8)) is new
    assert version_in_force([draft, version(4, status="withdrawn")], date(2026, 11, 25)) is None


def test_today_is_the_date_in_hai_phong_not_in_utc():
    assert today(datetime(2026, 11, 25, 16, 59, 59, tzinfo=timezone.utc)) == date(2026, 11, 25)
    assert today(datetime(2026, 11, 25, 17, 0, tzinfo=timezone.utc)) == date(2026, 11, 26)  # midnight, UTC+7


def test_overlapping_published_versions_are_found_and_touching_ones_are_not():
    touching = [version(1, valid_to=date(2026, 9, 1)), version(2, valid_from=date(2026, 9, 1))]
    assert overlapping(touching) == []
    assert overlapping([version(1), version(2, valid_from=date(2026, 9, 1))]) == [(1, 2)]
    assert overlapping([version(1), version(2, status="draft", valid_from=date(2026, 9, 1))]) == []


def test_agency_paths_nest_every_agency_under_its_ancestors():
    paths = agency_paths({"000.01.51.H24": "000.00.51.H24", "000.00.51.H24": "000.00.00.H24", "000.00.00.H24": None})
    assert paths == {"000.00.00.H24": "/000.00.00.H24/",
                     "000.00.51.H24": "/000.00.00.H24/000.00.51.H24/",
                     "000.01.51.H24": "/000.00.00.H24/000.00.51.H24/000.01.51.H24/"}
    assert paths["000.01.51.H24"].startswith(paths["000.00.51.H24"])


def test_agency_paths_refuse_a_cycle_and_an_unknown_parent():
    with pytest.raises(ValueError, match="cycle"):
        agency_paths({"A": "B", "B": "A", "C": None})
    with pytest.raises(ValueError, match="unknown parent"):
        agency_paths({"A": "X"})


@pytest.fixture(scope="module")
def seed_definitions():
    return {(p.code, v.version): (v, d) for p, v, d in definitions(load_catalogue(SEED_PATH))}


def test_every_seed_version_loads_under_the_contract_and_dumps_back_the_same(seed_definitions):
    schema = ProcedureVersionSchema()
    published = [d for v, d in seed_definitions.values() if v.status == "published"]
    assert len(published) == 31
    for _, definition in seed_definitions.values():
        assert schema.dump(schema.load(definition)) == definition


def test_a_seed_version_maps_to_the_contract_with_names_resolved(seed_definitions):
    _, birth = seed_definitions[("1.001193", 1)]
    assert birth["field"] == {"code": "ho-tich", "name": "Hộ tịch"}
    assert birth["agency"] == {"code": "000.00.51.H24", "name": "Ủy ban nhân dân xã Vĩnh Bảo", "level": "commune",
                               "parent_code": "000.00.00.H24", "place_name": "Vĩnh Bảo"}
    assert birth["time_limit"]["working_days"] == "1" and birth["cutoff_hour"] == "15:00"
    assert birth["service_level"] == {"legacy": None, "online": "mot_phan"}
    assert birth["fees"][1]["amount_vnd"] == 8000 and birth["fees"][1]["online_amount_vnd"] == 0
    assert all(f["choices"] is None for f in birth["form_fields"] if f["type"] != "choice")
    # Source keys (S3, ...) mean nothing outside the file: each becomes its title and address; a URL stays.
    assert birth["sources"][0] == ("hongdienvbhp/BangNiemYetVinhBao data/source-audit/dvc-api-detail-1.001193.json: "
                                   "raw DVCQG API payload for 1.001193 <https://github.com/hongdienvbhp/BangNiemYetVinhBao>")
    assert birth["sources"][-1] == "http://chauphu.angiang.gov.vn"
    assert birth["note"]


def test_procedure_published_carries_the_place_at_version_2_and_an_older_event_still_loads(seed_definitions):
    _, birth = seed_definitions[("1.001193", 1)]
    assert event_version("catalog", "procedure_published") == 2
    older = dict(birth, agency={key: value for key, value in birth["agency"].items() if key != "place_name"})
    loaded = load_event_data("catalog", "procedure_published", {"procedure": older}, schema_version=1)
    assert loaded["procedure"]["agency"]["place_name"] is None  # an older catalog's: the receipt dates alone


def test_draft_and_withdrawn_versions_keep_what_the_file_says(seed_definitions):
    _, draft = seed_definitions[("1.004837", 1)]
    _, withdrawn = seed_definitions[("2.002481", 1)]
    assert draft["status"] == "draft" and draft["time_limit"] is None
    assert withdrawn["status"] == "withdrawn" and withdrawn["valid_to"] == "2026-05-19"
    assert withdrawn["withdrawn_by"].startswith("QĐ 1847/QĐ-UBND")
