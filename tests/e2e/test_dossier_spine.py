"""A citizen finds a procedure, files a dossier online with an attachment, and tracks it."""
import pytest

from motcua.dossier_code import parse_dossier_code
from motcua.samples import SAMPLE_PDF, sample_submission
from motcua.stack import PROGRAMS
from tests.support import wait_for

pytestmark = pytest.mark.e2e



def test_every_service_answers_health_readiness_and_metrics(stack):

    import requests

    for service in stack.ports:
        if service in PROGRAMS:
            continue  # not a service: the carrier simulator
        for path in ("/healthz", "/readyz"):
            answer = requests.get(stack.url(service, path), timeout=5)
            assert answer.status_code == 200, (service, path)
            assert answer.headers["X-Content-Type-Options"] == "nosniff", (service, path)
        metrics = requests.get(stack.metrics_url(service), timeout=5)
        assert "motcua_entrypoint_calls_total" in metrics.text, service
    assert requests.get(stack.url("gateway", "/metrics"), timeout=5).status_code == 404  # not on the public port
    for path in ("/api/v1/procedures", "/api/v1/procedures/0.000000", "/api/v1/dossiers/x"):  # answers and errors
        assert requests.get(stack.url("gateway", path), timeout=5).headers["X-Content-Type-Options"] == "nosniff"


def test_search_ignores_diacritics_and_case(api):
    response = api("GET", "/procedures", params={"q": "DANG KY KHAI SINH"})
    assert response.status_code == 200
    codes = [item["procedure_code"] for item in response.json()["items"]]
    assert "1.001193" in codes


def test_online_dossier_with_attachment_is_tracked_through_the_public_view(api):
    definition = api("GET", "/procedures/1.001193").json()
    submission = sample_submission(definition)
    files = [("document." + a["document_code"], (a["filename"], SAMPLE_PDF, "application/pdf"))
             for a in submission.pop("attachments")]
    assert files, "the birth registration needs at least one mandatory document"
    import json

    response = api("POST", "/dossiers", data={"submission": json.dumps(submission)}, files=files,
                   headers={"Idempotency-Key": "e2e-spine-0001"})
    assert response.status_code == 201, response.text
    result = response.json()
    code, key = result["dossier_code"], result["tracking_key"]
    parsed = parse_dossier_code(code)
    assert parsed.agency_code == definition["agency"]["code"]
    assert response.headers["Location"].endswith(code)
    assert result["receipt"]["documents"]

    def tracked():
        view = api("GET", f"/dossiers/{code}", headers={"X-Tracking-Key": key})
        return view if view.status_code == 200 else None

    view = wait_for(tracked)
    assert view is not None, "the dossier never reached the public view"
    body = view.json()
    assert body["state"] == "submitted"
    assert body["national_status_code"] == 1
    assert body["dossier_code"] == code
    assert body["appointment_date"] == result["appointment_date"]
    assert body["history"][0]["to_state"] == "submitted"

    wrong = api("GET", f"/dossiers/{code}", params={"key": "not-the-key"})
    assert wrong.status_code == 404
    assert set(wrong.json()["error"]) == {"code", "message", "fields"}

    retried = api("POST", "/dossiers", data={"submission": json.dumps(submission)}, files=files,
                  headers={"Idempotency-Key": "e2e-spine-0001"})
    assert retried.json()["dossier_code"] == code


def test_bad_input_is_refused_in_the_one_error_shape_and_nothing_is_stored(api):
    malformed = api("POST", "/dossiers", data="{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_input"

    unknown = api("POST", "/dossiers", json={
        "procedure_code": "9.999999", "applicant": {"full_name": "An"}, "form": {}})
    assert unknown.status_code == 404

    definition = api("GET", "/procedures/1.001193").json()
    missing_document = sample_submission(definition)
    missing_document["attachments"] = []
    refused = api("POST", "/dossiers", json=missing_document)
    assert refused.status_code == 422
    assert any(field.startswith("attachments.") for field in refused.json()["error"]["fields"])
