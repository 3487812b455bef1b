"""From HTTP requests to RPC arguments. Every refusal is a 4xx with field-level messages."""
from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.wrappers import Request

from motcua.idempotency import KEY_RULE, is_valid_key
from motcua.errors import (
    MalformedInput, NotFound, Unauthorized, UnsupportedMediaType, ValidationFailed,
    marshmallow_fields,
)
from motcua_contracts.catalog import ProcedureSearchSchema
from motcua_contracts.common import DOSSIER_CODE
from motcua_contracts.desk import DeskActionSchema, DeskQuerySchema
from motcua_contracts.base import StrictSchema, shared
from motcua_contracts.intake import NotificationPreferencesSchema, SubmitDossierSchema, SupplementSchema
from motcua_contracts.postal import AddressSchema, BookPickupSchema
from motcua_contracts.reports import ReportQuerySchema

DOCUMENT_PART = "document."  # multipart: one file part per attachment, "document.<document_code>"
SUBMISSION_PART = "submission"
COMMAND_PART = "command"
RESULT_DOCUMENT_PART = "result_document"
NOTE_PART = "note"
REPORT_FORMATS = ("json", "csv")
MAX_JSON_DEPTH = 32  # a submission nests about five levels; a hostile body nests 100,000
# Visible ASCII, 8 to 128 characters: what the check below and the OpenAPI document both say.
VIETNAM = timezone(timedelta(hours=7))  # the portal's times are Vietnam's; no daylight saving
ADDRESS_PARTS = tuple(AddressSchema().fields)


class PickupQuoteQuerySchema(StrictSchema):
    """GET /api/v1/pickups/quote: the procedure and the province the carrier collects from."""

    procedure_code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    province = fields.String(required=True, validate=validate.Length(min=2, max=100))


def load(schema: Schema, data: Any, message: str) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(message, marshmallow_fields(exc.messages)) from None


def search_query(args: MultiDict) -> dict:
    """Catalogue search parameters; the unset ones are left out of the RPC."""
    query = load(shared(ProcedureSearchSchema), args.to_dict(), "The search parameters are invalid.")
    return {name: value for name, value in query.items() if value is not None}


def filled(args: MultiDict) -> MultiDict:
    """A page's filter form without its empty values: a filter left at "all" comes empty, which means no filter."""
    return MultiDict([(name, value) for name, value in args.items(multi=True) if value.strip()])


def idempotency_key(key: str | None) -> str | None:
    """The Idempotency-Key header (or the portal form's hidden field), when given."""
    if key is not None and not is_valid_key(key):
        raise MalformedInput("The Idempotency-Key header is invalid.", {"Idempotency-Key": [KEY_RULE]})
    return key


def required_idempotency_key(key: str | None) -> str:
    """Officials' actions change a dossier: a retry must never act twice, so the key is not optional."""
    if key is None:
        raise MalformedInput("This action needs an Idempotency-Key header.",
                             {"Idempotency-Key": ["Missing; send a fresh random key per action."]})
    return idempotency_key(key)


def tracking_key(request: Request, what: str = "dossier") -> str:
    key = request.headers.get("X-Tracking-Key") or request.args.get("key")
    if not key:
        raise Unauthorized(f"This {what} needs its tracking key.",
                           {"key": ["Send the tracking key in the X-Tracking-Key header or the key query parameter."]})
    return key


def dossier_code(code: str, not_found: str = "No dossier matches this code and tracking key.") -> str:
    """A string that cannot be a dossier code is simply not found: no RPC for it."""
    try:
        DOSSIER_CODE(code)
    except ValidationError:
        raise NotFound(not_found) from None
    return code


def pickup_id(value: str) -> str:
    """A pickup id is a UUID; anything else is refused before any RPC."""
    return _uuid(value, "pickup_id", "Not a pickup id.")


def attachment_id(value: str) -> str:
    """An attachment id is a UUID; anything else is refused before any RPC."""
    return _uuid(value, "attachment_id", "Not an attachment id.")


def _uuid(value: str, field: str, message: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise MalformedInput(message, {field: ["Must be a UUID."]}) from None


def pickup_quote_query(args: MultiDict) -> dict:
    return load(shared(PickupQuoteQuerySchema), args.to_dict(), "The quote parameters are invalid.")


def pickup_booking(request: Request) -> dict:
    """POST /api/v1/pickups: JSON only (there is nothing to upload: the documents travel on paper)."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the booking as application/json.",
                                   {"Content-Type": [f"Unsupported: {request.mimetype or 'none'}."]})
    return booking(parse_json(request.get_data(cache=False), "body"))


def booking(data: Any) -> dict:
    return shared(BookPickupSchema).dump(load(shared(BookPickupSchema), data, "The booking has invalid fields."))


def desk_query(args: MultiDict) -> dict:
    """The desk's filters (`state` may repeat) as JSON types; the unset ones are left out of the RPC."""
    data: dict[str, Any] = args.to_dict()
    if "state" in args:
        data["state"] = args.getlist("state")
    query = shared(DeskQuerySchema).dump(load(shared(DeskQuerySchema), data, "The desk filters are invalid."))
    return {name: value for name, value in query.items() if value is not None}


def report_query(args: MultiDict, fields: tuple[str, ...] | None = None) -> dict:
    """A report's period (and grouping); `format` is the gateway's, not status's."""
    schema = ReportQuerySchema(only=fields)
    data = {name: value for name, value in args.to_dict().items() if name != "format"}
    return schema.dump(load(schema, data, "The report parameters are invalid."))


def report_format(request: Request) -> str:
    """`format=json|csv` if given, else what the Accept header prefers; JSON by default."""
    requested = request.args.get("format")
    if requested is None:
        return "csv" if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv" else "json"
    if requested not in REPORT_FORMATS:
        raise ValidationFailed("The report parameters are invalid.",
                               {"format": [f"Must be one of: {', '.join(REPORT_FORMATS)}."]})
    return requested


def form_parts(request: Request) -> tuple[MultiDict, MultiDict]:
    """A form body's fields and files, every part named: Werkzeug keys a part whose Content-Disposition
    names nothing (or nothing it can read) as None, which no later step expects."""
    form, files = request.form, request.files
    if None in form or None in files:
        raise MalformedInput("A part of the form has no name.", {"body": ["Every part needs a name."]})
    return form, files


def body(request: Request, what: str, from_multipart: Callable[[MultiDict, MultiDict], dict]) -> Any:
    """A JSON body as is, or a multipart body through `from_multipart(form, files)`."""
    if request.mimetype == "application/json":
        return parse_json(request.get_data(cache=False), "body")
    if request.mimetype == "multipart/form-data":
        return from_multipart(*form_parts(request))
    raise UnsupportedMediaType(
        f"Send the {what} as application/json or multipart/form-data.",
        {"Content-Type": [f"Unsupported: {request.mimetype or 'none'}."]},
    )


def submission(request: Request) -> dict:
    """POST /api/v1/dossiers as the intake RPC wants it: JSON as is, multipart converted."""
    data = body(request, "dossier", multipart_submission)
    return shared(SubmitDossierSchema).dump(load(shared(SubmitDossierSchema), data, "The dossier has invalid fields."))


def desk_action(request: Request) -> dict:
    """POST /api/v1/desk/dossiers/{code}/actions: JSON, or a `command` part plus a `result_document` file."""
    data = body(request, "action", multipart_action)
    return shared(DeskActionSchema).dump(load(shared(DeskActionSchema), data, "The action has invalid fields."))


def supplement(request: Request) -> dict:
    """POST /api/v1/dossiers/{code}/supplements: JSON with base64, or `note` plus `document.<code>` files."""
    data = body(request, "supplement", multipart_supplement)
    return shared(SupplementSchema).dump(load(shared(SupplementSchema), data, "The supplement has invalid fields."))


def notification_preferences(request: Request) -> dict:
    """PUT /api/v1/dossiers/{code}/notification-preferences: JSON only."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the preferences as application/json.",
                                   {"Content-Type": [f"Unsupported: {request.mimetype or 'none'}."]})
    data = parse_json(request.get_data(cache=False), "body")
    schema = NotificationPreferencesSchema()
    return schema.dump(load(schema, data, "The preferences have invalid fields."))


def nesting_depth(value: Any) -> int:
    """How deeply objects and arrays nest in a parsed JSON value, counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            pending.extend((inner, depth + 1) for inner in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(raw: bytes | str, field: str) -> Any:
    """The JSON value of a body or part, nested no deeper than MAX_JSON_DEPTH (what every later step, from
    validation to the RPC's serialiser, may then walk recursively)."""
    too_deep = MalformedInput("The request's JSON is nested too deeply.",
                              {field: [f"Nested deeper than {MAX_JSON_DEPTH} levels."]})
    try:
        value = json.loads(raw)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both
        raise MalformedInput("The request is not valid JSON.", {field: [str(exc)]}) from None
    if nesting_depth(value) > MAX_JSON_DEPTH:
        raise too_deep
    return value


def json_part(form: MultiDict, files: MultiDict, name: str, message: str) -> tuple[Any, MultiDict]:
    """The JSON object in part `name`, and the other file parts."""
    files = files.copy()
    if name in files:  # sent with a filename, as `curl -F command=@action.json` does
        raw: bytes | str | None = files.pop(name).read()
    else:
        raw = form.get(name)
    if raw is None:
        raise ValidationFailed(message, {name: ["Missing required part."]})
    data = parse_json(raw, name)
    if not isinstance(data, dict):
        raise ValidationFailed(message, {name: ["Must be a JSON object."]})
    return data, files


def unknown_form_parts(form: MultiDict, known: tuple[str, ...]) -> dict[str, list[str]]:
    return {name: ["Unknown part." if not name.startswith(DOCUMENT_PART) else "Must be a file."]
            for name in form if name not in known}


def multipart_submission(form: MultiDict, files: MultiDict) -> dict:
    """The `submission` part (JSON without attachments) plus one attachment per file part."""
    message = "The dossier has invalid fields."
    data, files = json_part(form, files, SUBMISSION_PART, message)
    errors = unknown_form_parts(form, (SUBMISSION_PART,))
    if "attachments" in data:
        errors[f"{SUBMISSION_PART}.attachments"] = [f"Send files as parts named {DOCUMENT_PART}<document_code>."]
    attachments, file_errors = attachments_from_files(files)
    errors.update(file_errors)
    if errors:
        raise ValidationFailed(message, errors)
    return {**data, "attachments": attachments}


def multipart_action(form: MultiDict, files: MultiDict) -> dict:
    """The `command` part (JSON) plus, for `complete`, the result document as a file part."""
    message = "The action has invalid fields."
    command, files = json_part(form, files, COMMAND_PART, message)
    errors = unknown_form_parts(form, (COMMAND_PART,))
    if RESULT_DOCUMENT_PART in form:
        errors[RESULT_DOCUMENT_PART] = ["Must be a file."]
    if RESULT_DOCUMENT_PART in command:
        errors[f"{COMMAND_PART}.{RESULT_DOCUMENT_PART}"] = [f"Send the file as the part {RESULT_DOCUMENT_PART}."]
    upload: FileStorage
    for name, upload in files.items(multi=True):
        content = upload.read()
        if name != RESULT_DOCUMENT_PART or RESULT_DOCUMENT_PART in command:
            errors[name] = ["Unknown part, or sent twice."]
        elif upload.filename or content:  # a browser's empty file input sends neither
            command[RESULT_DOCUMENT_PART] = file_payload(upload.filename, content)
    if errors:
        raise ValidationFailed(message, errors)
    return command


def multipart_supplement(form: MultiDict, files: MultiDict) -> dict:
    """The optional `note` field plus one attachment per `document.<code>` file part."""
    errors = unknown_form_parts(form, (NOTE_PART,))
    attachments, file_errors = attachments_from_files(files)
    errors.update(file_errors)
    if errors:
        raise ValidationFailed("The supplement has invalid fields.", errors)
    return {"note": form.get(NOTE_PART) or None, "attachments": attachments}


def attachments_from_files(files: MultiDict) -> tuple[list[dict], dict[str, list[str]]]:
    """File parts `document.<code>` (repeatable) in the RPC shape: bytes as base64."""
    attachments: list[dict] = []
    errors: dict[str, list[str]] = {}
    upload: FileStorage
    for name, upload in files.items(multi=True):
        content = upload.read()
        code = name[len(DOCUMENT_PART):] if name.startswith(DOCUMENT_PART) else ""
        if not code:
            errors[name] = [f"Unknown part; files go in parts named {DOCUMENT_PART}<document_code>."]
        elif not upload.filename and not content:
            continue  # a browser's empty file input
        else:
            attachments.append({"document_code": code, **file_payload(upload.filename, content)})
    return attachments, errors


def file_payload(filename: str | None, content: bytes) -> dict:
    """A file as the RPCs carry it: its name and its bytes as base64."""
    return {"filename": filename or "", "content_base64": base64.b64encode(content).decode("ascii")}


def portal_submission(procedure_code: str, form: MultiDict, files: MultiDict) -> dict:
    """The portal's HTML form (flat fields `applicant.*`, `form.*`, file inputs) in the RPC shape."""
    attachments, errors = attachments_from_files(files)
    if errors:
        raise ValidationFailed("The dossier has invalid fields.", errors)
    data = {
        "procedure_code": procedure_code,
        "return_method": form.get("return_method", "counter"),
        "applicant": {name: form.get(f"applicant.{name}") or None for name in ("full_name", "phone", "email")},
        "form": {name[len("form."):]: value for name, value in form.items() if name.startswith("form.") and value},
        "attachments": attachments,
        "delivery_address": (portal_address(form, "delivery_address")
                             if form.get("return_method") == "postal" else None),
    }
    return shared(SubmitDossierSchema).dump(load(shared(SubmitDossierSchema), data, "The dossier has invalid fields."))


def portal_supplement(form: MultiDict, files: MultiDict) -> dict:
    """The tracking page's supplement form (its other fields are the page's: code, key, idempotency key):
    `note` and `document.<code>` files, read as the API's multipart supplement."""
    data = multipart_supplement(MultiDict({NOTE_PART: form.get(NOTE_PART, "").strip()}), files)
    return shared(SupplementSchema).dump(load(shared(SupplementSchema), data, "The supplement has invalid fields."))


def portal_address(form: MultiDict, prefix: str) -> dict | None:
    """Flat fields `<prefix>.province` etc.; None when all are empty (then the contract decides if it is needed)."""
    address = {part: form.get(f"{prefix}.{part}", "").strip() for part in ADDRESS_PARTS}
    return address if any(address.values()) else None


def portal_window(form: MultiDict) -> dict | None:
    """The portal's day and hours, in Vietnam time, as the contract's window; None if they cannot be read."""
    try:
        day = date.fromisoformat(form.get("window.date", ""))
        start, end = (time.fromisoformat(form.get(f"window.{part}", "")) for part in ("start", "end"))
    except ValueError:
        return None
    return {"start": datetime.combine(day, start, VIETNAM).isoformat(),
            "end": datetime.combine(day, end, VIETNAM).isoformat()}


def portal_booking(form: MultiDict, quoted: bool = True) -> dict:
    """The portal's booking form (flat fields) in the RPC shape, every field's refusal at once.

    Before the quote (`quoted=False`) there is no fee to check yet: it stands at 0."""
    return_method = form.get("return_method", "counter")
    window = portal_window(form)
    data = {
        "procedure_code": form.get("procedure_code", ""),
        "applicant": {
            "full_name": form.get("applicant.full_name", "").strip() or None,
            "phone": "".join(form.get("applicant.phone", "").split()) or None,  # "0912 345 678" is a phone too
            "email": form.get("applicant.email", "").strip() or None,
        },
        "address": portal_address(form, "address") or {},
        "window": window,
        "quoted_fee_vnd": form.get("quoted_fee_vnd", "") if quoted else 0,
        "return_method": return_method,
        "delivery_address": portal_address(form, "delivery_address") if return_method == "postal" else None,
        "note": form.get("note", "").strip() or None,
    }
    try:
        return shared(BookPickupSchema).dump(shared(BookPickupSchema).load(data))
    except ValidationError as exc:
        errors = marshmallow_fields(exc.messages)
    if window is None:
        errors = {name: messages for name, messages in errors.items() if not name.startswith("window")}
        errors["window"] = ["Choose the day and the hours."]
    raise ValidationFailed("The booking has invalid fields.", errors)
