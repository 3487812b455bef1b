"""Decision 45/2016: the dossier by post and the result by post, with the carrier simulator calling back."""
import json
import time
from datetime import datetime, timedelta

import pytest
import requests

from motcua.calendar import TIMEZONE, local_date
from motcua.samples import SAMPLE_PDF, sample_submission
from motcua.webhooks import sign

from tests.support import wait_for

pytestmark = pytest.mark.e2e

BIRTH_REGISTRATION = "1.001193"  # the commune's birth registration: allows the post both ways
COMMUNE = "000.00.51.H24"



def booking(api, return_method="postal"):
    quote = api("GET", "/pickups/quote", params={"procedure_code": BIRTH_REGISTRATION, "province": "Hải Phòng"})
    assert quote.status_code == 200, quote.text
    tomorrow = (datetime.now(TIMEZONE) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    return {
        "procedure_code": BIRTH_REGISTRATION,
        "applicant": {"full_name": "Trần Thị Bình", "phone": "0912345679", "email": "binh.tran@example.org"},
        "address": {"province": "Hải Phòng", "commune": "Xã Vĩnh Bảo", "street": "Số 12 đường Tân Hòa"},
        "window": {"start": tomorrow.isoformat(), "end": (tomorrow + timedelta(hours=3)).isoformat()},
        "quoted_fee_vnd": quote.json()["fee_vnd"],
        "return_method": return_method,
    }


def desk(token, *roles):
    return {"Authorization": f"Bearer {token(COMMUNE, *roles)}"}


def notified(api, code, key):
    response = api("GET", f"/dossiers/{code}/notifications", headers={"X-Tracking-Key": key})
    return {entry["template_id"] for entry in response.json()} if response.status_code == 200 else set()


def test_a_pickup_is_collected_handed_over_and_registered_as_a_postal_dossier(api, carrier, stack):
    booked = api("POST", "/pickups", json=booking(api), headers={"Idempotency-Key": "e2e-pickup-0001"})
    assert booked.status_code == 201, booked.text
    pickup = booked.json()
    pickup_id, waybill, key = pickup["pickup_id"], pickup["waybill"], pickup["tracking_key"]
    assert pickup["state"] == "booked" and waybill.endswith("VN")
    citizen = {"X-Tracking-Key": key}

    collected = carrier.advance(waybill)
    assert collected["event"] == "collected" and collected["status"] == 200
    view = api("GET", f"/pickups/{pickup_id}", headers=citizen).json()
    assert view["state"] == "collected"
    assert view["checklist"] and all(item["present"] for item in view["checklist"])  # checked by the carrier

    handed_over = carrier.advance(waybill)
    assert handed_over["event"] == "handed_over" and handed_over["status"] == 200
    registered = wait_for(lambda: (pickup_view := api("GET", f"/pickups/{pickup_id}", headers=citizen).json())
                          ["state"] == "registered" and pickup_view)
    assert registered, "intake did not register the handed-over dossier"
    code = registered["dossier_code"]

    # The citizen's one key opens the dossier: received at once, by post, dated from the handover.
    dossier = wait_for(lambda: (response := api("GET", f"/dossiers/{code}", headers=citizen)).status_code == 200
                       and response.json()["state"] == "received" and response.json())
    assert dossier and dossier["channel"] == "postal"
    handed_over_at = datetime.fromisoformat(registered["handed_over_at"])
    assert datetime.fromisoformat(dossier["submitted_at"]) == handed_over_at
    assert code.startswith(COMMUNE + "-" + local_date(handed_over_at).strftime("%y%m%d"))
    receipt = api("GET", f"/dossiers/{code}/receipt", headers=citizen).json()
    assert receipt["channel"] == "postal" and receipt["appointment_date"] == dossier["appointment_date"]
    # Told at each step, and the pickup's notices now sit in the dossier's log with the receipt.
    assert wait_for(lambda: {"pickup_booked", "pickup_collected", "receipt"} <= notified(api, code, key))

    again = api("POST", "/pickups", json=booking(api) | {"note": "Gọi trước 15 phút"},
                headers={"Idempotency-Key": "e2e-pickup-0001"})
    assert again.status_code == 409  # the key was used for another body: nothing booked twice


def complete_with_postal_return(api, token):
    definition = api("GET", f"/procedures/{BIRTH_REGISTRATION}").json()
    submitted = api("POST", "/dossiers", json=sample_submission(definition, return_method="postal"))
    assert submitted.status_code == 201, submitted.text
    code, key = submitted.json()["dossier_code"], submitted.json()["tracking_key"]
    citizen = {"X-Tracking-Key": key}
    assert wait_for(lambda: api("GET", f"/dossiers/{code}", headers=citizen).status_code == 200)

    def act(headers, name, **command):
        response = api("POST", f"/desk/dossiers/{code}/actions", json=command,
                       headers={**headers, "Idempotency-Key": f"{code}-{name}"})
        assert response.status_code == 200, response.text
        return response.json()

    act(desk(token, "receptionist"), "accept", action="accept")
    act(desk(token, "receptionist"), "assign", action="assign", assignee="cb-hotich-01")
    completed = api("POST", f"/desk/dossiers/{code}/actions",
                    files={"result_document": ("trich-luc.pdf", SAMPLE_PDF, "application/pdf")},
                    data={"command": json.dumps({"action": "complete"})},
                    headers={**desk(token, "approver"), "Idempotency-Key": f"{code}-complete"})
    assert completed.status_code == 200, completed.text
    # The delivery is ordered with the carrier; its waybill shows on the citizen's page.
    view = wait_for(lambda: (dossier_view := api("GET", f"/dossiers/{code}", headers=citizen).json())["delivery"]
                    and dossier_view)
    assert view, "no delivery was ordered for a result to be returned by post"
    assert view["delivery"]["state"] == "ordered" and view["return_method"] == "postal"
    return code, key, view["delivery"]["waybill"]


def test_a_result_by_post_is_delivered_and_the_dossier_returned(api, token, carrier):
    code, key, waybill = complete_with_postal_return(api, token)
    citizen = {"X-Tracking-Key": key}
    assert [carrier.advance(waybill)["event"] for _ in range(3)] == ["picked_up", "out_for_delivery", "delivered"]
    view = wait_for(lambda: (dossier_view := api("GET", f"/dossiers/{code}", headers=citizen).json())["state"]
                    == "returned" and dossier_view)
    assert view, "the delivery did not return the dossier"
    assert view["national_status_code"] == 10 and view["delivery"]["state"] == "delivered"
    assert view["history"][-1]["actor_kind"] == "carrier"
    assert wait_for(lambda: {"result_shipped", "result_delivered"} <= notified(api, code, key))


def test_two_failed_attempts_bring_the_result_back_to_the_counter(api, token, carrier):
    code, key, waybill = complete_with_postal_return(api, token)
    citizen = {"X-Tracking-Key": key}
    for event in ("picked_up", "out_for_delivery"):
        assert carrier.emit(waybill, event)["status"] == 200
    for attempt in (1, 2):
        assert carrier.emit(waybill, "attempt_failed", reason="Không có người nhận")["status"] == 200
        if attempt == 1:
            assert carrier.emit(waybill, "out_for_delivery")["status"] == 200
    assert carrier.emit(waybill, "returned_to_sender")["status"] == 200
    view = wait_for(lambda: (dossier_view := api("GET", f"/dossiers/{code}", headers=citizen).json())["return_method"]
                    == "counter" and dossier_view)
    assert view, "the returned result was not brought back to the counter"
    assert view["state"] == "completed"  # still to be handed over, now at the counter
    assert view["delivery"]["state"] == "returned_to_sender" and view["delivery"]["attempts"] == 2
    assert wait_for(lambda: {"delivery_attempt_failed", "result_returned_to_counter"} <= notified(api, code, key))
    # A late "delivered" cannot undo the return: recorded, nothing moves backwards.
    assert carrier.emit(waybill, "delivered", recipient_name="Trần Thị Bình")["status"] == 200
    time.sleep(1)
    assert api("GET", f"/dossiers/{code}", headers=citizen).json()["state"] == "completed"


def test_forged_stale_replayed_and_unknown_callbacks_are_refused(api, carrier, stack):
    pickup = api("POST", "/pickups", json=booking(api, return_method="counter")).json()
    pickup_id, waybill, key = pickup["pickup_id"], pickup["waybill"], pickup["tracking_key"]
    citizen = {"X-Tracking-Key": key}
    assert carrier.emit(waybill, "collected", sign="bad")["status"] == 401
    assert carrier.emit(waybill, "collected", sign="stale")["status"] == 401
    assert api("GET", f"/pickups/{pickup_id}", headers=citizen).json()["state"] == "booked"

    assert carrier.advance(waybill)["status"] == 200
    assert carrier.replay(waybill)["status"] == 401  # the same signed request again
    duplicate = carrier.order(waybill)["callbacks"][-1]
    assert carrier.emit(waybill, "collected", event_id=duplicate["event_id"])["status"] == 200  # changes nothing
    assert api("GET", f"/pickups/{pickup_id}", headers=citizen).json()["state"] == "collected"

    body = json.dumps({"event_id": "forged-1", "waybill": "EE000000000VN", "event": "collected",
                       "occurred_at": datetime.now(TIMEZONE).isoformat()}).encode()
    unknown = requests.post(stack.url("postal", "/callbacks/carrier"), data=body, timeout=10, headers={
        "Content-Type": "application/json",
        "X-Carrier-Signature": sign(stack.carrier_callback_secret.encode(), body, int(time.time()))})
    assert unknown.status_code == 404
