"""The OpenAPI 3 document of /api/v1, generated from the contract schemas themselves."""
from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from motcua.idempotency import IDEMPOTENCY_KEY_PATTERN
from motcua.schema_docs import decimal_as_string, text_without_control_characters
from motcua_contracts.catalog import ProcedurePageSchema, ProcedureSearchSchema, ProcedureVersionSchema
from motcua_contracts.desk import DeskActionSchema, DeskDossierDetailSchema, DeskPageSchema, DeskQuerySchema
from motcua_contracts.intake import (
    FiledDossierSchema, NotificationPreferencesSchema, ReceiptSchema, SubmitDossierResultSchema,
    SubmitDossierSchema, SupplementResultSchema, SupplementSchema,
)
from motcua_contracts.notify import NotificationLogEntrySchema
from motcua_contracts.postal import BookPickupResultSchema, BookPickupSchema, PickupQuoteSchema, PickupViewSchema
from motcua_contracts.reports import NationalSyncRecordSchema, OnTimeReportSchema, ReportQuerySchema
from motcua_contracts.status import ActionOutcomeSchema, PublicDossierViewSchema

from gateway.inputs import (
    COMMAND_PART, DOCUMENT_PART, NOTE_PART, REPORT_FORMATS, RESULT_DOCUMENT_PART, SUBMISSION_PART,
    PickupQuoteQuerySchema,
)


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable, machine-readable reason."})
    message = fields.String(required=True)
    fields_ = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.List(fields.String()), required=True,
        metadata={"description": "Messages per input field, e.g. `applicant.full_name` or `Idempotency-Key`."},
    )


class ErrorSchema(Schema):
    """The one error shape of every 4xx and 5xx answer."""

    error = fields.Nested(ErrorDetailSchema, required=True)


class MultipartSubmissionSchema(SubmitDossierSchema):
    """The `submission` part of a multipart POST: the JSON body without attachments."""

    class Meta:
        exclude = ("attachments",)


class MultipartActionSchema(DeskActionSchema):
    """The `command` part of a multipart action: the JSON body; the result document is a file part."""

    class Meta:
        exclude = ("result_document",)


ERRORS = {
    "MalformedInput": "Malformed JSON, an invalid or missing header, or a pickup or attachment id that is not a "
                      "UUID (field-level messages say which).",
    "Unauthorized": "The tracking key is missing (field `key`).",
    "TokenRefused": "No official's token (`missing_token`), or it is invalid (`invalid_token`), expired "
                    "(`token_expired`) or revoked.",
    "Forbidden": "The official's roles or agency do not allow this.",
    "NotFound": "Nothing matches (for a dossier: the code, or the code with this tracking key; for a pickup: "
                "the id with this tracking key; for an attachment: the id among the dossier's files; for a "
                "booking or a quote: the procedure).",
    "Conflict": "The Idempotency-Key was used before with a different body.",
    "PayloadTooLarge": "The body is larger than the server accepts (GATEWAY_MAX_BODY_MB).",
    "UnsupportedMediaType": "The Content-Type is not accepted here.",
    "ValidationFailed": "Fields are missing or invalid; `fields` names each one.",
    "RateLimited": "Too many dossier or pickup lookups from this address.",
    "ServiceUnavailable": "A service behind the gateway is down or too slow; retry later.",
    "DeskUnavailable": "A service behind the gateway is down or too slow, or officials' sign-in is not "
                       "configured on this server (`auth_not_configured`).",
}
STATUS = {"MalformedInput": 400, "Unauthorized": 401, "TokenRefused": 401, "Forbidden": 403, "NotFound": 404,
          "Conflict": 409, "PayloadTooLarge": 413, "UnsupportedMediaType": 415, "ValidationFailed": 422,
          "RateLimited": 429, "ServiceUnavailable": 503, "DeskUnavailable": 503}
BEARER = "officialToken"
HEADERS = {"TokenRefused": {"headers": {"WWW-Authenticate": {
    "description": '`Bearer realm="motcua"`, with `error="invalid_token"` unless no token was sent.',
    "schema": {"type": "string"}}}}}

CODE = {"in": "path", "name": "code", "required": True, "schema": {"type": "string"}}
PICKUP_ID = {"in": "path", "name": "pickup_id", "required": True, "schema": {"type": "string", "format": "uuid"}}
ATTACHMENT_ID = {"in": "path", "name": "attachment_id", "required": True,
                 "schema": {"type": "string", "format": "uuid"}}
TRACKING_KEY = [
    {"in": "header", "name": "X-Tracking-Key", "schema": {"type": "string"},
     "description": "The dossier's tracking key (preferred over the query parameter: it stays out of logs)."},
    {"in": "query", "name": "key", "schema": {"type": "string"},
     "description": "The tracking key, if not in the header."},
]


def _json(schema: Any, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


HTML = {"text/html": {"schema": {"type": "string"}}}
NOTIFICATION_LOG = _json({"type": "array", "items": NotificationLogEntrySchema},
                         "What was sent, when, on which channel, with which outcome (no address, no text).")


def _errors(*names: str) -> dict:
    return {str(STATUS[name]): name for name in names}


def idempotency_header(required: bool) -> dict:
    return {"in": "header", "name": "Idempotency-Key", "required": required,
            "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN}, "description": "Makes retries safe."}


def _pickup_paths(spec: APISpec, lookup_errors: dict) -> None:
    """Postal pickups (Decision 45/2016/QD-TTg): the carrier collects the paper dossier at the citizen's address."""
    spec.path("/api/v1/pickups/quote", operations={"get": {
        "summary": "The postal fee of a pickup for a procedure from a province",
        "parameters": [{"in": "query", "schema": PickupQuoteQuerySchema}],
        "responses": {"200": _json(PickupQuoteSchema, "The fee to send back as `quoted_fee_vnd` when booking."),
                      **_errors("NotFound", "ValidationFailed", "ServiceUnavailable")},
    }})
    spec.path("/api/v1/pickups", operations={"post": {
        "summary": "Book a pickup of the paper dossier at the citizen's address",
        "description": "Refused (422, with the field) when the procedure does not allow the postal channel, the "
                       "address is incomplete or `quoted_fee_vnd` is not the current quote. The dossier gets its "
                       "code when the carrier hands the package to the agency; the tracking key then opens the "
                       "dossier too. A retry with the same `Idempotency-Key` and body returns the first result.",
        "parameters": [idempotency_header(required=False)],
        "requestBody": {"required": True, "content": {"application/json": {"schema": BookPickupSchema}}},
        "responses": {
            "201": {**_json(BookPickupResultSchema, "Booked: the pickup, its waybill, the checklist of documents "
                                                    "to prepare and the tracking key (shown only this once)."),
                    "headers": {"Location": {"description": "The pickup's URL.", "schema": {"type": "string"}}}},
            **_errors("MalformedInput", "NotFound", "Conflict", "PayloadTooLarge", "UnsupportedMediaType",
                      "ValidationFailed", "ServiceUnavailable"),
        },
    }})
    spec.path("/api/v1/pickups/{pickup_id}", operations={"get": {
        "summary": "The citizen's view of a pickup: state, waybill, window, checklist, the dossier code once "
                   "registered",
        "parameters": [PICKUP_ID, *TRACKING_KEY],
        "responses": {"200": _json(PickupViewSchema, "The pickup."), **lookup_errors, **_errors("MalformedInput")},
    }})


def _desk_paths(spec: APISpec) -> None:
    """The officials' routes: each needs the bearer token; status decides what the official may see and do."""
    token_errors = _errors("TokenRefused", "Forbidden", "DeskUnavailable")
    secured = {"security": [{BEARER: []}]}
    conflict = _json({"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message", "fields"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "properties": {"current": {
                           "type": "object", "description": "The dossier now: state, version, holder_agency_code, "
                                                            "assignee."}}}}}}},
        "Someone acted on the dossier first (`conflict`: `fields.current` is the dossier now), the action is "
        "not allowed in its state (`illegal_transition`), or the Idempotency-Key was used with another body.")

    spec.path("/api/v1/desk/dossiers", operations={"get": {
        **secured, "summary": "The caller's agency's work (all of it for a city admin), sorted by due date",
        "parameters": [{"in": "query", "schema": DeskQuerySchema}],
        "responses": {"200": _json(DeskPageSchema, "One page of dossiers."),
                      **token_errors, **_errors("ValidationFailed")},
    }})
    spec.path("/api/v1/desk/dossiers/{code}", operations={"get": {
        **secured, "summary": "A dossier with its history, apologies and paused working days",
        "parameters": [CODE],
        "responses": {"200": _json(DeskDossierDetailSchema, "The dossier."), **token_errors, **_errors("NotFound")},
    }})
    spec.path("/api/v1/desk/dossiers/{code}/notifications", operations={"get": {
        **secured, "summary": "The dossier's notification log, for an official who may see the dossier",
        "parameters": [CODE],
        "responses": {"200": NOTIFICATION_LOG, **token_errors, **_errors("NotFound")},
    }})
    spec.path("/api/v1/desk/dossiers/{code}/filed", operations={"get": {
        **secured, "summary": "What the citizen filed: the applicant, the form's answers, where the result goes, and "
                              "the files, with the dossier and in supplements; for an official who may see the dossier",
        "parameters": [CODE],
        "responses": {"200": _json(FiledDossierSchema, "The form's answers in the order of the procedure's form, "
                                                       "under its labels; the files in the order they were filed, "
                                                       "`supplement_id` null for the dossier's own."),
                      **token_errors, **_errors("NotFound")},
    }})
    spec.path("/api/v1/desk/dossiers/{code}/attachments/{attachment_id}", operations={"get": {
        **secured, "summary": "One file the citizen filed, as the file",
        "description": "Content-Type is the one detected from the file's content when it was filed; PDFs and PNG "
                       "or JPEG images come `inline`, other types as `attachment`, with the filed name in "
                       "`filename*` (RFC 5987).",
        "parameters": [CODE, ATTACHMENT_ID],
        "responses": {"200": {
            "description": "The file's bytes.", "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            "headers": {"Content-Disposition": {"description": "`inline` or `attachment`, with `filename` and "
                                                               "`filename*`.", "schema": {"type": "string"}}}},
            **token_errors, **_errors("MalformedInput", "NotFound")},
    }})
    spec.path("/api/v1/desk/dossiers/{code}/actions", operations={"post": {
        **secured, "summary": "Act on a dossier: accept, refuse, assign, transfer, request a supplement, ...",
        "description": "A retry with the same `Idempotency-Key` returns the first outcome and changes nothing. "
                       "Send `expected_version` to refuse the action if the dossier changed meanwhile.",
        "parameters": [CODE, idempotency_header(required=True)],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": DeskActionSchema},
            "multipart/form-data": {
                "schema": {"type": "object", "required": [COMMAND_PART], "properties": {
                    COMMAND_PART: MultipartActionSchema,
                    RESULT_DOCUMENT_PART: {"type": "string", "format": "binary"}}},
                "encoding": {COMMAND_PART: {"contentType": "application/json"}},
            },
        }},
        "responses": {"200": _json(ActionOutcomeSchema, "Done: the dossier's new state and version."),
                      "409": conflict, **token_errors,
                      **_errors("MalformedInput", "NotFound", "PayloadTooLarge", "UnsupportedMediaType",
                                "ValidationFailed")},
    }})
    report_format = {"in": "query", "name": "format", "schema": {"type": "string", "enum": list(REPORT_FORMATS)},
                     "description": "Overrides the Accept header (`text/csv` or `application/json`)."}
    spec.path("/api/v1/reports/on-time", operations={"get": {
        **secured, "summary": "On-time rate by the national rule, per agency, procedure or for the city (city admins)",
        "parameters": [{"in": "query", "schema": ReportQuerySchema}, report_format],
        "responses": {"200": {"description": "The report; as CSV (UTF-8 with BOM, a header row) on request.",
                              "content": {"application/json": {"schema": OnTimeReportSchema},
                                          "text/csv": {"schema": {"type": "string"}}}},
                      **token_errors, **_errors("ValidationFailed")},
    }})
    spec.path("/api/v1/reports/national-export", operations={"get": {
        **secured, "summary": "Dossiers of a period in the national portal's synchronisation fields (city admins)",
        "parameters": [{"in": "query", "schema": ReportQuerySchema(only=("date_from", "date_to"))}],
        "responses": {"200": {"description": "JSON lines: one `NationalSyncRecord` per line.",
                              "content": {"application/x-ndjson": {"schema": NationalSyncRecordSchema}}},
                      **token_errors, **_errors("ValidationFailed")},
    }})


@cache
def openapi_document() -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Mot Cua public API", version="1.0.0", openapi_version="3.0.3", plugins=[plugin],
        info={"description": "Procedures, dossier submission and tracking. Every error has the shape of "
                             "`Error`. Send `X-Correlation-ID` to follow a request through the services; "
                             "every response carries one."},
    )
    plugin.converter.add_attribute_function(decimal_as_string)
    plugin.converter.add_attribute_function(text_without_control_characters)
    spec.components.schema("Error", schema=ErrorSchema)
    for name, description in ERRORS.items():
        spec.components.response(name, {**_json("Error", description), **HEADERS.get(name, {})})
    spec.components.security_scheme(BEARER, {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An official's token (`python -m gateway.tokens issue`): claims iss, sub, agency, roles, "
                       "jti, iat, exp."})
    rate_limited = {"description": ERRORS["RateLimited"], "content": {"application/json": {"schema": "Error"}},
                    "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}}
    lookup_errors = {**_errors("Unauthorized", "NotFound", "ServiceUnavailable"), "429": rate_limited}

    spec.path("/api/v1/procedures", operations={"get": {
        "summary": "Search the catalogue (text ignores diacritics and case; filters; paginated)",
        "parameters": [{"in": "query", "schema": ProcedureSearchSchema}],
        "responses": {"200": _json(ProcedurePageSchema, "One page of procedures."),
                      **_errors("ValidationFailed", "ServiceUnavailable")},
    }})
    spec.path("/api/v1/procedures/{code}", operations={"get": {
        "summary": "The current published version of a procedure",
        "parameters": [CODE],
        "responses": {"200": _json(ProcedureVersionSchema, "The procedure."),
                      **_errors("NotFound", "ServiceUnavailable")},
    }})
    spec.path("/api/v1/dossiers", operations={"post": {
        "summary": "Submit a dossier",
        "description": "A retry with the same `Idempotency-Key` and body returns the first result, again "
                       "with 201 (the gateway cannot tell a replay from a first answer and need not).",
        "parameters": [idempotency_header(required=False)],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": SubmitDossierSchema},
            "multipart/form-data": {
                "schema": {
                    "type": "object", "required": [SUBMISSION_PART],
                    "properties": {SUBMISSION_PART: MultipartSubmissionSchema},
                    "additionalProperties": {"type": "string", "format": "binary"},
                    "description": f"Besides `{SUBMISSION_PART}`, one file part per attachment named "
                                   f"`{DOCUMENT_PART}<document_code>`; repeat the name for several files.",
                },
                "encoding": {SUBMISSION_PART: {"contentType": "application/json"}},
            },
        }},
        "responses": {
            "201": {**_json(SubmitDossierResultSchema, "Received: the code, the tracking key (shown only "
                                                        "this once), the appointment date and the receipt."),
                    "headers": {"Location": {"description": "The dossier's URL.", "schema": {"type": "string"}}}},
            **_errors("MalformedInput", "NotFound", "Conflict", "PayloadTooLarge", "UnsupportedMediaType",
                      "ValidationFailed", "ServiceUnavailable"),
        },
    }})
    spec.path("/api/v1/dossiers/{code}", operations={"get": {
        "summary": "The citizen's view of a dossier: state, holder, appointment, public history",
        "parameters": [CODE, *TRACKING_KEY],
        "responses": {"200": _json(PublicDossierViewSchema, "The dossier."), **lookup_errors},
    }})
    spec.path("/api/v1/dossiers/{code}/receipt", operations={"get": {
        "summary": "The receipt (template 01) as JSON",
        "parameters": [CODE, *TRACKING_KEY],
        "responses": {"200": _json(ReceiptSchema, "The receipt."), **lookup_errors},
    }})
    spec.path("/dossiers/{code}/receipt", operations={"get": {
        "summary": "The receipt (template 01) as a printable Vietnamese page",
        "parameters": [CODE, *TRACKING_KEY],
        "responses": {"200": {"description": "An HTML page.", "content": HTML},
                      **{status: {"description": "An HTML error page.", "content": HTML}
                         for status in ("401", "404", "429", "503")}},
    }})
    spec.path("/api/v1/dossiers/{code}/supplements", operations={"post": {
        "summary": "The citizen's supplement: the documents the agency asked for",
        "description": "Limited per client like lookups. A retry with the same `Idempotency-Key` and body "
                       "returns the first result.",
        "parameters": [CODE, *TRACKING_KEY, idempotency_header(required=False)],
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": SupplementSchema},
            "multipart/form-data": {"schema": {
                "type": "object", "properties": {NOTE_PART: {"type": "string", "maxLength": 2000}},
                "additionalProperties": {"type": "string", "format": "binary"},
                "description": f"One file part per document named `{DOCUMENT_PART}<document_code>`.",
            }},
        }},
        "responses": {"202": _json(SupplementResultSchema, "Received: the documents as stored."),
                      **lookup_errors, **_errors("MalformedInput", "Conflict", "PayloadTooLarge",
                                                 "UnsupportedMediaType", "ValidationFailed")},
    }})
    spec.path("/api/v1/dossiers/{code}/notifications", operations={"get": {
        "summary": "The dossier's notification log",
        "parameters": [CODE, *TRACKING_KEY],
        "responses": {"200": NOTIFICATION_LOG, **lookup_errors},
    }})
    spec.path("/api/v1/dossiers/{code}/notification-preferences", operations={"put": {
        "summary": "How the citizen hears about the dossier: channels, language, opt-out",
        "description": "Limited per client like lookups. Legally required notices (forms 01-04) are sent "
                       "regardless of the opt-out, on any channel with an address if the chosen ones have none.",
        "parameters": [CODE, *TRACKING_KEY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": NotificationPreferencesSchema}}},
        "responses": {"200": _json(NotificationPreferencesSchema, "The preferences now stored."),
                      **lookup_errors, **_errors("MalformedInput", "PayloadTooLarge", "UnsupportedMediaType",
                                                 "ValidationFailed")},
    }})
    _pickup_paths(spec, lookup_errors)
    _desk_paths(spec)
    spec.path("/api/v1/openapi.json", operations={"get": {
        "summary": "This document", "responses": {"200": _json({"type": "object"}, "OpenAPI 3.")}}})
    status_body = {"type": "object", "properties": {"status": {"type": "string"}, "reason": {"type": "string"}}}
    spec.path("/healthz", operations={"get": {"summary": "Liveness", "responses": {
        "200": _json(status_body, "Alive.")}}})
    spec.path("/readyz", operations={"get": {"summary": "Readiness: the broker is reachable", "responses": {
        "200": _json(status_body, "Ready."), "503": _json(status_body, "Not ready.")}}})
    return spec.to_dict()
