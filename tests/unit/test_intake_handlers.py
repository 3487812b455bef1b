"""intake's use cases (intake.handlers) on SQLite, with a stand-in catalogue and no broker: a submission is
filed once per key, its receipt opens only with its tracking key, and the settings passed in bound it."""
import pytest

from intake import handlers
from intake.domain.attachments import Limits
from intake.models import metadata
from intake.settings import IntakeSettings
from motcua.errors import Conflict, NotFound, PayloadTooLarge, ServiceUnavailable
from motcua.storage import LocalDiskStore
from tests.service.test_intake_service import AGENCY, BIRTH, RECEIVED_AT, body
from tests.support import LocalDatabase, PinnedClock


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
    return handlers.submit_dossier(db, clock, catalogue, store, settings, submission, key)


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
