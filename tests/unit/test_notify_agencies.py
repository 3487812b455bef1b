"""notify.agencies: catalog's agency names, asked once and kept, asked again when old, for a code they lack
or after catalog did not answer; the names known stand while catalog is away. Time is pinned."""
from datetime import datetime, timedelta, timezone

import pytest

from motcua.errors import ServiceUnavailable
from notify.agencies import AgencyNames

T0 = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
VINH_BAO = {"code": "000.00.51.H24", "name": "Ủy ban nhân dân xã Vĩnh Bảo", "level": "commune",
            "parent_code": "000.00.00.H24"}
CITY = {"code": "000.00.00.H24", "name": "Ủy ban nhân dân thành phố Hải Phòng", "level": "city", "parent_code": None}


class Catalog:
    """catalog's list_agencies as notify calls it: counts the calls; `away` makes it answer 503."""

    def __init__(self, *agencies):
        self.agencies, self.calls, self.away = list(agencies), 0, False

    def list_agencies(self):
        self.calls += 1
        if self.away:
            raise ServiceUnavailable("The catalogue did not answer in time; try again shortly.")
        return self.agencies


def test_names_are_asked_once_and_kept_until_they_are_old():
    catalog, names = Catalog(VINH_BAO, CITY), AgencyNames(max_age=timedelta(minutes=10))
    assert names.name_of("000.00.51.H24", catalog.list_agencies, T0) == "Ủy ban nhân dân xã Vĩnh Bảo"
    nine_minutes_later = T0 + timedelta(minutes=9)
    assert names.name_of("000.00.00.H24", catalog.list_agencies, nine_minutes_later) == CITY["name"]
    assert catalog.calls == 1

    catalog.agencies = [{**VINH_BAO, "name": "Ủy ban nhân dân xã Vĩnh Bảo (mới)"}, CITY]  # renamed by decision
    renamed = names.name_of("000.00.51.H24", catalog.list_agencies, T0 + timedelta(minutes=10))
    assert renamed == "Ủy ban nhân dân xã Vĩnh Bảo (mới)"
    assert catalog.calls == 2


def test_a_code_not_known_yet_is_asked_again_soon_but_not_at_every_notice():
    catalog, names = Catalog(CITY), AgencyNames(retry_after=timedelta(seconds=5))
    assert names.name_of("000.00.51.H24", catalog.list_agencies, T0) is None  # catalog knows no such agency
    assert names.name_of("000.00.51.H24", catalog.list_agencies, T0 + timedelta(seconds=4)) is None
    assert catalog.calls == 1
    catalog.agencies.append(VINH_BAO)  # an agency added since
    assert names.name_of("000.00.51.H24", catalog.list_agencies, T0 + timedelta(seconds=5)) == VINH_BAO["name"]
    assert catalog.calls == 2


def test_while_catalog_is_away_known_names_stand_and_an_unknown_code_waits_for_it():
    catalog, names = Catalog(VINH_BAO), AgencyNames(max_age=timedelta(minutes=10), retry_after=timedelta(seconds=5))
    names.name_of("000.00.51.H24", catalog.list_agencies, T0)
    catalog.away = True
    later = T0 + timedelta(minutes=11)
    assert names.name_of("000.00.51.H24", catalog.list_agencies, later) == "Ủy ban nhân dân xã Vĩnh Bảo"
    for seconds in (0, 1):  # within retry_after of the failed ask: not asked again, still unknown
        with pytest.raises(ServiceUnavailable):
            names.name_of("000.00.00.H24", catalog.list_agencies, later + timedelta(seconds=seconds))
    assert catalog.calls == 2

    catalog.away, catalog.agencies = False, [VINH_BAO, CITY]
    back = later + timedelta(seconds=5)
    assert names.name_of("000.00.00.H24", catalog.list_agencies, back) == CITY["name"]
    assert catalog.calls == 3


def test_a_first_ask_that_fails_names_nothing_and_is_retried():
    catalog, names = Catalog(VINH_BAO), AgencyNames(retry_after=timedelta(seconds=5))
    catalog.away = True
    with pytest.raises(ServiceUnavailable):
        names.name_of("000.00.51.H24", catalog.list_agencies, T0)
    catalog.away = False
    assert names.name_of("000.00.51.H24", catalog.list_agencies, T0 + timedelta(seconds=5)) == VINH_BAO["name"]


def test_an_unexpected_error_from_catalog_is_raised_and_the_next_notice_asks_again():
    catalog, names = Catalog(VINH_BAO), AgencyNames()

    def broken():
        raise RuntimeError("catalog answered something unexpected")

    with pytest.raises(RuntimeError):
        names.name_of("000.00.51.H24", broken, T0)
    assert names.name_of("000.00.51.H24", catalog.list_agencies, T0) == VINH_BAO["name"]
