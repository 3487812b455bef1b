"""intake as a service on the real RabbitMQ and PostgreSQL, beside a stand-in catalog service."""
import base64
import hashlib
import json
import time
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import eventlet
import pytest
import sqlalchemy as sa
import yaml
from kombu import Connection, Exchange, Queue
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter, replace_dependencies
from prometheus_client import REGISTRY

from motcua.calendar import TIMEZONE
from motcua.dossier_code import parse_dossier_code
from motcua.envelope import make_envelope
from motcua.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from motcua.migrations import upgrade
from motcua.storage import attachment_store
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.envelope import EnvelopeSchema
from motcua_contracts.events import load_event_data
from motcua_contracts.intake import SubmitDossierResultSchema, SupplementResultSchema

from intake.models import metadata
from intake.service import IntakeService
from tests.conftest import truncate_all
from tests.unit.test_intake_samples import tiny_jpeg, tiny_pdf, tiny_png
from tests.support import PinnedClock, take_messages

SEED = Path(__file__).parents[2] / "services" / "catalog" / "catalog" / "seed" / "haiphong.yaml"
RECEIVED_AT = datetime(2026, 11, 27, 16, 30, tzinfo=TIMEZONE)  # a Friday, after the 15:00 cut-off
APPOINTMENT = date(2026, 12, 1)  # 1 working day, counted from Monday 30/11


def seed_definition(code: str) -> dict:
    """The published version of a procedure in the real seed, as catalog's get_procedure returns it."""
    seed = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    procedure = next(p for p in seed["procedures"] if p["code"] == code)
    version = next(v for v in procedure["versions"] if v["status"] == "published")
    agency = next(a for a in seed["agencies"] if a["code"] == version["agency"])
    lists = ("fees", "documents", "form_fields", "legal_basis", "unconfirmed", "workflow")
    return ProcedureVersionSchema().dump(ProcedureVersionSchema().load({
        **{key: version.get(key, []) for key in lists},
        **{key: version[key] for key in ("version", "status", "time_limit", "service_level", "channels",
                                         "return_methods", "sources")},
        "procedure_code": code, "name": procedure["name"],
        "field": next(f for f in seed["fields"] if f["code"] == procedure["field"]),
        "agency": {"code": agency["code"], "name": agency["name"], "level": agency["level"],
                   "parent_code": agency["parent"], "place_name": agency["place"]},
        "valid_from": version["valid_from"].isoformat(),
        "valid_to": version.get("valid_to") and version["valid_to"].isoformat(),
        "cutoff_hour": version.get("cutoff_hour", "15:00"),
    }))


BIRTH = seed_definition("1.001193")  # Thủ tục đăng ký khai sinh, at UBND xã Vĩnh Bảo
AGENCY = BIRTH["agency"]["code"]


class FakeCatalog:
    """The catalog service as intake sees it on the bus: only its RPC contract, in its own container."""

    name = "catalog"
    calls: list[str] = []
    delay = 0.0
    procedures = {"1.001193": BIRTH, "2.000884": seed_definition("2.000884")}  # the second: counter only

    @rpc
    def get_procedure(self, procedure_code):
        FakeCatalog.calls.append(procedure_code)
        eventlet.sleep(self.delay)
        if procedure_code not in self.procedures:
            raise NotFound("No published procedure has this code.")
        return self.procedures[procedure_code]


def body(**changes) -> dict:
    def attached(code: str, filename: str, content: bytes) -> dict:
        return {"document_code": code, "filename": filename, "content_base64": base64.b64encode(content).decode()}
    return dict({
        "procedure_code": "1.001193", "channel": "online", "return_method": "counter",
        "applicant": {"full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": "binh@example.vn"},
        "form": {"applicant_full_name": "Nguyễn Văn Bình", "applicant_citizen_id": "031099001234",
                 "applicant_phone": "0912 345 678", "applicant_address": "Thôn Nam Tiến, xã Vĩnh Bảo, Hải Phòng",
                 "child_full_name": "Nguyễn Minh An", "child_date_of_birth": "2026-11-20", "child_sex": "Nam",
                 "child_place_of_birth": "Bệnh viện Đa khoa Vĩnh Bảo", "child_ethnicity": "Kinh",
                 "child_nationality": "Việt Nam", "relationship_to_child": "Cha"},
        "attachments": [attached("to-khai", "to-khai.pdf", tiny_pdf()),
                        attached("giay-chung-sinh", "giay-chung-sinh.png", tiny_png()),
                        attached("giay-to-tuy-than", "cccd.jpg", tiny_jpeg())],
    }, **changes)


@pytest.fixture(scope="module")
def database(postgres_database):
    return postgres_database("intake")


@pytest.fixture
def config(rabbit_config, web_config, database, tmp_path, monkeypatch):
    truncate_all(database)
    monkeypatch.setenv("INTAKE_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    return dict(rabbit_config, **web_config, DATABASE_URL=database)


def started_intake(container_factory, config):
    """intake with its clock pinned at RECEIVED_AT."""
    container = container_factory(IntakeService, config)
    replace_dependencies(container, clock=PinnedClock(RECEIVED_AT.astimezone(timezone.utc)))
    container.start()
    return container


@pytest.fixture
def intake(container_factory, config):
    return started_intake(container_factory, config)


@pytest.fixture
def catalog(container_factory, rabbit_config):
    FakeCatalog.calls.clear()
    FakeCatalog.delay = 0.0
    container = container_factory(FakeCatalog, rabbit_config)
    container.start()
    return container


def bound_queue(config: dict, event_type: str):
    """Takes `event_type` messages from a queue bound to intake.events like a department system's."""
    exchange = Exchange("intake.events", type="topic", durable=True)
    queue = Queue(f"test-{event_type}", exchange=exchange, routing_key=event_type)
    with Connection(config["AMQP_URI"]) as connection:
        queue(connection.default_channel).declare()

    def take(timeout: float = 10) -> dict:
        taken = take_messages(config["AMQP_URI"], queue.name, 1, timeout)
        assert taken, f"no {event_type} event arrived"
        return taken[0]

    yield take


@pytest.fixture
def submitted_events(config):
    yield from bound_queue(config, "dossier_submitted")


@pytest.fixture
def supplement_events(config):
    yield from bound_queue(config, "supplement_submitted")


def submit(container, submission: dict, idempotency_key: str | None = None) -> dict:
    with entrypoint_hook(container, "submit_dossier") as hook:
        return hook(submission, idempotency_key)


def receipt_of(container, code: str, key: str) -> dict:
    with entrypoint_hook(container, "get_receipt") as hook:
        return hook(code, key)


def rows(url: str, table: str) -> list[dict]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(sa.select(metadata.tables[table])).mappings()]
    engine.dispose()
    return found


def metric(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_dossier_gets_its_code_appointment_receipt_and_event(intake, catalog, config, submitted_events):
    labels = {"procedure": "1.001193", "agency": AGENCY, "channel": "online"}
    before = metric("motcua_dossiers_submitted_total", **labels)

    result = submit(intake, body())

    assert SubmitDossierResultSchema().load(result)
    code = result["dossier_code"]
    assert parse_dossier_code(code) == (AGENCY, date(2026, 11, 27), 1)
    assert code == f"{AGENCY}-261127-0001"
    assert (result["state"], result["appointment_date"]) == ("submitted", APPOINTMENT.isoformat())
    receipt = result["receipt"]
    assert (receipt["dossier_code"], receipt["procedure_version"], receipt["received_at"]) == (
        code, 1, "2026-11-27T16:30:00+07:00")
    assert receipt["place_name"] == "Vĩnh Bảo"  # the seeded commune's, from the version it is pinned to
    assert [d["name"] for d in receipt["documents"]] == [d["name"] for d in BIRTH["documents"] if d["mandatory"]]
    assert receipt_of(intake, code, result["tracking_key"]) == receipt

    envelope = EnvelopeSchema().load(submitted_events())
    data = load_event_data("intake", "dossier_submitted", envelope["data"])
    assert (envelope["event_type"], envelope["producer"], envelope["dossier_code"]) == (
        "dossier_submitted", "intake", code)
    assert data["tracking_key_hash"] == hashlib.sha256(result["tracking_key"].encode()).hexdigest()
    assert (data["appointment_date"], data["procedure_version"], data["fees_vnd"]) == (APPOINTMENT, 1, 0)
    assert [a["sha256"] for a in data["attachments"]] == [
        hashlib.sha256(f()).hexdigest() for f in (tiny_pdf, tiny_png, tiny_jpeg)]
    assert data["form"]["applicant_phone"] == "0912345678"
    assert data["workflow"] == ProcedureVersionSchema().load(BIRTH)["workflow"] != []  # the seed's route
    assert data["notification_preferences"] is None  # none chosen: notify's defaults

    [stored] = rows(config["DATABASE_URL"], "dossier")
    assert (stored["procedure_version"], stored["tracking_key_hash"]) == (1, data["tracking_key_hash"])
    assert result["tracking_key"] not in json.dumps(stored, default=str)
    for row in rows(config["DATABASE_URL"], "attachment"):
        with attachment_store("intake").open(row["storage_key"]) as blob:
            assert hashlib.sha256(blob.read()).hexdigest() == row["sha256"]
    assert metric("motcua_dossiers_submitted_total", **labels) == before + 1

    # The definition is kept, route included: the next dossier needs no call to catalog.
    chosen = {"channels": ["email"], "language": "en"}
    assert submit(intake, body(notification_preferences=chosen))["dossier_code"] == f"{AGENCY}-261127-0002"
    assert FakeCatalog.calls == ["1.001193"]
    second = EnvelopeSchema().load(submitted_events())["data"]
    assert second["workflow"] == envelope["data"]["workflow"]
    assert second["notification_preferences"] == {**chosen, "opted_out": False}  # travels to notify


def test_a_retry_with_the_same_key_returns_the_first_result_and_files_nothing_new(intake, catalog, config):
    first = submit(intake, body(), "7b6c1f8e-retry-1")
    assert submit(intake, body(), "7b6c1f8e-retry-1") == first  # tracking key included
    assert len(rows(config["DATABASE_URL"], "dossier")) == 1
    assert len(rows(config["DATABASE_URL"], "outbox_message")) == 1
    [record] = rows(config["DATABASE_URL"], "idempotency_record")
    assert first["tracking_key"] not in json.dumps(record, default=str)

    with pytest.raises(Conflict) as caught:
        submit(intake, body(form=dict(body()["form"], child_sex="Nữ")), "7b6c1f8e-retry-1")
    assert list(caught.value.fields) == ["idempotency_key"]
    with pytest.raises(ValidationFailed) as caught:
        submit(intake, body(), "short")
    assert list(caught.value.fields) == ["idempotency_key"]
    assert len(rows(config["DATABASE_URL"], "dossier")) == 1


def test_identical_submissions_in_flight_together_file_one_dossier(intake, catalog, config):
    with ClusterRpcProxy(config, timeout=30) as cluster:
        calls = [cluster.intake.submit_dossier.call_async(body(), "5d1e-same-key-at-once") for _ in range(5)]
        results = [call.result() for call in calls]
    assert all(result == results[0] for result in results)
    assert [r["code"] for r in rows(config["DATABASE_URL"], "dossier")] == [results[0]["dossier_code"]]
    assert len(rows(config["DATABASE_URL"], "outbox_message")) == 1


def test_a_missing_mandatory_document_is_refused_by_name_and_nothing_is_stored(intake, catalog, config):
    before = metric("motcua_intake_refusals_total", reason="validation_failed")
    without_birth_certificate = [a for a in body()["attachments"] if a["document_code"] != "giay-chung-sinh"]
    with ClusterRpcProxy(config, timeout=10) as cluster:  # the error crosses RPC as itself, fields and all
        with pytest.raises(ValidationFailed) as caught:
            cluster.intake.submit_dossier(body(attachments=without_birth_certificate))
    name = next(d["name"] for d in BIRTH["documents"] if d["code"] == "giay-chung-sinh")
    assert caught.value.fields == {"attachments.giay-chung-sinh": [f'The required document "{name}" is missing.']}
    for table in ("dossier", "attachment", "outbox_message", "code_sequence", "idempotency_record"):
        assert rows(config["DATABASE_URL"], table) == [], table
    assert metric("motcua_intake_refusals_total", reason="validation_failed") == before + 1


def test_unknown_procedure_and_disallowed_channel_are_refused(intake, catalog):
    with pytest.raises(NotFound) as caught:
        submit(intake, body(procedure_code="9.999999"))
    assert list(caught.value.fields) == ["procedure_code"]
    with pytest.raises(ValidationFailed) as caught:
        submit(intake, body(procedure_code="2.000884", channel="online"))
    assert caught.value.fields["channel"] == ["This procedure cannot be filed by online; allowed: counter."]
    assert FakeCatalog.calls == ["9.999999", "2.000884"]


def test_a_wrong_tracking_key_and_an_unknown_code_look_the_same(intake, catalog):
    result = submit(intake, body())
    with ClusterRpcProxy(intake.config, timeout=10) as cluster:
        with pytest.raises(NotFound) as wrong_key:
            cluster.intake.get_receipt(result["dossier_code"], "not-the-key")
        with pytest.raises(NotFound) as unknown_code:
            cluster.intake.get_receipt(f"{AGENCY}-261127-0099", result["tracking_key"])
    assert (wrong_key.value.message, wrong_key.value.fields) == (unknown_code.value.message, unknown_code.value.fields)


def test_published_definitions_arrive_by_event_and_a_miss_without_catalog_is_unavailable(intake, config):
    envelope = make_envelope("procedure_published", "catalog", {"procedure": ProcedureVersionSchema().load(BIRTH)})
    exchange = Exchange("catalog.events", type="topic", durable=True)
    with entrypoint_waiter(intake, "on_procedure_published", timeout=10):
        with Connection(config["AMQP_URI"]) as connection:
            connection.Producer().publish(envelope, exchange=exchange, routing_key="procedure_published",
                                          serializer="json", declare=[exchange])
    assert submit(intake, body())["dossier_code"] == f"{AGENCY}-261127-0001"  # no catalog container runs
    with pytest.raises(ServiceUnavailable) as caught:
        submit(intake, body(procedure_code="1.000894"))
    assert caught.value.message == "The catalogue is not running; try again shortly."


def test_a_catalogue_slower_than_the_rpc_timeout_is_unavailable_not_a_hang(container_factory, config, catalog):
    intake = started_intake(container_factory, {**config, "RPC_TIMEOUT_SECONDS": "0.5"})  # read at start-up
    FakeCatalog.delay = 3.0
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as caught:
        submit(intake, body())
    assert time.monotonic() - started < 2.5
    assert caught.value.message == "The catalogue did not answer in time; try again shortly."


def test_forty_submissions_at_once_get_forty_consecutive_codes(intake, catalog, config):
    with ClusterRpcProxy(config, timeout=60) as cluster:
        calls = [cluster.intake.submit_dossier.call_async(body()) for _ in range(40)]
        codes = [call.result()["dossier_code"] for call in calls]
    parsed = [parse_dossier_code(code) for code in codes]
    assert len(set(codes)) == 40
    assert {(p.agency_code, p.date) for p in parsed} == {(AGENCY, date(2026, 11, 27))}
    assert sorted(p.sequence for p in parsed) == list(range(1, 41))
    assert len(rows(config["DATABASE_URL"], "dossier")) == 40


def test_the_single_machine_run_on_sqlite_files_dossiers_too(container_factory, catalog, config, tmp_path):
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    container = started_intake(container_factory, dict(config, DATABASE_URL=url))
    first = submit(container, body(), "sqlite-retry-1")
    assert submit(container, body(), "sqlite-retry-1") == first
    assert [first["dossier_code"], submit(container, body())["dossier_code"]] == [
        f"{AGENCY}-261127-0001", f"{AGENCY}-261127-0002"]
    assert len(rows(url, "dossier")) == 2


def supplement_body(*files: tuple[str, str, bytes], note: str | None = "Bản chụp rõ hơn theo yêu cầu") -> dict:
    return {"note": note, "attachments": [
        {"document_code": code, "filename": filename, "content_base64": base64.b64encode(content).decode()}
        for code, filename, content in files]}


SUPPLEMENT = supplement_body(("giay-chung-sinh", "giay-chung-sinh-ro.png", tiny_png()),
                             ("bo-sung", "xac-nhan-noi-sinh.pdf", tiny_pdf()))


def supplement(container, code: str, key: str, body: dict, idempotency_key: str | None = None) -> dict:
    with entrypoint_hook(container, "submit_supplement") as hook:
        return hook(code, key, body, idempotency_key)


def test_a_supplement_with_the_right_key_is_stored_and_announced_to_the_receiving_agency(
        intake, catalog, config, supplement_events):
    dossier = submit(intake, body())
    code = dossier["dossier_code"]
    before = metric("motcua_supplements_submitted_total", procedure="1.001193", agency=AGENCY)

    result = supplement(intake, code, dossier["tracking_key"], SUPPLEMENT, "sup-7f3a-0001")

    assert SupplementResultSchema().load(result)
    birth_certificate = next(d["name"] for d in BIRTH["documents"] if d["code"] == "giay-chung-sinh")
    assert (result["dossier_code"], result["received_at"]) == (code, "2026-11-27T16:30:00+07:00")
    assert [(d["document_code"], d["name"], d["filename"]) for d in result["documents"]] == [
        ("giay-chung-sinh", birth_certificate, "giay-chung-sinh-ro.png"),
        ("bo-sung", "Tài liệu bổ sung", "xac-nhan-noi-sinh.pdf")]

    envelope = EnvelopeSchema().load(supplement_events())
    data = load_event_data("intake", "supplement_submitted", envelope["data"])
    assert (envelope["event_type"], envelope["producer"], envelope["dossier_code"]) == (
        "supplement_submitted", "intake", code)
    assert (data["supplement_id"], data["agency_code"], data["note"]) == (
        result["supplement_id"], AGENCY, "Bản chụp rõ hơn theo yêu cầu")

    [stored] = rows(config["DATABASE_URL"], "supplement")
    assert (stored["id"], stored["dossier_code"], stored["idempotency_key"]) == (
        result["supplement_id"], code, "sup-7f3a-0001")
    files = [row for row in rows(config["DATABASE_URL"], "attachment") if row["supplement_id"] == stored["id"]]
    assert sorted(row["id"] for row in files) == sorted(a["attachment_id"] for a in data["attachments"])
    for row in files:
        assert row["dossier_code"] == code
        with attachment_store("intake").open(row["storage_key"]) as blob:
            assert hashlib.sha256(blob.read()).hexdigest() == row["sha256"]
    assert metric("motcua_supplements_submitted_total", procedure="1.001193", agency=AGENCY) == before + 1


def test_a_wrong_tracking_key_is_the_same_not_found_as_an_unknown_code_and_stores_nothing(intake, catalog, config):
    dossier = submit(intake, body())
    with ClusterRpcProxy(config, timeout=10) as cluster:  # the error crosses RPC as itself
        with pytest.raises(NotFound) as wrong_key:
            cluster.intake.submit_supplement(dossier["dossier_code"], "not-the-key", SUPPLEMENT)
        with pytest.raises(NotFound) as unknown_code:
            cluster.intake.submit_supplement(f"{AGENCY}-261127-0099", dossier["tracking_key"], SUPPLEMENT)
    assert (wrong_key.value.message, wrong_key.value.fields) == (unknown_code.value.message, unknown_code.value.fields)
    assert rows(config["DATABASE_URL"], "supplement") == []
    assert len(rows(config["DATABASE_URL"], "attachment")) == 3  # the dossier's own
    assert len(rows(config["DATABASE_URL"], "outbox_message")) == 1  # its dossier_submitted only


def test_a_retried_supplement_returns_the_first_result_and_another_body_conflicts(intake, catalog, config):
    dossier = submit(intake, body())
    code, key = dossier["dossier_code"], dossier["tracking_key"]
    with ClusterRpcProxy(config, timeout=30) as cluster:  # in flight together: one wins, the others replay it
        calls = [cluster.intake.submit_supplement.call_async(code, key, SUPPLEMENT, "sup-retry-0001")
                 for _ in range(5)]
        results = [call.result() for call in calls]
    assert all(result == results[0] for result in results)
    assert supplement(intake, code, key, SUPPLEMENT, "sup-retry-0001") == results[0]
    assert [row["id"] for row in rows(config["DATABASE_URL"], "supplement")] == [results[0]["supplement_id"]]
    assert len(rows(config["DATABASE_URL"], "attachment")) == 3 + 2
    assert len(rows(config["DATABASE_URL"], "outbox_message")) == 2

    with pytest.raises(Conflict) as caught:
        supplement(intake, code, key, dict(SUPPLEMENT, note="Khác"), "sup-retry-0001")
    assert list(caught.value.fields) == ["idempotency_key"]
    # Without a key, the same body is a new supplement.
    assert supplement(intake, code, key, SUPPLEMENT)["supplement_id"] != results[0]["supplement_id"]
    assert len(rows(config["DATABASE_URL"], "supplement")) == 2


def test_a_document_the_procedure_does_not_list_is_refused_by_name_and_nothing_is_stored(intake, catalog, config):
    dossier = submit(intake, body())
    bad = supplement_body(("to-khai", "to-khai.pdf", tiny_pdf()), ("ho-chieu", "ho-chieu.jpg", tiny_jpeg()))
    with pytest.raises(ValidationFailed) as caught:
        supplement(intake, dossier["dossier_code"], dossier["tracking_key"], bad, "sup-bad-0001")
    assert caught.value.fields == {"attachments.1.document_code": [
        "This procedure asks for no document 'ho-chieu'; send a document it does not list as 'bo-sung'."]}
    assert rows(config["DATABASE_URL"], "supplement") == []
    assert len(rows(config["DATABASE_URL"], "attachment")) == 3
    assert len(rows(config["DATABASE_URL"], "outbox_message")) == 1


def test_the_desk_reads_the_files_filed_with_the_dossier_and_its_supplement(intake, catalog, config):
    dossier = submit(intake, body())
    code = dossier["dossier_code"]
    result = supplement(intake, code, dossier["tracking_key"], SUPPLEMENT)
    other = submit(intake, body())["dossier_code"]
    sent = {a["filename"]: base64.b64decode(a["content_base64"])
            for a in body()["attachments"] + SUPPLEMENT["attachments"]}
    with ClusterRpcProxy(config, timeout=10) as cluster:
        listed = cluster.intake.get_filed_dossier(code)["attachments"]
        assert [(a["filename"], a["supplement_id"]) for a in listed] == [
            ("to-khai.pdf", None), ("giay-chung-sinh.png", None), ("cccd.jpg", None),
            ("giay-chung-sinh-ro.png", result["supplement_id"]), ("xac-nhan-noi-sinh.pdf", result["supplement_id"])]
        assert {a["submitted_at"] for a in listed} == {"2026-11-27T16:30:00+07:00"}
        for attachment in listed:
            read = cluster.intake.read_attachment(code, attachment["id"])
            assert base64.b64decode(read.pop("content_base64")) == sent[attachment["filename"]] and read == attachment
        others_file = cluster.intake.get_filed_dossier(other)["attachments"][0]["id"]
        for dossier_code, attachment_id in ((code, others_file), (code, str(uuid.uuid4())),
                                            (f"{AGENCY}-261127-0099", others_file)):
            with pytest.raises(NotFound):  # across RPC as itself
                cluster.intake.read_attachment(dossier_code, attachment_id)
        with pytest.raises(NotFound):
            cluster.intake.get_filed_dossier(f"{AGENCY}-261127-0099")["attachments"]


# --- the postal channel (Decision 45/2016/QD-TTg) ----------------------------------------------

ADDRESS = {"province": "Thành phố Hải Phòng", "commune": "Xã Vĩnh Bảo", "street": "Thôn Nam Tiến, số 4"}


def test_a_result_by_post_needs_the_delivery_address_which_is_kept_and_announced(
        intake, catalog, config, submitted_events):
    with pytest.raises(ValidationFailed) as caught:
        submit(intake, body(return_method="postal"))
    assert list(caught.value.fields) == ["delivery_address"]
    with pytest.raises(ValidationFailed) as caught:
        submit(intake, body(delivery_address=ADDRESS))  # returned at the counter: no address is kept
    assert list(caught.value.fields) == ["delivery_address"]
    assert rows(config["DATABASE_URL"], "dossier") == []

    result = submit(intake, body(return_method="postal", delivery_address=ADDRESS))
    assert result["receipt"]["return_method"] == "postal"
    data = EnvelopeSchema().load(submitted_events())["data"]
    assert (data["dossier_code"], data["return_method"], data["delivery_address"], data["pickup_id"]) == (
        result["dossier_code"], "postal", ADDRESS, None)
    [stored] = rows(config["DATABASE_URL"], "dossier")
    assert (stored["delivery_address"], stored["pickup_id"]) == (ADDRESS, None)


PICKUP_KEY = "pickup-key-9c41b7e2a5d8"  # the tracking key postal showed the citizen at booking
HANDED_OVER_AT = datetime(2026, 11, 26, 10, 15, tzinfo=TIMEZONE)  # Thursday, before the cut-off


def handover_envelope(pickup_id: uuid.UUID, **changes) -> dict:
    data = {
        "pickup_id": pickup_id, "waybill": "PK000123VN", "procedure_code": "1.001193", "agency_code": AGENCY,
        "applicant": {"full_name": "Nguyễn Văn Bình", "phone": "0912345678", "email": None},
        "address": ADDRESS, "return_method": "postal", "delivery_address": None,
        "tracking_key_hash": hashlib.sha256(PICKUP_KEY.encode()).hexdigest(),
        "checklist": [{"document_code": d["code"], "name": d["name"], "required": d["mandatory"],
                       "present": d["mandatory"]} for d in BIRTH["documents"]],
        "fees_collected_vnd": 8000,
        "handover": {"received_by": "Trần Thị Lan", "carrier_staff": "Lê Văn Tâm", "seal_number": "S-99812",
                     "handed_over_at": HANDED_OVER_AT},
        "booked_at": datetime(2026, 11, 25, 9, 0, tzinfo=TIMEZONE), **changes}
    return make_envelope("pickup_handed_over", "postal", data)


def publish_handover(container, envelope: dict) -> None:
    exchange = Exchange("postal.events", type="topic", durable=True)
    with entrypoint_waiter(container, "on_pickup_handed_over", timeout=10):
        with Connection(container.config["AMQP_URI"]) as connection:
            connection.Producer().publish(envelope, exchange=exchange, routing_key="pickup_handed_over",
                                          serializer="json", delivery_mode=2, declare=[exchange])


def test_a_handed_over_pickup_registers_one_postal_dossier_the_pickup_key_opens(
        intake, catalog, config, submitted_events):
    labels = {"procedure": "1.001193", "agency": AGENCY, "channel": "postal"}
    before = metric("motcua_dossiers_submitted_total", **labels)
    pickup_id = uuid.uuid4()
    envelope = handover_envelope(pickup_id)

    publish_handover(intake, envelope)

    [stored] = rows(config["DATABASE_URL"], "dossier")
    code = stored["code"]
    assert code == f"{AGENCY}-261126-0001"  # the handover's day, not the day intake read the event
    assert (stored["channel"], stored["return_method"], stored["pickup_id"]) == ("postal", "postal", str(pickup_id))
    assert stored["submitted_at"] == HANDED_OVER_AT
    # One working day counted from the handover (Thursday, before 15:00): Friday 27/11.
    assert stored["appointment_date"] == date(2026, 11, 27)
    assert (stored["form"], stored["delivery_address"]) == ({}, ADDRESS)  # none given: the pickup address
    assert rows(config["DATABASE_URL"], "attachment") == []

    issued = receipt_of(intake, code, PICKUP_KEY)  # the citizen's one key opens the dossier too
    assert (issued["channel"], issued["received_at"], issued["appointment_date"]) == (
        "postal", "2026-11-26T10:15:00+07:00", "2026-11-27")
    assert [d["document_code"] for d in issued["documents"]] == [
        d["code"] for d in BIRTH["documents"] if d["mandatory"]]

    announced = EnvelopeSchema().load(submitted_events())
    data = load_event_data("intake", "dossier_submitted", announced["data"])
    assert (announced["dossier_code"], data["channel"], data["pickup_id"]) == (code, "postal", pickup_id)
    assert (data["tracking_key_hash"], data["applicant"]["full_name"]) == (
        hashlib.sha256(PICKUP_KEY.encode()).hexdigest(), "Nguyễn Văn Bình")
    assert (data["submitted_at"], data["appointment_date"], data["attachments"]) == (
        HANDED_OVER_AT, date(2026, 11, 27), [])
    assert metric("motcua_dossiers_submitted_total", **labels) == before + 1

    publish_handover(intake, envelope)  # the broker delivers it again
    publish_handover(intake, handover_envelope(pickup_id))  # postal announces the same handover again
    assert [row["code"] for row in rows(config["DATABASE_URL"], "dossier")] == [code]
    assert len(rows(config["DATABASE_URL"], "outbox_message")) == 1
    assert metric("motcua_dossiers_submitted_total", **labels) == before + 1


def test_a_handover_for_a_procedure_not_published_that_day_goes_to_the_dead_letters(intake, catalog, config):
    envelope = handover_envelope(uuid.uuid4(), procedure_code="9.999999")
    publish_handover(intake, envelope)
    [parked] = take_messages(config["AMQP_URI"], "intake.dead-letters", 1)
    assert parked["event_id"] == envelope["event_id"]
    assert rows(config["DATABASE_URL"], "dossier") == []
