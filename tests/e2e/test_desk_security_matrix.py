"""Every role x every desk action x own agency / other agency / no token / expired / tampered,
over HTTP against the real gateway and status: the answer, and that a refusal changed nothing."""
import base64
import time

import pytest
import requests

from motcua.samples import SAMPLE_PDF, sample_submission
from motcua_contracts.desk import DESK_ACTIONS, ROLES

pytestmark = pytest.mark.e2e

OWN = "000.00.51.H24"        # receives birth registrations
OTHER = "000.00.52.H24"      # another commune: never holds them
CITY = "000.00.00.H24"
ALLOWED = {
    "receptionist": {"accept", "refuse", "request_supplement", "return_result", "withdraw", "assign"},
    "handler": {"assign", "transfer", "request_supplement", "request_payment", "record_payment"},
    "approver": {"complete", "stop", "transfer", "refuse", "assign"},
    "city_admin": set(),
}
COMMANDS = {
    "accept": {}, "refuse": {"reason": "Không thuộc thẩm quyền"}, "assign": {"assignee": "cb-01"},
    "transfer": {"to_agency_code": "000.00.01.H24", "reason": "Xin ý kiến"},
    "request_supplement": {"missing_items": ["Giấy chứng sinh"]}, "request_payment": {"fee_vnd": 8000},
    "record_payment": {}, "stop": {"reason": "Theo đề nghị"}, "return_result": {},
    "withdraw": {"reason": "Công dân rút hồ sơ"},
    "complete": {"result_document": {"filename": "kq.pdf", "content_base64": base64.b64encode(SAMPLE_PDF).decode()}},
}


@pytest.fixture(scope="module")
def new_dossier(stack):
    base = stack.url("gateway", "/api/v1")
    definition = requests.get(f"{base}/procedures/1.001193", timeout=30).json()

    def make() -> str:
        result = requests.post(f"{base}/dossiers", json=sample_submission(definition), timeout=30).json()
        return result["dossier_code"]

    return make


def tampered(jwt: str) -> str:
    head, body, signature = jwt.split(".")
    return f"{head}.{body}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"


def test_every_role_action_and_credential(api, token, new_dossier):
    admin = {"Authorization": f"Bearer {token(CITY, 'city_admin')}"}
    code = new_dossier()

    def version() -> int | None:
        response = api("GET", f"/desk/dossiers/{code}", headers=admin)
        return response.json()["version"] if response.status_code == 200 else None

    for _ in range(50):  # status registers the dossier from intake's event
        if version() is not None:
            break
        time.sleep(0.2)
    before = version()
    assert before is not None
    refusals = 0
    for role in ROLES:
        own = token(OWN, role)
        variants = {
            "other agency": (token(OTHER, role), 403 if role == "city_admin" else 404),
            "no token": (None, 401),
            "expired": (token(OWN, role, expired=True), 401),
            "tampered": (tampered(own), 401),
        }
        if not ALLOWED[role]:
            variants["own agency"] = (token(CITY if role == "city_admin" else OWN, role), 403)
        for action in DESK_ACTIONS:
            cases = dict(variants)
            if role != "city_admin" and action not in ALLOWED[role]:
                cases["own agency, role without the action"] = (own, 403)
            for case, (jwt, expected) in cases.items():
                headers = {"Idempotency-Key": f"matrix-{role}-{action}-{case}".replace(" ", "-").replace(",", "")}
                if jwt:
                    headers["Authorization"] = f"Bearer {jwt}"
                response = api("POST", f"/desk/dossiers/{code}/actions",
                               json={"action": action, **COMMANDS[action]}, headers=headers)
                assert response.status_code == expected, (role, action, case, response.text)
                assert set(response.json()["error"]) == {"code", "message", "fields"}
                refusals += 1
    assert version() == before, "a refused request changed the dossier"
    assert refusals > 150


@pytest.mark.parametrize("role", [r for r in ROLES if r != "city_admin"])
def test_an_allowed_action_of_the_holding_agency_passes_the_permission_check(api, token, new_dossier, role):
    """Allowed means not refused for who you are: the state machine may still say 409 or 422."""
    headers = {"Authorization": f"Bearer {token(OWN, role)}"}
    for action in sorted(ALLOWED[role]):
        code = new_dossier()
        for _ in range(50):
            if api("GET", f"/desk/dossiers/{code}", headers=headers).status_code == 200:
                break
            time.sleep(0.2)
        response = api("POST", f"/desk/dossiers/{code}/actions", json={"action": action, **COMMANDS[action]},
                       headers={**headers, "Idempotency-Key": f"allowed-{role}-{action}-{code}"})
        assert response.status_code in (200, 409), (role, action, response.text)


def test_the_desk_list_shows_an_agency_only_its_own_work_and_the_city_admin_everything(api, token, new_dossier):
    code = new_dossier()

    def listed(agency, role):
        page = api("GET", "/desk/dossiers", params={"per_page": 200},
                   headers={"Authorization": f"Bearer {token(agency, role)}"}).json()
        return code in [item["dossier_code"] for item in page["items"]]

    deadline = time.monotonic() + 10
    while not listed(OWN, "receptionist") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert listed(OWN, "receptionist")
    assert listed(CITY, "city_admin")
    assert not listed(OTHER, "receptionist")
