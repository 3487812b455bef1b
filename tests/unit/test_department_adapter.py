"""The department adapter's rules that need no broker: contract checks, command ids, the journal, the handlers."""
import json
import logging
import subprocess
import sys
import tomllib
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from department_adapter.config import Config, ConfigError
from department_adapter.handlers import load_handler
from department_adapter.handlers.folder import FolderHandler
from department_adapter.handlers.http import HttpHandler, HttpHandlerError
from tests.support import json_endpoint
from department_adapter.journal import Journal
from department_adapter.logs import JsonFormatter
from department_adapter.messages import (
    InvalidDecision, Malformed, build_command, command_envelope, command_id_for, parse_incoming,
)
from motcua_contracts.departments import DepartmentCommandSchema
from motcua_contracts.envelope import EnvelopeSchema

AGENCY = "000.00.10.H24"
DOSSIER = "000.00.10.H24-261125-0001"
ADAPTER = Path(__file__).resolve().parents[2] / "adapters" / "department"


def work_item(dossier_code=DOSSIER, agency_code=AGENCY, version=2, **data):
    now = datetime.now(timezone.utc).isoformat()
    return {
        "event_id": str(uuid.uuid4()), "event_type": "work_item", "schema_version": 1, "occurred_at": now,
        "producer": "status", "dossier_code": dossier_code, "correlation_id": uuid.uuid4().hex,
        "data": {"item_type": "dossier_received", "agency_code": agency_code, "dossier_code": dossier_code,
                 "procedure_code": "1.001193", "procedure_name": "Đăng ký khai sinh", "state": "received",
                 "version": version, "channel": "online", "received_at": now, "appointment_date": "2026-12-01",
                 "occurred_at": now, **data},
    }


def outcome(command_id="cmd-00000001", dossier_code=DOSSIER, agency_code=AGENCY):
    return {
        "event_id": str(uuid.uuid4()), "event_type": "command_outcome", "schema_version": 1,
        "occurred_at": datetime.now(timezone.utc).isoformat(), "producer": "status", "dossier_code": dossier_code,
        "correlation_id": uuid.uuid4().hex,
        "data": {"command_id": command_id, "agency_code": agency_code, "dossier_code": dossier_code,
                 "action": "accept", "outcome": "accepted", "state": "in_progress", "version": 3,
                 "decided_at": datetime.now(timezone.utc).isoformat()},
    }


# --- commands ---------------------------------------------------------------------------------------------------

def test_a_decision_is_completed_from_its_work_item_with_an_id_that_survives_restarts():
    item = work_item()
    command = build_command({"action": "accept", "official_id": "cb-01"}, item, AGENCY)
    assert command["agency_code"] == AGENCY and command["dossier_code"] == DOSSIER
    assert command["command_id"] == build_command({"action": "accept"}, item, AGENCY)["command_id"]
    assert command["command_id"] == command_id_for(item["event_id"], "accept")
    assert command["command_id"] != build_command({"action": "refuse", "reason": "x"}, item, AGENCY)["command_id"]
    assert command["command_id"] != build_command({"action": "accept"}, work_item(), AGENCY)["command_id"]
    DepartmentCommandSchema().load(command)


def test_a_command_id_the_department_chose_is_kept():
    command = build_command({"action": "accept", "command_id": "hs-noi-bo-4711"}, work_item(), AGENCY)
    assert command["command_id"] == "hs-noi-bo-4711"


@pytest.mark.parametrize("decision, field", [
    ({"action": "accept", "agency_code": "000.00.11.H24"}, "agency_code"),
    ({"action": "accept", "dossier_code": "000.00.10.H24-261125-0002"}, "dossier_code"),
    ({"action": "approve"}, "action"),
    ({"reason": "no action"}, "action"),
    ({"action": "accept", "colour": "red"}, "colour"),
])
def test_a_decision_naming_another_agency_or_dossier_or_off_contract_is_refused_by_field(decision, field):
    with pytest.raises(InvalidDecision) as refused:
        build_command(decision, work_item(), AGENCY)
    assert field in refused.value.messages


def test_a_decision_that_is_not_an_object_is_refused():
    with pytest.raises(InvalidDecision):
        build_command(["accept"], work_item(), AGENCY)


def test_every_publication_of_one_command_is_the_same_department_message():
    item = work_item()
    command = build_command({"action": "accept"}, item, AGENCY)
    first, again = command_envelope(command, item["correlation_id"]), command_envelope(command, item["correlation_id"])
    assert first["event_id"] == again["event_id"]
    assert (first["producer"], first["event_type"], first["correlation_id"], first["dossier_code"]) == (
        "department", "department_command", item["correlation_id"], DOSSIER)
    EnvelopeSchema().load(first)


# --- incoming messages ------------------------------------------------------------------------------------------

def test_work_items_and_outcomes_on_contract_are_taken_as_received():
    item = work_item()
    assert parse_incoming(json.dumps(item).encode(), AGENCY) == item
    assert parse_incoming(json.dumps(outcome()).encode(), AGENCY)["event_type"] == "command_outcome"


@pytest.mark.parametrize("body", [
    b"\xff\xfe not json",
    b"[1, 2]",
    json.dumps({**work_item(), "event_type": "dossier_received"}).encode(),
    json.dumps({**work_item(), "event_id": "not-a-uuid"}).encode(),
    json.dumps(work_item(state="lost")).encode(),
    json.dumps(work_item(agency_code="000.00.11.H24", dossier_code="000.00.11.H24-261125-0001")).encode(),
    json.dumps(outcome(agency_code="000.00.11.H24")).encode(),
])
def test_a_message_off_contract_or_for_another_agency_is_malformed(body):
    with pytest.raises(Malformed):
        parse_incoming(body, AGENCY)


# --- journal ----------------------------------------------------------------------------------------------------

def test_the_journal_remembers_confirmed_decisions_across_restarts(tmp_path):
    item = work_item()
    envelope = command_envelope(build_command({"action": "accept"}, item, AGENCY), item["correlation_id"])
    Journal(tmp_path / "journal.jsonl").record([item["event_id"]], DOSSIER, f"{AGENCY}.accept", envelope)
    entry = Journal(tmp_path / "journal.jsonl").get(item["event_id"])
    assert (entry["ref"], entry["routing_key"], entry["envelope"]) == (DOSSIER, f"{AGENCY}.accept", envelope)
    assert Journal(tmp_path / "journal.jsonl").get(str(uuid.uuid4())) is None


def test_a_line_cut_short_by_a_crash_is_ignored_and_old_entries_are_dropped(tmp_path):
    path = tmp_path / "journal.jsonl"
    old, kept = work_item(), work_item()
    for item in (old, kept):
        envelope = command_envelope(build_command({"action": "accept"}, item, AGENCY), item["correlation_id"])
        Journal(path).record([item["event_id"]], item["event_id"], f"{AGENCY}.accept", envelope)
    lines = path.read_text().splitlines()
    aged = json.loads(lines[0]) | {"confirmed_at": (datetime.now(timezone.utc) - timedelta(days=30)).isoformat()}
    path.write_text(json.dumps(aged) + "\n" + lines[1] + "\n" + lines[1][:40])
    journal = Journal(path)
    assert journal.get(old["event_id"]) is None and journal.get(kept["event_id"]) is not None
    assert len(path.read_text().splitlines()) == 1  # rewritten: the next append starts on a line of its own


# --- folder handler ---------------------------------------------------------------------------------------------

@pytest.fixture
def folders(tmp_path):
    return FolderHandler(tmp_path / "inbox", tmp_path / "decisions", tmp_path / "inbox" / "outcomes"), tmp_path


def test_the_folder_handler_writes_one_inbox_file_per_item_even_when_redelivered(folders):
    handler, root = folders
    item = work_item()
    assert handler.handle(item) is None
    assert handler.handle(item) is None
    files = list((root / "inbox").glob("*.json"))
    assert [f.name for f in files] == [f"{DOSSIER}--{item['event_id']}.json"]
    assert json.loads(files[0].read_text("utf-8")) == item


def test_the_folder_handler_finds_decisions_by_item_or_by_dossier(folders):
    handler, root = folders
    first, other = work_item(), work_item(dossier_code="000.00.10.H24-261125-0002")
    (root / "decisions" / f"{DOSSIER}--{first['event_id']}.json").write_text('{"action": "accept"}')
    (root / "decisions" / "000.00.10.H24-261125-0002.json").write_text('{"action": "refuse", "reason": "x"}')
    (root / "decisions" / "000.00.10.H24-261125-0003.json").write_text('{"action": "accept"}')  # nothing waits
    found = list(handler.decisions({first["event_id"]: first, other["event_id"]: other}))
    assert found == [({"action": "accept"}, first["event_id"]),
                     ({"action": "refuse", "reason": "x"}, "000.00.10.H24-261125-0002")]


def test_a_half_written_decision_file_is_left_for_the_next_poll(folders):
    handler, root = folders
    item = work_item()
    (root / "decisions" / f"{DOSSIER}.json").write_text('{"action": "acc')
    assert list(handler.decisions({item["event_id"]: item})) == []
    assert (root / "decisions" / f"{DOSSIER}.json").exists()


def test_a_published_decision_and_its_items_move_to_done(folders):
    handler, root = folders
    item = work_item()
    handler.handle(item)
    (root / "decisions" / f"{DOSSIER}.json").write_text('{"action": "accept"}')
    handler.published(DOSSIER, [item], {"command_id": "c0ffee-42", "action": "accept"})
    assert not list((root / "decisions").glob("*.json")) and not list((root / "inbox").glob("*.json"))
    assert (root / "decisions" / "done" / f"{DOSSIER}--c0ffee-42.json").exists()
    assert (root / "inbox" / "done" / f"{DOSSIER}--{item['event_id']}.json").exists()


def test_a_refused_decision_moves_aside_with_its_errors_and_the_item_keeps_waiting(folders):
    handler, root = folders
    item = work_item()
    handler.handle(item)
    name = f"{DOSSIER}--{item['event_id']}"
    (root / "decisions" / f"{name}.json").write_text('{"action": "approve"}')
    handler.refused(item["event_id"], [item], {"action": ["Must be one of: accept, ..."]})
    errors = list((root / "decisions" / "refused").glob(f"{name}--*.errors.json"))
    assert len(errors) == 1 and json.loads(errors[0].read_text())["errors"]["action"]
    assert not (root / "decisions" / f"{name}.json").exists()
    assert (root / "inbox" / f"{name}.json").exists()


def test_outcomes_are_written_by_dossier_and_command_and_cannot_name_a_path_elsewhere(folders):
    handler, root = folders
    handler.on_outcome(outcome("cmd-00000001"))
    handler.on_outcome(outcome("../../etc/cmd-00000002", dossier_code="../x"))
    names = sorted(p.name for p in (root / "inbox" / "outcomes").iterdir())
    assert names == [".._x--.._.._etc_cmd-00000002.json", f"{DOSSIER}--cmd-00000001.json"]


# --- http handler -----------------------------------------------------------------------------------------------

@pytest.fixture
def endpoint():
    """A department endpoint answering each POST with the next (status, body) queued for it."""
    answers, seen = [], []

    def respond(path, headers, body):
        seen.append((path, headers.get("Authorization"), body))
        return answers.pop(0)

    with json_endpoint(respond) as url:
        yield f"{url}/departments/tu-phap/", answers, seen


def test_the_http_handler_maps_answers_to_decision_not_yet_and_failure(endpoint):
    url, answers, seen = endpoint
    handler = HttpHandler(url, timeout=5, token="s3cret")
    item = work_item()
    answers += [(202, None), (200, {"action": "accept"}), (503, {"error": "down"})]
    assert handler.handle(item) is None
    assert list(handler.decisions({item["event_id"]: item})) == [({"action": "accept"}, item["event_id"])]
    with pytest.raises(HttpHandlerError):
        handler.handle(item)
    assert [(path, auth) for path, auth, _ in seen] == [("/departments/tu-phap", "Bearer s3cret")] * 3
    assert seen[0][2] == item


def test_the_http_handler_posts_outcomes_and_fails_on_refusal(endpoint):
    url, answers, seen = endpoint
    handler = HttpHandler(url, timeout=5)
    answers += [(204, None), (500, None)]
    handler.on_outcome(outcome())
    with pytest.raises(HttpHandlerError):
        handler.on_outcome(outcome())
    assert seen[0][0] == "/departments/tu-phap/outcomes" and seen[0][1] is None


# --- configuration and logs -------------------------------------------------------------------------------------

def test_folder_configuration_from_the_environment_with_its_defaults(tmp_path):
    config = Config.from_env({"DEPARTMENT_AMQP_URI": "amqp://u:p@rabbit/motcua", "DEPARTMENT_AGENCY_CODE": AGENCY,
                              "DEPARTMENT_INBOX_DIR": str(tmp_path / "in"),
                              "DEPARTMENT_DECISIONS_DIR": str(tmp_path / "out")})
    assert (config.handler, config.prefetch, config.poll_interval) == ("folder", 10, 5.0)
    assert config.journal_path == tmp_path / "out" / "journal.jsonl"
    assert config.outcomes_dir == tmp_path / "in" / "outcomes"


@pytest.mark.parametrize("environ, message", [
    ({"DEPARTMENT_HANDLER": "folder"}, "DEPARTMENT_INBOX_DIR"),
    ({"DEPARTMENT_HANDLER": "http"}, "DEPARTMENT_JOURNAL"),
    ({"DEPARTMENT_HANDLER": "ftp"}, "folder, http"),
    ({"DEPARTMENT_HANDLER": "http", "DEPARTMENT_HTTP_URL": "http://x", "DEPARTMENT_JOURNAL": "/j",
      "DEPARTMENT_AGENCY_CODE": "H24"}, "QCVN 102"),
    ({"DEPARTMENT_HANDLER": "http", "DEPARTMENT_HTTP_URL": "http://x", "DEPARTMENT_JOURNAL": "/j",
      "DEPARTMENT_PREFETCH": "0"}, "DEPARTMENT_PREFETCH"),
])
def test_configuration_says_what_is_missing_or_wrong(environ, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"DEPARTMENT_AMQP_URI": "amqp://u:p@rabbit/", "DEPARTMENT_AGENCY_CODE": AGENCY, **environ})


def test_log_lines_are_json_with_the_dossier_code_and_command_id():
    record = logging.LogRecord("department_adapter", logging.INFO, __file__, 1, "decision published", (), None)
    record.dossier_code, record.command_id = DOSSIER, "c0ffee-42"
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["dossier_code"], line["command_id"], line["level"]) == (
        "decision published", DOSSIER, "c0ffee-42", "INFO")


class OwnHandler(FolderHandler):
    """A department's own handler, as DEPARTMENT_HANDLER=package.module:factory names it."""


def own_handler(config):
    return OwnHandler(config.inbox_dir, config.decisions_dir, config.outcomes_dir)


def test_a_department_can_plug_in_its_own_handler(tmp_path):
    config = Config.from_env({"DEPARTMENT_AMQP_URI": "amqp://u:p@rabbit/", "DEPARTMENT_AGENCY_CODE": AGENCY,
                              "DEPARTMENT_HANDLER": f"{__name__}:own_handler", "DEPARTMENT_JOURNAL": "/j",
                              "DEPARTMENT_INBOX_DIR": str(tmp_path / "in"),
                              "DEPARTMENT_DECISIONS_DIR": str(tmp_path / "out")})
    assert isinstance(load_handler(config), OwnHandler)


def test_the_adapter_installs_and_runs_without_the_services_code():
    declared = tomllib.loads((ADAPTER / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {d.split(">")[0].split("=")[0] for d in declared} == {"pika", "marshmallow", "requests", "motcua_contracts"}
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, department_adapter.__main__, department_adapter.handlers.folder, "
         "department_adapter.handlers.http; print(sorted({m.split('.')[0] for m in sys.modules}))"],
        capture_output=True, text=True, check=True).stdout
    assert not {"motcua", "nameko", "eventlet", "kombu"} & set(json.loads(imported.replace("'", '"')))
