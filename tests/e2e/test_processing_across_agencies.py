"""A dossier's whole life across two agencies, driven as the citizen and the officials do."""
import base64
import json
from datetime import datetime

import pytest
import requests
from kombu import Connection, Exchange, Queue

from motcua.calendar import local_date
from motcua.samples import SAMPLE_PDF, sample_submission

from tests.support import wait_for

pytestmark = pytest.mark.e2e

COMMUNE = "000.00.51.H24"      # UBND xã Vĩnh Bảo: receives birth registrations
JUSTICE = "000.00.01.H24"      # Sở Tư pháp: consulted by transfer, off the template route



@pytest.fixture
def status_events(stack):
    """Every status event, read from a queue bound before the journey starts."""
    with Connection(stack.env["AMQP_URI"]) as conn:
        queue = Queue("e2e-journey-status-events", Exchange("status.events", type="topic", durable=True),
                      routing_key="#", durable=False, auto_delete=False)
        queue(conn.default_channel).declare()

        def drain(dossier_code):
            seen = []
            with conn.SimpleQueue(queue) as simple:
                while True:
                    try:
                        message = simple.get(timeout=1)
                    except simple.Empty:
                        return seen
                    message.ack()
                    if message.payload.get("dossier_code") == dossier_code:
                        seen.append(message.payload["event_type"])

        yield drain
        queue(conn.default_channel).delete()


def test_online_dossier_goes_through_acceptance_transfer_supplement_completion_and_return(
        api, token, stack, status_events):
    definition = api("GET", "/procedures/1.001193").json()
    submitted = api("POST", "/dossiers", json=sample_submission(definition)).json()
    code, key = submitted["dossier_code"], submitted["tracking_key"]
    citizen = {"X-Tracking-Key": key}
    assert wait_for(lambda: api("GET", f"/dossiers/{code}", headers=citizen).status_code == 200)

    receptionist = {"Authorization": f"Bearer {token(COMMUNE, 'receptionist')}"}
    handler = {"Authorization": f"Bearer {token(COMMUNE, 'handler')}"}
    approver = {"Authorization": f"Bearer {token(COMMUNE, 'approver')}"}
    justice = {"Authorization": f"Bearer {token(JUSTICE, 'handler')}"}

    def act(headers, key_suffix, **command):
        response = api("POST", f"/desk/dossiers/{code}/actions", json=command,
                       headers={**headers, "Idempotency-Key": f"{code}-{key_suffix}"})
        assert response.status_code == 200, response.text
        return response.json()

    work = api("GET", "/desk/dossiers", params={"state": "submitted"}, headers=receptionist).json()
    assert code in [item["dossier_code"] for item in work["items"]]
    assert api("GET", f"/desk/dossiers/{code}", headers=justice).status_code == 404  # never held it

    accepted = act(receptionist, "accept", action="accept")
    assert accepted["state"] == "received"
    act(receptionist, "assign", action="assign", assignee="cb-tuphap-01")
    act(handler, "transfer-out", action="transfer", to_agency_code=JUSTICE, reason="Xin ý kiến Sở Tư pháp")
    assert api("GET", f"/desk/dossiers/{code}", headers=justice).status_code == 200
    assert api("POST", f"/desk/dossiers/{code}/actions", json={"action": "assign", "assignee": "x"},
               headers={**handler, "Idempotency-Key": f"{code}-no-longer-holder"}).status_code == 403

    requested = act(justice, "supplement", action="request_supplement",
                    missing_items=["Bản sao giấy chứng sinh có chứng thực"])
    assert requested["state"] == "awaiting_supplement"
    assert api("GET", f"/dossiers/{code}", headers=citizen).json()["state"] == "awaiting_supplement"

    supplement = api("POST", f"/dossiers/{code}/supplements", headers=citizen, json={
        "note": "Bổ sung bản sao giấy chứng sinh",
        "attachments": [{"document_code": "giay-chung-sinh", "filename": "cs.pdf",
                         "content_base64": base64.b64encode(SAMPLE_PDF).decode()}]})
    assert supplement.status_code == 202, supplement.text
    resumed = wait_for(lambda: api("GET", f"/dossiers/{code}", headers=citizen).json()["state"] == "in_progress")
    assert resumed, "the citizen's supplement did not resume the dossier"

    act(justice, "transfer-back", action="transfer", to_agency_code=COMMUNE, reason="Đã có ý kiến")
    detail = api("GET", f"/desk/dossiers/{code}", headers=approver).json()
    files = {"result_document": ("trich-luc-khai-sinh.pdf", SAMPLE_PDF, "application/pdf")}
    completed = api("POST", f"/desk/dossiers/{code}/actions", files=files,
                    data={"command": json.dumps({"action": "complete", "expected_version": detail["version"]})},
                    headers={**approver, "Idempotency-Key": f"{code}-complete"})
    assert completed.status_code == 200, completed.text
    assert completed.json()["state"] == "completed"
    returned = act(receptionist, "return", action="return_result")
    assert returned["state"] == "returned"

    view = api("GET", f"/dossiers/{code}", headers=citizen).json()
    assert view["state"] == "returned" and view["national_status_code"] == 10
    states = [entry["to_state"] for entry in view["history"]]
    assert states[:2] == ["submitted", "received"]
    assert "awaiting_supplement" in states and states[-2:] == ["completed", "returned"]
    assert view["appointment_date"] >= accepted["appointment_date"]

    detail = api("GET", f"/desk/dossiers/{code}", headers=receptionist).json()
    transfers = [e for e in detail["history"] if e["action"] == "transfer"]
    assert [t["details"]["route"] for t in transfers] == ["deviation", "deviation"]

    events = wait_for(lambda: status_events(code))
    for expected in ("dossier_registered", "dossier_received", "dossier_assigned", "dossier_transferred",
                     "supplement_requested", "supplement_received", "dossier_completed", "dossier_returned"):
        assert expected in events, (expected, events)
    assert events.index("dossier_received") < events.index("supplement_requested") < events.index(
        "supplement_received") < events.index("dossier_completed") < events.index("dossier_returned")
    admin = {"Authorization": f"Bearer {token('000.00.00.H24', 'city_admin')}"}
    today = local_date(datetime.fromisoformat(view["submitted_at"])).isoformat()
    export = api("GET", "/reports/national-export", params={"from": today, "to": today}, headers=admin)
    assert export.status_code == 200, export.text
    record = next(json.loads(line) for line in export.text.splitlines() if json.loads(line)["MaHoSo"] == code)
    assert record["TrangThaiHoSo"] == 10 and record["KenhThucHien"] == 2 and record["NgayTra"]
    assert record["DanhSachLePhi"] == []  # filed online, where khai sinh costs nothing, and no payment asked
    report = api("GET", "/reports/on-time", params={"from": today, "to": today, "group_by": "agency"},
                 headers=admin).json()
    commune = next(row for row in report["rows"] if row["key"] == COMMUNE)
    assert commune["completed_on_time"] >= 1
    assert requests.get(stack.url("status", "/metrics"), timeout=5).status_code == 200
