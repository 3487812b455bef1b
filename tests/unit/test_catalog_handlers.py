"""catalog's use cases (catalog.handlers) on SQLite with the seeded Hải Phòng catalogue and a pinned clock, no
broker: which version is served is decided by the clock passed in, and what is asked wrongly is refused by field."""
from datetime import datetime, timezone

import pytest

from catalog import handlers
from catalog.cli import import_file
from catalog.models import metadata
from motcua.errors import NotFound, ValidationFailed
from motcua.migrations import upgrade
from tests.service.test_catalog_service import (
    CLOSED_VERSION_1, COMMUNE, NEW_VERSION, PUBLISHED_IN_SEED, SEED_PATH,
)
from tests.support import TEST_NOW, LocalDatabase, PinnedClock


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """The seed imported once; the tests only read it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('catalog') / 'catalog.db'}"
    upgrade("catalog", url)
    import_file(SEED_PATH, url)
    return url


@pytest.fixture
def db(seeded):
    return LocalDatabase(seeded, metadata, "catalog")


def codes(page: dict) -> list[str]:
    return [item["procedure_code"] for item in page["items"]]


def test_the_search_finds_what_is_in_force_without_diacritics_and_pages_it(db):
    clock = PinnedClock(TEST_NOW)
    assert codes(handlers.search_procedures(db, clock, {"q": "DANG KY KHAI SINH"})) == ["1.001193", "1.000689"]
    first = handlers.search_procedures(db, clock, {"agency": COMMUNE, "per_page": 5})
    assert (first["total"], len(first["items"]), first["page"]) == (20, 5, 1)
    assert handlers.search_procedures(db, clock, {})["total"] == PUBLISHED_IN_SEED


@pytest.mark.parametrize("query, field", [({"page": 0}, "page"), ({"level": "5"}, "level"),
                                          ({"colour": "blue"}, "colour")])
def test_bad_search_parameters_are_refused_field_by_field(db, query, field):
    with pytest.raises(ValidationFailed) as refused:
        handlers.search_procedures(db, PinnedClock(TEST_NOW), query)
    assert list(refused.value.fields) == [field]


def test_only_a_published_version_in_force_is_served_and_any_version_by_number(db):
    clock = PinnedClock(TEST_NOW)
    assert handlers.get_procedure(db, clock, "1.001193")["version"] == 1
    for code, reason in (("1.004837", "No published version is in force on 2026-11-25."),  # a draft
                         ("9.999999", "No such procedure."), (None, "No such procedure.")):
        with pytest.raises(NotFound) as missing:
            handlers.get_procedure(db, clock, code)
        assert missing.value.fields == {"procedure_code": [reason]}
    assert handlers.get_procedure_version(db, "1.004837", 1)["status"] == "draft"
    with pytest.raises(NotFound):
        handlers.get_procedure_version(db, "1.001193", "1")


def test_a_new_version_is_served_from_midnight_in_hai_phong_by_the_clock_passed_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade("catalog", url)
    import_file(SEED_PATH, url)
    path = tmp_path / "v2.yaml"
    path.write_text(NEW_VERSION % CLOSED_VERSION_1, encoding="utf-8")
    import_file(path, url)
    db = LocalDatabase(url, metadata, "catalog")
    eve = PinnedClock(datetime(2026, 9, 30, 16, 59, tzinfo=timezone.utc))  # 23:59 on 30/9 in Hải Phòng
    midnight = PinnedClock(datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc))
    assert handlers.get_procedure(db, eve, "1.001193")["version"] == 1
    assert handlers.get_procedure(db, midnight, "1.001193")["version"] == 2
    db.engine.dispose()


def test_agencies_come_parents_first(db):
    agencies = handlers.list_agencies(db)
    position = {agency["code"]: index for index, agency in enumerate(agencies)}
    assert all(position[agency["parent_code"]] < position[agency["code"]]
               for agency in agencies if agency["parent_code"] is not None)
    assert {"code": "ho-tich", "name": "Hộ tịch"} in handlers.list_fields(db)


def test_an_agencys_place_reaches_the_agency_list_and_its_published_versions(db):
    places = {agency["code"]: agency["place_name"] for agency in handlers.list_agencies(db)}
    assert places[COMMUNE] == "Vĩnh Bảo" and places["000.00.00.H24"] == "Hải Phòng" and None not in places.values()
    birth = handlers.get_procedure(db, PinnedClock(TEST_NOW), "1.001193")  # filed at UBND xã Vĩnh Bảo
    assert birth["agency"]["place_name"] == "Vĩnh Bảo"


def test_an_agency_imported_again_without_a_place_has_none_derived(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade("catalog", url)
    import_file(SEED_PATH, url)
    text = SEED_PATH.read_text(encoding="utf-8")
    listed = 'level: commune, parent: 000.00.00.H24, place: "Vĩnh Bảo"}'
    path = tmp_path / "no-place.yaml"
    path.write_text(text.replace(listed, "level: commune, parent: 000.00.00.H24}"), encoding="utf-8")
    summary = import_file(path, url)
    assert summary.agencies.updated == 1 and summary.versions.updated > 0  # its versions embed it
    db = LocalDatabase(url, metadata, "catalog")
    assert {a["code"]: a["place_name"] for a in handlers.list_agencies(db)}[COMMUNE] is None
    assert handlers.get_procedure(db, PinnedClock(TEST_NOW), "1.001193")["agency"]["place_name"] is None
    db.engine.dispose()
