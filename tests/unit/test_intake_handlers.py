"""intake's use cases (intake.handlers) on SQLite, with a stand-in catalogue and no broker: a submission is
filed once per key, its receipt opens only with its tracking key, the settings passed in bound it, and the
desk reads the files filed, the dossier's and its supplements'."""
import base64
import hashlib
import uuid
from datetime import timezone

import pytest

from intake import handlers
from intake.domain.attachments import Limits
from intake.models import metadata
from intake.settings import IntakeSettings
from intake.versions import VersionCache
from motcua.errors import Conflict, NotFound, PayloadTooLarge, ServiceUnavailable
from motcua.storage import LocalDiskStore
from intake.domain.form_schema import load_form
from motcua_contracts.catalog import ProcedureVersionSchema
from motcua_contracts.intake import AttachmentContentSchema, DossierAttachmentSchema, FiledDossierSchema
from tests.service.test_intake_service import AGENCY, BIRTH, RECEIVED_AT, SUPPLEMENT, body
from tests.support import LocalDatabase, PinnedClock, as_received


class Catalogue:
    """catalog's RPC as intake calls it: the published birth registration, counting the calls."""

    def __init__(self, answer=BIRTH):
        self.answer, self.calls = answer, 0

    def get_procedure(self, procedure_code: str) -> dict:
        self.calls += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        if procedure_code != self.answer["procedure_code"]:
            raise NotFound(f"No procedure {procedure_code}.")
        return self.answer


@pytest.fixture
def ports(tmp_path):
    db = LocalDatabase(f"sqlite:///{tmp_path}/intake.db", metadata, "intake", create=True)
    return db, PinnedClock(RECEIVED_AT), LocalDiskStore(tmp_path / "attachments")


def submit(ports, catalogue, submission, key=None, settings=IntakeSettings()):
    db, clock, store = ports
    return handlers.submit_dossier(db, clock, catalogue, VersionCache(), store, settings, submission, key)


def test_a_key_files_one_dossier_gives_back_its_tracking_key_and_asks_the_catalogue_once(ports):
    catalogue = Catalogue()
    first = submit(ports, catalogue, body(), "key-00000001")
    again = submit(ports, catalogue, body(), "key-00000001")
    assert first == again and first["dossier_code"] == f"{AGENCY}-261127-0001"
    assert [key for key, _ in ports[0].published()] == ["dossier_submitted"]
    assert catalogue.calls == 1  # the version is kept for the next dossier
    assert submit(ports, catalogue, body())["dossier_code"] == f"{AGENCY}-261127-0002"
    with pytest.raises(Conflict):
        submit(ports, catalogue, body(return_method="counter", channel="counter"), "key-00000001")


def test_a_version_is_read_once_in_a_while_and_one_published_here_applies_to_the_next_dossier(ports):
    db, clock, store = ports
    seconds = [1000.0]
    versions = VersionCache(30, monotonic=lambda: seconds[0])
    other_replica = VersionCache(30, monotonic=lambda: seconds[0])

    def pinned_version() -> int:
        handlers.submit_dossier(db, clock, Catalogue(), versions, store, IntakeSettings(), body())
        return db.published()[-1][1]["data"]["procedure_version"]

    def publish(version: int, cache: VersionCache) -> None:
        handlers.keep_published_version(db, cache, as_received("catalog", "procedure_published",
                                                               {"procedure": ProcedureVersionSchema().load({**BIRTH, "version": version})}))

    first = pinned_version()
    publish(first + 1, other_replica)  # its event went to the other replica
    assert pinned_version() == first
    seconds[0] += 31
    assert pinned_version() == first + 1
    publish(first + 2, versions)
    assert pinned_version() == first + 2


def test_the_receipt_opens_with_the_tracking_key_only(ports):
    result = submit(ports, Catalogue(), body())
    db = ports[0]
    assert handlers.get_receipt(db, result["dossier_code"], result["tracking_key"]) == result["receipt"]
    with pytest.raises(NotFound):
        handlers.get_receipt(db, result["dossier_code"], "not-the-key")


def test_the_size_limits_are_the_settings_passed_in(ports):
    tiny = IntakeSettings(limits=Limits(file_mb=0.00001, dossier_mb=0.00002))
    with pytest.raises(PayloadTooLarge) as refused:
        submit(ports, Catalogue(), body(), settings=tiny)
    assert "attachments" in refused.value.fields
    assert ports[0].published() == []


def test_a_catalogue_that_is_away_files_nothing(ports):
    with pytest.raises(ServiceUnavailable):
        submit(ports, Catalogue(ServiceUnavailable("The catalogue is not running; try again shortly.")), body())
    assert ports[0].published() == []


# --- the desk reads the files filed: no tracking key, the gateway asks once status has let the official in ----------

@pytest.fixture
def filed(tmp_path):
    """A dossier of three files and a supplement of two filed five days later, on a UTC clock as the service's."""
    db = LocalDatabase(f"sqlite:///{tmp_path}/intake.db", metadata, "intake", create=True)
    clock, store = PinnedClock(RECEIVED_AT.astimezone(timezone.utc)), LocalDiskStore(tmp_path / "attachments")
    dossier = handlers.submit_dossier(db, clock, Catalogue(), VersionCache(), store, IntakeSettings(), body())
    clock.advance(5 * 24 * 3600)
    supplemented = handlers.submit_supplement(db, clock, store, IntakeSettings(), dossier["dossier_code"],
                                              dossier["tracking_key"], SUPPLEMENT)
    return db, store, dossier["dossier_code"], supplemented["supplement_id"]


def test_the_files_are_listed_the_dossiers_first_then_the_supplements_under_their_documents_names(filed):
    db, _, code, supplement_id = filed
    listed = handlers.get_filed_dossier(db, code)["attachments"]
    assert DossierAttachmentSchema(many=True).load(listed)
    names = {doc["code"]: doc["name"] for doc in BIRTH["documents"]}
    assert [(a["document_code"], a["document_name"], a["filename"], a["supplement_id"], a["submitted_at"])
            for a in listed] == [
        ("to-khai", names["to-khai"], "to-khai.pdf", None, "2026-11-27T16:30:00+07:00"),
        ("giay-chung-sinh", names["giay-chung-sinh"], "giay-chung-sinh.png", None, "2026-11-27T16:30:00+07:00"),
        ("giay-to-tuy-than", names["giay-to-tuy-than"], "cccd.jpg", None, "2026-11-27T16:30:00+07:00"),
        ("giay-chung-sinh", names["giay-chung-sinh"], "giay-chung-sinh-ro.png", supplement_id,
         "2026-12-02T16:30:00+07:00"),
        ("bo-sung", "Tài liệu bổ sung", "xac-nhan-noi-sinh.pdf", supplement_id, "2026-12-02T16:30:00+07:00")]
    sent = {a["filename"]: base64.b64decode(a["content_base64"])
            for a in body()["attachments"] + SUPPLEMENT["attachments"]}
    assert [(a["content_type"], a["size_bytes"], a["sha256"]) for a in listed] == [
        (content_type, len(sent[a["filename"]]), hashlib.sha256(sent[a["filename"]]).hexdigest())
        for a, content_type in zip(listed, ("application/pdf", "image/png", "image/jpeg", "image/png",
                                            "application/pdf"))]


def test_the_desk_reads_the_applicant_the_form_under_the_procedures_labels_and_where_the_result_goes(filed):
    db, _, code, _ = filed
    filed_dossier = FiledDossierSchema().load(handlers.get_filed_dossier(db, code))
    sent = body()
    assert filed_dossier["applicant"] == sent["applicant"] and filed_dossier["return_method"] == sent["return_method"]
    labels = {field["name"]: field["label"] for field in BIRTH["form_fields"]}
    assert [answer["name"] for answer in filed_dossier["form"]] == [
        field["name"] for field in BIRTH["form_fields"] if field["name"] in sent["form"]]  # the form's order
    stored, _ = load_form(BIRTH["form_fields"], sent["form"])  # as filed: a phone without its spaces
    assert {answer["name"]: (answer["label"], answer["value"]) for answer in filed_dossier["form"]} == {
        name: (labels[name], value) for name, value in stored.items()}


def test_a_file_is_read_with_its_exact_bytes_and_the_listings_metadata(filed):
    db, store, code, _ = filed
    for listed in handlers.get_filed_dossier(db, code)["attachments"]:
        read = handlers.read_attachment(db, store, code, listed["id"])
        assert AttachmentContentSchema().load(read)
        content = base64.b64decode(read.pop("content_base64"), validate=True)
        assert read == listed
        assert hashlib.sha256(content).hexdigest() == listed["sha256"]


def test_an_unknown_dossier_an_unknown_file_and_another_dossiers_file_are_not_found(filed):
    db, store, code, _ = filed
    other = handlers.submit_dossier(db, PinnedClock(RECEIVED_AT.astimezone(timezone.utc)), Catalogue(),
                                    VersionCache(), store, IntakeSettings(), body())["dossier_code"]
    others_file = handlers.get_filed_dossier(db, other)["attachments"][0]["id"]
    with pytest.raises(NotFound) as unknown:
        handlers.get_filed_dossier(db, f"{AGENCY}-261127-0099")
    assert list(unknown.value.fields) == ["dossier_code"]
    for dossier_code, attachment_id in ((code, others_file), (code, str(uuid.uuid4())), (f"{AGENCY}-261127-0099",
                                        others_file), (code, None), (None, others_file)):
        with pytest.raises(NotFound) as refused:
            handlers.read_attachment(db, store, dossier_code, attachment_id)
        assert list(refused.value.fields) == ["attachment_id"]
    assert handlers.read_attachment(db, store, other, others_file)["id"] == others_file


def test_a_dossier_without_files_lists_none(tmp_path):
    db = LocalDatabase(f"sqlite:///{tmp_path}/intake.db", metadata, "intake", create=True)
    store = LocalDiskStore(tmp_path / "attachments")
    catalogue = Catalogue({**BIRTH, "documents": [dict(doc, mandatory=False) for doc in BIRTH["documents"]]})
    dossier = handlers.submit_dossier(db, PinnedClock(RECEIVED_AT.astimezone(timezone.utc)), catalogue,
                                      VersionCache(), store,
                                      IntakeSettings(), body(attachments=[]))
    assert handlers.get_filed_dossier(db, dossier["dossier_code"])["attachments"] == []
