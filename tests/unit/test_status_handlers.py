"""status's use cases (status.handlers) on SQLite, without a broker or nameko: what each does to the
dossier, what it leaves in the outbox, and what it answers a repeat with. The service tests keep the wiring."""
import base64
from datetime import datetime, timedelta, timezone

import pytest

from motcua.errors import Conflict, NotFound, PayloadTooLarge
from motcua.storage import LocalDiskStore
from motcua_contracts.departments import DepartmentCommandSchema
from status import handlers
from status.models import metadata
from status.settings import StatusSettings
from tests.support import LocalDatabase, PinnedClock
from tests.unit.test_status_lifecycle import HOLDER, OTHER, submitted_data

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)
CODE = "000.00.00.H49-261125-0007"


@pytest.fixture
def db(tmp_path):
    return LocalDatabase(f"sqlite:///{tmp_path}/status.db", metadata, "status", create=True)


@pytest.fixture
def clock():
    return PinnedClock(NOW)


def submitted(db, event_id="event-1"):
    handlers.register_dossier(db, {"event_id": event_id, "data": submitted_data("online")})


def official(agency=HOLDER, *roles):
    return {"subject": "can-bo-1", "agency_code": agency, "roles": list(roles or ("receptionist",)),
            "token_id": "token-1", "expires_at": NOW + timedelta(hours=1)}


def test_registering_twice_under_one_event_id_registers_once_and_puts_one_work_item(db):
    submitted(db)
    submitted(db)
    assert [key for key, _ in db.published()] == ["dossier_registered", f"{HOLDER}.dossier_registered"]


def test_a_desk_action_is_done_once_per_key_and_a_key_reused_for_another_action_is_a_conflict(db, clock, tmp_path):
    submitted(db)
    store, settings = LocalDiskStore(tmp_path / "results"), StatusSettings()
    first = handlers.desk_action(db, clock, settings, store, official(), CODE, {"action": "accept"}, "accept-0001")
    again = handlers.desk_action(db, clock, settings, store, official(), CODE, {"action": "accept"}, "accept-0001")
    assert first == again and (first["state"], first["version"]) == ("received", 2)
    assert [key for key, _ in db.published()].count("dossier_received") == 1
    with pytest.raises(Conflict):
        handlers.desk_action(db, clock, settings, store, official(), CODE,
                             {"action": "stop", "reason": "Người nộp đề nghị"}, "accept-0001")


def test_the_result_limit_comes_from_the_settings_passed_in(db, clock, tmp_path):
    document = {"filename": "qd.pdf", "content_base64": base64.b64encode(b"%PDF-1.7 " + b"x" * 100).decode()}
    with pytest.raises(PayloadTooLarge):
        handlers.desk_action(db, clock, StatusSettings(result_max_bytes=50), LocalDiskStore(tmp_path / "r"),
                             official(HOLDER, "approver"), CODE, {"action": "complete", "result_document": document},
                             "complete-0001")


def test_a_department_command_is_answered_once_and_another_agency_may_not_act(db, clock):
    submitted(db)
    command = {"command_id": "cmd-00000001", "agency_code": HOLDER, "dossier_code": CODE, "action": "accept"}
    for _ in range(2):  # redelivered: answered again, done once
        handlers.handle_department_command(db, clock, {"data": DepartmentCommandSchema().load(command)},
                                           f"{HOLDER}.accept", None)
    outcomes = [body["data"] for key, body in db.published() if key == f"{HOLDER}.command_outcome"]
    assert [o["outcome"] for o in outcomes] == ["accepted", "accepted"]
    assert [key for key, _ in db.published()].count("dossier_received") == 1

    other = {**command, "command_id": "cmd-00000002", "agency_code": OTHER, "action": "stop", "reason": "x"}
    handlers.handle_department_command(db, clock, {"data": DepartmentCommandSchema().load(other)},
                                       f"{OTHER}.stop", None)
    [refused] = [body["data"] for key, body in db.published() if key == f"{OTHER}.command_outcome"]
    assert refused["outcome"] == "rejected" and refused["error"]["code"] == "not_found"


def test_to_an_official_of_an_agency_that_never_held_it_the_dossier_does_not_exist(db, clock, tmp_path):
    submitted(db)
    before = db.published()
    with pytest.raises(NotFound):
        handlers.desk_action(db, clock, StatusSettings(), LocalDiskStore(tmp_path / "r"), official(OTHER), CODE,
                             {"action": "accept"}, "accept-0002")
    assert db.published() == before
