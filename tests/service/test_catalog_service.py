"""catalog on the real RabbitMQ and PostgreSQL: the seed imported by the CLI, served over RPC,
announced on the bus through the outbox."""
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

import eventlet
import pytest
import requests
import sqlalchemy as sa
from kombu import Connection, Exchange, Queue
from nameko.testing.services import entrypoint_hook, replace_dependencies
from prometheus_client import REGISTRY
from sqlalchemy.orm import Session

from motcua.db import make_engine
from motcua.errors import NotFound, ValidationFailed
from motcua.migrations import upgrade
from motcua_contracts.catalog import AgencySchema, FieldOfWorkSchema, ProcedurePageSchema, ProcedureVersionSchema
from motcua_contracts.envelope import EnvelopeSchema
from motcua_contracts.events import load_event_data

from catalog import domain, repository
from catalog.catalogue_file import SEED_PATH, CatalogueFileError, load_catalogue
from catalog.cli import import_file
from catalog.models import agency, metadata, procedure_version
from catalog.handlers import PUBLISHED
from catalog.service import CatalogService
from tests.conftest import truncate_all
from tests.support import TEST_NOW, PinnedClock, take_messages

BAD = SEED_PATH.parent / "bad_examples" / "several_errors.yaml"
PUBLISHED_IN_SEED = 31
OUTBOX = metadata.tables["outbox_message"]
COMMUNE, COMMUNE_POLICE = "000.00.51.H24", "000.01.51.H24"  # UBND xã Vĩnh Bảo and its Công an xã


@pytest.fixture(scope="module")
def database(postgres_database):
    return postgres_database("catalog")


@pytest.fixture
def seeded(database):
    truncate_all(database)
    return import_file(SEED_PATH, database)


@pytest.fixture
def config(rabbit_config, web_config, database, seeded):
    return dict(rabbit_config, **web_config, DATABASE_URL=database)


@pytest.fixture
def clock():
    return PinnedClock(TEST_NOW)


@pytest.fixture
def catalog(container_factory, config, clock):
    """catalog with its clock pinned: which version is in force depends on the day."""
    container = container_factory(CatalogService, config)
    replace_dependencies(container, clock=clock)
    container.start()
    return container


def call(container, entrypoint, *args):
    with entrypoint_hook(container, entrypoint) as hook:
        return hook(*args)


def search(container, **query) -> dict:
    page = call(container, "search_procedures", query)
    ProcedurePageSchema().load(page)  # the answer is on contract
    return page


def codes(page: dict) -> list[str]:
    return [item["procedure_code"] for item in page["items"]]


def count(url: str, table: sa.Table) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    engine.dispose()
    return value


def counts(url: str) -> tuple[int, int, int]:
    return count(url, agency), count(url, procedure_version), count(url, OUTBOX)


def test_the_seed_import_creates_everything_and_records_one_event_per_published_version(seeded, database):
    assert (seeded.agencies.created, seeded.fields.created, seeded.procedures.created,
            seeded.versions.created) == (15, 24, 41, 41)
    assert seeded.events == PUBLISHED_IN_SEED
    assert counts(database) == (15, 41, PUBLISHED_IN_SEED)


def test_search_ignores_diacritics_and_case(catalog):
    marriage = search(catalog, q="dang ky ket hon")
    assert codes(marriage) == ["1.000894", "1.004746"]  # đăng ký kết hôn, đăng ký lại kết hôn; 2.000806 is a draft
    assert marriage["items"][0]["name"] == "Thủ tục đăng ký kết hôn"
    assert codes(search(catalog, q="DANG KY KHAI SINH")) == ["1.001193", "1.000689"]
    assert codes(search(catalog, q="Đăng   ký   KHAI sinh")) == ["1.001193", "1.000689"]
    assert codes(search(catalog, q="1.001193")) == ["1.001193"]
    assert search(catalog, q="ket hon khong ton tai")["total"] == 0


def test_search_by_agency_includes_the_agencies_under_it(catalog):
    commune = codes(search(catalog, agency=COMMUNE, per_page=100))
    police = codes(search(catalog, agency=COMMUNE_POLICE, per_page=100))
    assert sorted(police) == ["1.004194", "1.004222"]  # đăng ký tạm trú, thường trú at the Công an xã
    assert set(police) < set(commune) and len(commune) == 20
    assert search(catalog, agency="000.00.00.H24")["total"] == PUBLISHED_IN_SEED  # the city holds every agency
    assert search(catalog, agency="000.00.99.H24")["total"] == 0


def test_search_by_field_and_level_and_text_together(catalog):
    assert sorted(codes(search(catalog, field="cu-tru"))) == ["1.004194", "1.004222"]
    assert codes(search(catalog, level="mot_phan")) == ["1.001193"]
    assert search(catalog, level="toan_trinh")["total"] == 0
    assert codes(search(catalog, q="khai sinh", field="ho-tich", level="mot_phan", agency=COMMUNE)) == ["1.001193"]
    assert search(catalog, q="khai sinh", field="cu-tru")["total"] == 0


def test_search_pages_through_every_published_procedure_once_in_name_order(catalog):
    pages = [search(catalog, page=n, per_page=10) for n in (1, 2, 3, 4, 5)]
    assert [p["total"] for p in pages] == [PUBLISHED_IN_SEED] * 5
    assert [len(p["items"]) for p in pages] == [10, 10, 10, 1, 0]
    listed = [code for p in pages for code in codes(p)]
    assert len(set(listed)) == PUBLISHED_IN_SEED
    names = [domain.normalise(item["name"]) for p in pages for item in p["items"]]
    assert names == sorted(names)
    assert {"1.004837", "2.002481"}.isdisjoint(listed)  # a draft, a withdrawn one


@pytest.mark.parametrize("query, field", [
    ({"page": 0}, "page"), ({"per_page": 101}, "per_page"), ({"page": "two"}, "page"),
    ({"level": "5"}, "level"), ({"colour": "blue"}, "colour"),
])
def test_bad_search_parameters_are_refused_field_by_field(catalog, query, field):
    with pytest.raises(ValidationFailed) as refused:
        call(catalog, "search_procedures", query)
    assert list(refused.value.fields) == [field]


def test_get_procedure_serves_only_the_version_in_force(catalog):
    birth = call(catalog, "get_procedure", "1.001193")
    assert ProcedureVersionSchema().load(birth)["version"] == 1
    assert birth["status"] == "published" and birth["agency"]["code"] == COMMUNE
    for code in ("1.004837", "2.002481", "9.999999"):  # a draft, a withdrawn one, an unknown code
        with pytest.raises(NotFound) as missing:
            call(catalog, "get_procedure", code)
        assert list(missing.value.fields) == ["procedure_code"]


def test_a_callers_mistake_is_a_warning_in_the_log_not_an_error_with_a_traceback(catalog, caplog):
    with pytest.raises(NotFound):
        call(catalog, "get_procedure", "9.999999")
    with pytest.raises(ValidationFailed):
        call(catalog, "search_procedures", {"page": 0})
    containers = [r for r in caplog.records if r.name == "nameko.containers" and "error handling worker" in r.message]
    assert len(containers) == 2
    assert all(r.levelname == "WARNING" for r in containers)  # whose traceback motcua.logs leaves out


def test_get_procedure_version_serves_any_status(catalog):
    draft = call(catalog, "get_procedure_version", "1.004837", 1)
    assert ProcedureVersionSchema().load(draft)["status"] == "draft"
    withdrawn = call(catalog, "get_procedure_version", "2.002481", 1)
    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawn_by"]
    with pytest.raises(NotFound):
        call(catalog, "get_procedure_version", "1.001193", 2)


def test_agencies_and_fields_are_listed_on_contract(catalog):
    agencies = call(catalog, "list_agencies")
    assert len(AgencySchema(many=True).load(agencies)) == 15
    assert agencies[0] == {"code": "000.00.00.H24", "name": "Ủy ban nhân dân thành phố Hải Phòng", "level": "city",
                           "parent_code": None, "place_name": "Hải Phòng"}
    assert {"code": COMMUNE_POLICE, "name": "Công an xã Vĩnh Bảo", "level": "commune_unit",
            "parent_code": COMMUNE, "place_name": "Vĩnh Bảo"} in agencies
    fields = call(catalog, "list_fields")
    assert len(FieldOfWorkSchema(many=True).load(fields)) == 24
    assert {"code": "ho-tich", "name": "Hộ tịch"} in fields


@pytest.fixture
def published_events(config):
    """A queue bound to catalog.events as a consumer's would be, before the service starts."""
    exchange = Exchange("catalog.events", type="topic", durable=True)
    queue = Queue("test-procedure-published", exchange=exchange, routing_key="procedure_published")
    with Connection(config["AMQP_URI"]) as connection:
        queue(connection.default_channel).declare()
    yield lambda expected, timeout=20: take_messages(config["AMQP_URI"], queue.name, expected, timeout)


def test_published_versions_reach_the_bus_once_and_a_reimport_adds_none(published_events, container_factory,
                                                                         config, database):
    container_factory(CatalogService, config).start()
    envelopes = published_events(PUBLISHED_IN_SEED)
    assert len(envelopes) == PUBLISHED_IN_SEED
    for envelope in envelopes:
        loaded = EnvelopeSchema().load(envelope)
        assert (loaded["producer"], loaded["event_type"]) == ("catalog", "procedure_published")
        assert load_event_data("catalog", "procedure_published", envelope["data"])["procedure"]["status"] == "published"
    published = {(p.code, v.version) for p in load_catalogue(SEED_PATH).procedures for v in p.versions
                 if v.status == "published"}
    announced = {(e["data"]["procedure"]["procedure_code"], e["data"]["procedure"]["version"]) for e in envelopes}
    assert announced == published

    again = import_file(SEED_PATH, database)
    assert (again.versions.unchanged, again.versions.created, again.versions.updated, again.events) == (41, 0, 0, 0)
    assert count(database, OUTBOX) == PUBLISHED_IN_SEED
    assert published_events(1, timeout=2.5) == []  # more than one relay poll: nothing new went out


def test_a_changed_definition_records_an_event_for_that_published_version_only(seeded, database, tmp_path):
    text = SEED_PATH.read_text(encoding="utf-8")
    changed = (text.replace("{legacy: null, online: mot_phan}", "{legacy: 4, online: mot_phan}")  # 1.001193
               .replace('name: "Thủ tục đăng ký giám hộ"', 'name: "Thủ tục đăng ký giám hộ (sửa đổi)"'))  # a draft
    assert changed.count("legacy: 4") == 1 and "(sửa đổi)" in changed
    path = tmp_path / "changed.yaml"
    path.write_text(changed, encoding="utf-8")

    summary = import_file(path, database)
    assert (summary.versions.updated, summary.procedures.updated, summary.events) == (2, 1, 1)
    engine = make_engine(database)
    with engine.connect() as conn:
        body = json.loads(conn.execute(sa.select(OUTBOX.c.body)
                                       .order_by(OUTBOX.c.seq.desc()).limit(1)).scalar_one())
        rows, total = repository.search(Session(bind=conn), domain.today(TEST_NOW), [], None, None, "4", 1, 20)
    engine.dispose()
    assert body["data"]["procedure"]["procedure_code"] == "1.001193"
    assert body["data"]["procedure"]["service_level"] == {"legacy": 4, "online": "mot_phan"}
    assert total == 1 and rows[0]["procedure_code"] == "1.001193"  # the legacy level filter


NEW_VERSION = """\
format_version: 1
sources: []
agencies:
  - {code: 000.00.00.H24, name: "Ủy ban nhân dân thành phố Hải Phòng", level: city, parent: null, place: "Hải Phòng"}
  - {code: 000.00.99.H24, name: "Trung tâm Phục vụ hành chính công", level: department, parent: 000.00.00.H24,
     place: "Hải Phòng"}
fields:
  - {code: ho-tich, name: "Hộ tịch"}
procedures:
  - code: "1.001193"
    name: "Thủ tục đăng ký khai sinh"
    field: ho-tich
    versions:
%s
      - version: 2
        status: published
        valid_from: 2026-10-01
        agency: 000.00.99.H24
        time_limit: {working_days: 2, confirmed: true}
        service_level: {legacy: null, online: toan_trinh}
        channels: [counter, online]
        return_methods: [counter]
        sources: ["https://example.org/decision"]
"""
CLOSED_VERSION_1 = """\
      - version: 1
        status: published
        valid_from: 2026-08-08
        valid_to: 2026-10-01
        agency: 000.00.00.H24
        time_limit: {working_days: 1, confirmed: true}
        service_level: {legacy: null, online: mot_phan}
        channels: [counter]
        return_methods: [counter]
        sources: ["https://example.org/before"]"""


def test_a_file_overlapping_an_imported_version_is_refused_and_imports_nothing(seeded, database, tmp_path):
    path = tmp_path / "overlap.yaml"
    path.write_text(NEW_VERSION % "", encoding="utf-8")  # version 2 while the imported version 1 is open-ended
    before = counts(database)
    with pytest.raises(CatalogueFileError) as refused:
        import_file(path, database)
    assert refused.value.errors == [
        "1.001193: published versions 1 and 2 overlap (with the versions already imported)."]
    assert counts(database) == before  # not even the new agency, written earlier in the same transaction


def test_a_new_version_takes_over_on_its_date_and_the_old_one_stays_served(catalog, database, tmp_path, clock):
    path = tmp_path / "v2.yaml"
    path.write_text(NEW_VERSION % CLOSED_VERSION_1, encoding="utf-8")
    summary = import_file(path, database)
    assert (summary.versions.updated, summary.versions.created, summary.events) == (1, 1, 2)
    clock.now = datetime(2026, 9, 30, 16, 59, tzinfo=timezone.utc)  # 23:59 on 30/9 in Hai Phong
    assert call(catalog, "get_procedure", "1.001193")["version"] == 1
    clock.now = datetime(2026, 9, 30, 17, 0, tzinfo=timezone.utc)  # midnight: 1/10 in Hai Phong
    current = call(catalog, "get_procedure", "1.001193")
    assert (current["version"], current["agency"]["code"]) == (2, "000.00.99.H24")
    assert call(catalog, "get_procedure_version", "1.001193", 1)["valid_to"] == "2026-10-01"
    assert codes(search(catalog, level="toan_trinh")) == ["1.001193"]


def test_dry_run_counts_but_writes_nothing(database):
    truncate_all(database)
    summary = import_file(SEED_PATH, database, dry_run=True)
    assert (summary.versions.created, summary.events) == (41, PUBLISHED_IN_SEED)
    assert counts(database) == (0, 0, 0)


def test_a_bad_file_is_refused_with_its_lines_and_imports_nothing(seeded, database):
    before = counts(database)
    result = subprocess.run([sys.executable, "-m", "catalog.cli", "import", str(BAD)], capture_output=True,
                            text=True, env=dict(os.environ, CATALOG_DATABASE_URL=database), timeout=60)
    assert result.returncode == 1
    with pytest.raises(CatalogueFileError) as expected:
        load_catalogue(BAD)
    reported = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert reported == expected.value.errors and len(reported) == 14
    assert all(line.startswith("line ") for line in reported)
    assert "line 21, column 11: procedures[0].versions[0].time_limit.working_days: Not a valid number." in reported
    assert counts(database) == before


def test_the_cli_prints_a_summary_and_exits_0(seeded, database):
    result = subprocess.run([sys.executable, "-m", "catalog.cli", "import", str(SEED_PATH)], capture_output=True,
                            text=True, env=dict(os.environ, CATALOG_DATABASE_URL=database), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "versions    created 0, updated 0, unchanged 41" in result.stdout
    assert "procedure_published events recorded: 0" in result.stdout


def test_metrics_count_published_procedures_and_searches(catalog, config):
    deadline = time.monotonic() + 5
    while REGISTRY.get_sample_value("motcua_catalog_procedures_published") != PUBLISHED_IN_SEED:
        assert time.monotonic() < deadline, "the published gauge was not refreshed"
        eventlet.sleep(0.05)

    def searches(found: str) -> float:
        return REGISTRY.get_sample_value("motcua_catalog_searches_total", {"found": found}) or 0

    hits, misses = searches("yes"), searches("no")
    search(catalog, q="khai sinh")
    search(catalog, q="không có thủ tục này")
    assert (searches("yes"), searches("no")) == (hits + 1, misses + 1)
    base = f"http://{config['WEB_SERVER_ADDRESS']}"
    assert f"motcua_catalog_procedures_published {PUBLISHED_IN_SEED}.0" in requests.get(f"{base}/metrics").text
    assert requests.get(f"{base}/readyz").status_code == 200


@pytest.fixture(autouse=True)
def _reset_published_gauge():
    PUBLISHED.set(-1)  # so a test that expects the service to set it cannot pass on an earlier test's value


def test_import_and_search_work_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    upgrade("catalog", url)
    assert import_file(SEED_PATH, url).events == PUBLISHED_IN_SEED
    assert import_file(SEED_PATH, url).versions.unchanged == 41
    engine = make_engine(url)
    with Session(engine) as session:
        rows, total = repository.search(session, domain.today(TEST_NOW), domain.search_tokens("Đăng ký tạm trú"),
                                        COMMUNE, "cu-tru", None, 1, 20)
        assert repository.count_in_force(session, domain.today(TEST_NOW)) == PUBLISHED_IN_SEED
    engine.dispose()
    assert total == 1 and rows[0]["procedure_code"] == "1.004194"
