"""One correlation id finds every log line about one request, across every service (issue 14).

A citizen files a dossier over HTTP with their own `X-Correlation-ID`; the commune's system (the
reference department adapter) takes the work item and accepts it with a command; notify sends the
receipt by e-mail to a local SMTP sink. Then every service's log file is read as JSON: the id is on
lines of the gateway, intake, status, notify and the department's adapter, and every line about the
dossier carries it, from the HTTP request to the e-mail.
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from motcua.departments import Management, vhost_of
from motcua.samples import sample_submission
from tests.fakes.mailbox import Mailbox
from tests.fakes.sms_gateway import FakeSmsGateway
from tests.e2e.test_department_integration import work_item
from tests.support import wait_for
from tests.whole_system import running_stack

pytestmark = pytest.mark.e2e

COMMUNE = "000.00.51.H24"  # UBND xã Vĩnh Bảo, where birth registrations are received
BIRTH_REGISTRATION = "1.001193"
ADAPTER_LOG = "department.log"


@pytest.fixture
def traced_system(postgres_database, own_vhost, tmp_path):
    """The whole system on a vhost of its own, its e-mail to a local SMTP sink and its SMS to a fake gateway,
    and the commune's reference adapter (folder handler) logging beside the services; all stopped after."""
    with Mailbox() as mailbox, FakeSmsGateway() as sms:
        settings = {"NOTIFY_SMTP_HOST": "127.0.0.1", "NOTIFY_SMTP_PORT": str(mailbox.port),
                    "NOTIFY_SMS_URL": sms.url, "NOTIFY_SEND_INTERVAL_SECONDS": "0.2"}
        with running_stack(postgres_database, own_vhost, tmp_path, settings) as stack:
            management = Management(vhost=vhost_of(stack.env["AMQP_URI"]))
            user, password = f"e2e-trace-{secrets.token_hex(4)}", secrets.token_urlsafe(16)
            management.add_department(COMMUNE, user, password)
            inbox, decisions = tmp_path / "inbox", tmp_path / "decisions"
            env = {**os.environ, "DEPARTMENT_AGENCY_CODE": COMMUNE, "DEPARTMENT_HANDLER": "folder",
                   "DEPARTMENT_AMQP_URI": f"amqp://{user}:{password}@127.0.0.1:5672/{quote(own_vhost, safe='')}",
                   "DEPARTMENT_INBOX_DIR": str(inbox), "DEPARTMENT_DECISIONS_DIR": str(decisions),
                   "DEPARTMENT_POLL_INTERVAL": "0.3", "DEPARTMENT_JOURNAL": str(tmp_path / "journal.jsonl")}
            with open(stack.log_dir / ADAPTER_LOG, "wb") as log:
                adapter = subprocess.Popen([sys.executable, "-m", "department_adapter"], env=env, stdout=log,
                                           stderr=subprocess.STDOUT)
            try:
                yield stack, mailbox, inbox, decisions
            finally:
                adapter.send_signal(signal.SIGTERM)
                try:
                    adapter.wait(15)
                finally:
                    if adapter.poll() is None:
                        adapter.kill()
                        adapter.wait()
                    management.remove_department(COMMUNE, user, keep_queue=False)


def log_lines(log_dir: Path) -> dict[str, list[dict]]:
    """Every JSON line of every log file, by the file's program (what is not JSON, e.g. a crash's traceback
    printed by the interpreter, is nobody's structured line and is left out)."""
    lines: dict[str, list[dict]] = {}
    for path in sorted(log_dir.glob("*.log")):
        for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                line = json.loads(text)
            except ValueError:
                continue
            if isinstance(line, dict):
                lines.setdefault(path.stem, []).append(line)
    return lines


def test_one_correlation_id_follows_a_dossier_from_the_request_to_the_notice(traced_system):
    stack, mailbox, inbox, decisions = traced_system
    trace = f"trace-{uuid.uuid4().hex}"
    api = stack.url("gateway", "/api/v1")
    definition = requests.get(f"{api}/procedures/{BIRTH_REGISTRATION}", timeout=30).json()
    submitted = requests.post(f"{api}/dossiers", json=sample_submission(definition), timeout=30,
                              headers={"X-Correlation-ID": trace})
    assert submitted.status_code == 201, submitted.text
    assert submitted.headers["X-Correlation-ID"] == trace
    code = submitted.json()["dossier_code"]

    # The commune's system gets its work item with the request's id, and accepts the dossier.
    path, item = work_item(inbox, code, "dossier_registered")
    assert item["correlation_id"] == trace
    decision = {"action": "accept", "official_id": "cb-hotich-07", "expected_version": item["data"]["version"]}
    (decisions / f"{path.stem}.json.tmp").write_text(json.dumps(decision), encoding="utf-8")
    (decisions / f"{path.stem}.json.tmp").rename(decisions / f"{path.stem}.json")
    _, received = work_item(inbox, code, "dossier_received")
    assert received["correlation_id"] == trace, "the command's answer left the request's trace"

    # notify sends the receipt (template 01) to the citizen's mailbox.
    receipt_subject = f"[{code}] Tiếp nhận hồ sơ và hẹn trả kết quả"
    assert wait_for(lambda: any(m["Subject"] == receipt_subject for m in mailbox.messages), seconds=30), (
        "the receipt never reached the mailbox")

    def notify_said_sent():
        lines = log_lines(stack.log_dir)
        return lines if any(line.get("dossier_code") == code and "template receipt" in line.get("message", "")
                            and line["message"].endswith(": sent") for line in lines.get("notify", [])) else None

    lines = wait_for(notify_said_sent, seconds=15)
    assert lines, "notify never logged the receipt as sent"

    traced = {program: [line for line in found if line.get("correlation_id") == trace]
              for program, found in lines.items()}
    for program in ("gateway", "intake", "status", "notify", "department"):
        assert traced.get(program), f"no {program} line carries the request's correlation id"
    sent = [line for line in traced["notify"] if line.get("dossier_code") == code
            and line.get("message", "").endswith(": sent")]
    assert {("template filed_online" in line["message"], "template receipt" in line["message"]) for line in sent} >= {
        (True, False), (False, True)}, "notify's sender logged a notice without the request's id"

    about_the_dossier = [(program, line) for program, found in lines.items() for line in found
                         if line.get("dossier_code") == code or code in str(line.get("message", ""))]
    assert {program for program, _ in about_the_dossier} >= {"intake", "status", "notify", "department"}
    strays = [(program, line) for program, line in about_the_dossier if line.get("correlation_id") != trace]
    assert not strays, "lines about the dossier without the request's id:\n" + "\n".join(
        f"{program}: {json.dumps(line, ensure_ascii=False)}" for program, line in strays[:20])
