"""The OpenAPI document: valid, complete against the routes, and true to what travels."""
import json
import re

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from motcua.errors import Conflict, MalformedInput, NotFound, ValidationFailed
from motcua.web import error_response
from motcua_contracts.catalog import TimeLimitSchema

from gateway import inputs
from gateway.openapi import openapi_document
from gateway.service import GatewayService
from gateway.web import GatewayHttp

# Pages and their files, not API: the citizen's portal and the officials' desk in a browser.
PORTAL_PAGES = {"/", "/thu-tuc/{code}", "/tra-cuu", "/tra-cuu/bo-sung", "/buu-chinh/tra-cuu", "/buu-chinh/dat-lich",
                "/tep/{name}", "/can-bo/dang-nhap", "/can-bo/dang-nhap/oidc", "/can-bo/dang-nhap/oidc/ve",
                "/can-bo/dang-xuat", "/can-bo/ho-so", "/can-bo/ho-so/{code}", "/can-bo/bao-cao",
                "/can-bo/ho-so/{code}/giay-to/{attachment_id}"}


def routes() -> dict[str, set[str]]:
    """Every HTTP route the gateway serves, as OpenAPI paths, minus the catch-alls."""
    found: dict[str, set[str]] = {}
    for name in dir(GatewayService):
        for entrypoint in getattr(getattr(GatewayService, name), "nameko_entrypoints", ()):
            if "<path:" in entrypoint.url:
                continue
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url)
            found.setdefault(path, set()).update(m.lower() for m in entrypoint.method.split(","))
    return found


def schema(document: dict, name: str) -> OAS30Validator:
    return OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


def test_the_document_is_valid_openapi_3():
    validate(openapi_document())


def test_every_route_but_the_portal_pages_is_documented_with_its_methods():
    documented = {path: set(operations) for path, operations in openapi_document()["paths"].items()}
    served = {path: methods for path, methods in routes().items() if path not in PORTAL_PAGES}
    assert documented == served
    assert "/dossiers/{code}/receipt" in documented and PORTAL_PAGES <= set(routes())


def test_api_operations_document_their_errors_and_parameters():
    paths = openapi_document()["paths"]
    for path, operations in paths.items():
        for operation in operations.values():
            if path.startswith("/api/v1/") and path != "/api/v1/openapi.json":
                assert any(status.startswith(("4", "5")) for status in operation["responses"]), path
            if "{code}" in path:
                assert "code" in {p["name"] for p in operation["parameters"]}, path
    assert {p["name"] for p in paths["/api/v1/procedures"]["get"]["parameters"]} == {
        "q", "agency", "field", "level", "page", "per_page"}
    lookup = {p["name"] for p in paths["/api/v1/dossiers/{code}"]["get"]["parameters"]}
    assert lookup == {"code", "X-Tracking-Key", "key"}
    assert "Retry-After" in paths["/api/v1/dossiers/{code}"]["get"]["responses"]["429"]["headers"]
    body = paths["/api/v1/dossiers"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}


def test_the_error_schema_describes_the_real_error_answers():
    document = openapi_document()
    for error in (NotFound("No such dossier."), ValidationFailed("Bad.", {"applicant.full_name": ["Required."]})):
        schema(document, "Error").validate(json.loads(error_response(error).get_data()))
    with pytest.raises(Exception):
        schema(document, "Error").validate({"message": "not the one shape"})


def test_decimals_travel_as_strings_and_multipart_submission_has_no_attachments():
    document = openapi_document()
    schema(document, "TimeLimit").validate(TimeLimitSchema().dump({"working_days": "1.5", "confirmed": True}))
    assert "attachments" not in document["components"]["schemas"]["MultipartSubmission"]["properties"]
    assert "attachments" in document["components"]["schemas"]["SubmitDossier"]["properties"]


def test_an_agencys_place_is_documented_as_optional_where_older_data_lacks_it():
    schemas = openapi_document()["components"]["schemas"]
    for name in ("Agency", "Receipt"):  # versions published and receipts stored before agencies had one
        assert schemas[name]["properties"]["place_name"]["nullable"]
        assert "place_name" not in schemas[name]["required"]


def test_page_routes_answer_errors_as_pages_and_api_routes_as_json():
    kinds = {entrypoint.url: entrypoint.html for name in dir(GatewayService)
             for entrypoint in getattr(getattr(GatewayService, name), "nameko_entrypoints", ())
             if isinstance(entrypoint, GatewayHttp)}
    assert all(not html for url, html in kinds.items() if url.startswith("/api/"))
    assert all(html for url, html in kinds.items() if not url.startswith("/api/"))



def test_exactly_the_officials_routes_need_the_bearer_token():
    bearer = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", entrypoint.url) for name in dir(GatewayService)
              for entrypoint in getattr(getattr(GatewayService, name), "nameko_entrypoints", ())
              if isinstance(entrypoint, GatewayHttp) and entrypoint.bearer}
    document = openapi_document()
    secured = {path for path, operations in document["paths"].items()
               for operation in operations.values() if operation.get("security") == [{"officialToken": []}]}
    assert secured == bearer == {"/api/v1/desk/dossiers", "/api/v1/desk/dossiers/{code}",
                                 "/api/v1/desk/dossiers/{code}/actions",
                                 "/api/v1/desk/dossiers/{code}/notifications",
                                 "/api/v1/desk/dossiers/{code}/filed",
                                 "/api/v1/desk/dossiers/{code}/attachments/{attachment_id}", "/api/v1/reports/on-time",
                                 "/api/v1/reports/national-export"}
    scheme = document["components"]["securitySchemes"]["officialToken"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for path in secured:
        responses = next(iter(document["paths"][path].values()))["responses"]
        assert {"401", "403", "503"} <= set(responses), path
    assert "WWW-Authenticate" in document["components"]["responses"]["TokenRefused"]["headers"]


def test_desk_action_needs_the_idempotency_key_and_documents_the_fresh_view_on_conflict():
    document = openapi_document()
    action = document["paths"]["/api/v1/desk/dossiers/{code}/actions"]["post"]
    key = next(p for p in action["parameters"] if p["name"] == "Idempotency-Key")
    assert key["required"] is True
    assert set(action["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert "result_document" not in document["components"]["schemas"]["MultipartAction"]["properties"]
    conflict = OAS30Validator({**action["responses"]["409"]["content"]["application/json"]["schema"],
                               "components": document["components"]})
    current = {"state": "in_progress", "version": 3, "holder_agency_code": "000.00.01.H49", "assignee": None}
    stale = Conflict("The dossier changed meanwhile.", {"current": current})
    conflict.validate(json.loads(error_response(stale).get_data()))
    reused = Conflict("Key reused.", {"Idempotency-Key": ["Used with another body."]})
    conflict.validate(json.loads(error_response(reused).get_data()))
    with pytest.raises(Exception):
        conflict.validate(json.loads(error_response(Conflict("Bad.", {"current": "in_progress"})).get_data()))


def test_pickups_are_documented_from_the_postal_contract():
    document = openapi_document()
    paths, schemas = document["paths"], document["components"]["schemas"]
    quote = paths["/api/v1/pickups/quote"]["get"]
    assert {p["name"]: p["required"] for p in quote["parameters"]} == {"procedure_code": True, "province": True}
    book = paths["/api/v1/pickups"]["post"]
    assert set(book["requestBody"]["content"]) == {"application/json"}
    assert next(p for p in book["parameters"] if p["name"] == "Idempotency-Key")["required"] is False
    assert {"201", "409", "415", "422", "503"} <= set(book["responses"])
    assert "tracking_key" in schemas["BookPickupResult"]["properties"]
    assert {"province", "commune", "street"} <= set(schemas["Address"]["required"])
    lookup = paths["/api/v1/pickups/{pickup_id}"]["get"]
    assert {p["name"] for p in lookup["parameters"]} == {"pickup_id", "X-Tracking-Key", "key"}
    assert {"400", "401", "404", "429"} <= set(lookup["responses"])
    # The dossier's public view carries the result's delivery by post.
    delivery = schemas["PublicDossierView"]["properties"]["delivery"]["anyOf"]
    assert {"$ref": "#/components/schemas/DeliverySummary"} in delivery
    assert "waybill" in schemas["DeliverySummary"]["required"]


@pytest.mark.parametrize("key", ["retry-0001", "a" * 128, "a" * 129, "short", "with space-1", "khóa-thử-1",
                                 "tab\there-1", "~!{}[]-_.:1"])
def test_the_documented_idempotency_key_is_the_one_the_gateway_enforces(key):
    [pattern] = {p["schema"]["pattern"] for path in openapi_document()["paths"].values()
                 for operation in path.values() for p in operation.get("parameters", ())
                 if p["name"] == "Idempotency-Key"}
    try:
        accepted = inputs.idempotency_key(key) == key
    except MalformedInput:
        accepted = False
    assert accepted == (re.search(pattern, key) is not None)
