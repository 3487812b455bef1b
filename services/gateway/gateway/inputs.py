"""From HTTP requests to RPC arguments. Every refusal is a 4xx with field-level messages."""
from __future__ import annotations

import base64
import json
import re
from typing import Any

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.wrappers import Request

from motcua.errors import (
    MalformedInput, NotFound, Unauthorized, UnsupportedMediaType, ValidationFailed,
    marshmallow_fields,
)
from motcua_contracts.catalog import ProcedureSearchSchema
from motcua_contracts.common import DOSSIER_CODE
from motcua_contracts.intake import SubmitDossierSchema

DOCUMENT_PART = "document."  # multipart: one file part per attachment, "document.<document_code>"
SUBMISSION_PART = "submission"
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,128}$")


def load(schema: Schema, data: Any, message: str) -> dict:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(message, marshmallow_fields(exc.messages)) from None


def search_query(args: MultiDict) -> dict:
    """Catalogue search parameters; the unset ones are left out of the RPC."""
    query = load(ProcedureSearchSchema(), args.to_dict(), "The search parameters are invalid.")
    return {name: value for name, value in query.items() if value is not None}


def idempotency_key(key: str | None) -> str | None:
    """The Idempotency-Key header (or the portal form's hidden field), when given."""
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise MalformedInput("The Idempotency-Key header is invalid.",
                             {"Idempotency-Key": ["Must be 8 to 128 visible ASCII characters."]})
    return key


def tracking_key(request: Request) -> str:
    key = request.headers.get("X-Tracking-Key") or request.args.get("key")
    if not key:
        raise Unauthorized("This dossier needs its tracking key.",
                           {"key": ["Send the tracking key in the X-Tracking-Key header or the key query parameter."]})
    return key


def dossier_code(code: str) -> str:
    """A string that cannot be a dossier code is simply not found: no RPC for it."""
    try:
        DOSSIER_CODE(code)
    except ValidationError:
        raise NotFound("No dossier matches this code and tracking key.") from None
    return code


def submission(request: Request) -> dict:
    """POST /api/v1/dossiers as the intake RPC wants it: JSON as is, multipart converted."""
    if request.mimetype == "application/json":
        data = parse_json(request.get_data(cache=False), "body")
    elif request.mimetype == "multipart/form-data":
        data = multipart_submission(request.form, request.files)
    else:
        raise UnsupportedMediaType(
            "Send the dossier as application/json or multipart/form-data.",
            {"Content-Type": [f"Unsupported: {request.mimetype or 'none'}."]},
        )
    return SubmitDossierSchema().dump(load(SubmitDossierSchema(), data, "The dossier has invalid fields."))


def parse_json(raw: bytes | str, field: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both
        raise MalformedInput("The request is not valid JSON.", {field: [str(exc)]}) from None


def multipart_submission(form: MultiDict, files: MultiDict) -> dict:
    """The `submission` part (JSON without attachments) plus one attachment per file part."""
    files = files.copy()
    if SUBMISSION_PART in files:  # sent with a filename, as `curl -F submission=@dossier.json` does
        raw: bytes | str | None = files.pop(SUBMISSION_PART).read()
    else:
        raw = form.get(SUBMISSION_PART)
    if raw is None:
        raise ValidationFailed("The dossier has invalid fields.", {SUBMISSION_PART: ["Missing required part."]})
    data = parse_json(raw, SUBMISSION_PART)
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        errors[SUBMISSION_PART] = ["Must be a JSON object."]
    elif "attachments" in data:
        errors[f"{SUBMISSION_PART}.attachments"] = [f"Send files as parts named {DOCUMENT_PART}<document_code>."]
    for name in form:
        if name != SUBMISSION_PART:
            errors[name] = ["Unknown part." if not name.startswith(DOCUMENT_PART) else "Must be a file."]
    attachments, file_errors = attachments_from_files(files)
    errors.update(file_errors)
    if errors:
        raise ValidationFailed("The dossier has invalid fields.", errors)
    return {**data, "attachments": attachments}


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
            attachments.append({
                "document_code": code,
                "filename": upload.filename or "",
                "content_base64": base64.b64encode(content).decode("ascii"),
            })
    return attachments, errors


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
    }
    return SubmitDossierSchema().dump(load(SubmitDossierSchema(), data, "The dossier has invalid fields."))
