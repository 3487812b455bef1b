"""A department's own system works a dossier through the reference adapter, with its own RabbitMQ user."""
import json
import os
import secrets
import signal
import subprocess
import sys
from urllib.parse import quote

import pytest

from motcua.departments import Management, vhost_of
from motcua.samples import sample_submission
from tests.support import wait_for

pytestmark = pytest.mark.e2e

COMMUNE = "000.00.51.H24"  # UBND xã Vĩnh Bảo, where birth registrations are received


@pytest.fixture
def department_adapter(stack, tmp_path):
    """The commune's department: its queue and user, and the adapter running with the folder handler."""
    uri = stack.env["AMQP_URI"]
    management = Management(vhost=vhost_of(uri))
    user, password = f"e2e-department-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    management.add_department(COMMUNE, user, password)
    inbox, decisions = tmp_path / "inbox", tmp_path / "decisions"
    env = {**os.environ, "DEPARTMENT_AMQP_URI": f"amqp://{user}:{password}@127.0.0.1:5672/{quote(vhost_of(uri), safe='')}",
           "DEPARTMENT_AGENCY_CODE": COMMUNE, "DEPARTMENT_HANDLER": "folder", "DEPARTMENT_INBOX_DIR": str(inbox),
           "DEPARTMENT_DECISIONS_DIR": str(decisions), "DEPARTMENT_POLL_INTERVAL": "0.3"}
    with open(tmp_path / "adapter.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "department_adapter"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            yield inbox, decisions
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                assert process.wait(15) == 0, (tmp_path / "adapter.log").read_text()
            finally:
                if process.poll() is None:
                    process.kill()
                management.remove_department(COMMUNE, user, keep_queue=False)


def work_item(inbox, code, item_type):
    """The work item of this type for the dossier, once the adapter has put it in the inbox."""
    def find():
        for path in inbox.glob(f"{code}--*.json"):
            item = json.loads(path.read_text(encoding="utf-8"))
            if item["data"]["item_type"] == item_type:
                return path, item
        return None
    found = wait_for(find, seconds=30)
    assert found, f"no {item_type} work item for {code}"
    return found


def decide(decisions, name, decision):
    """Write a decision as a department's system should: under a temporary name, then renamed."""
    temporary = decisions / f"{name}.json.tmp"
    temporary.write_text(json.dumps(decision, ensure_ascii=False), encoding="utf-8")
    temporary.rename(decisions / f"{name}.json")


def test_a_department_system_takes_its_work_and_its_decisions_change_the_dossier(api, department_adapter):
    inbox, decisions = department_adapter
    definition = api("GET", "/procedures/1.001193").json()
    submitted = api("POST", "/dossiers", json=sample_submission(definition)).json()
    code, citizen = submitted["dossier_code"], {"X-Tracking-Key": submitted["tracking_key"]}

    # The online dossier waits for the commune to accept it: the department's system does.
    path, item = work_item(inbox, code, "dossier_registered")
    assert item["event_type"] == "work_item" and item["data"]["agency_code"] == COMMUNE
    decide(decisions, path.stem, {"action": "accept", "official_id": "cb-hotich-07",
                                  "expected_version": item["data"]["version"]})
    path, item = work_item(inbox, code, "dossier_received")
    assert item["data"]["state"] == "received"

    decide(decisions, path.stem, {"action": "request_supplement", "official_id": "cb-hotich-07",
                                  "reason": "Thiếu giấy chứng sinh", "missing_items": ["Bản chính giấy chứng sinh"],
                                  "expected_version": item["data"]["version"]})
    view = wait_for(lambda: (dossier_view := api("GET", f"/dossiers/{code}", headers=citizen).json())["state"]
                    == "awaiting_supplement" and dossier_view, seconds=30)
    assert view, "the department's decision did not reach the dossier"
    assert [entry["actor_kind"] for entry in view["history"][-2:]] == ["department_system", "department_system"]
    outcomes = wait_for(lambda: (found := list((inbox / "outcomes").glob(f"{code}--*.json"))) and len(found) == 2
                        and found, seconds=30)
    assert outcomes, "the department did not hear the outcomes of its two commands"
    answers = sorted((outcome_data := json.loads(p.read_text(encoding="utf-8"))["data"])["action"]
                     + ":" + outcome_data["outcome"]
                     for p in outcomes)
    assert answers == ["accept:accepted", "request_supplement:accepted"]
