"""Attachments: which documents, how large, and what they really are (by content, not by name)."""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

import filetype

from motcua.errors import PayloadTooLarge, UnsupportedMediaType

MIB = 1024 * 1024  # "MB" in limits and messages means 2**20 bytes

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xml": "application/xml",
}
DESCRIPTIONS = {"pdf": "a PDF document", "jpg": "a JPEG image", "png": "a PNG image", "docx": "a Word document",
                "xml": "an XML document"}


@dataclass(frozen=True)
class Upload:
    document_code: str
    filename: str
    content: bytes


@dataclass(frozen=True)
class Attachment:
    document_code: str
    filename: str
    file_type: str  # a key of CONTENT_TYPES
    size_bytes: int
    sha256: str
    content: bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.file_type]


@dataclass(frozen=True)
class Limits:
    file_mb: float = 10.0  # when the document sets no max_size_mb
    dossier_mb: float = 30.0


def decode_uploads(raw: list[dict]) -> tuple[list[Upload], dict[str, list[str]]]:
    """Base64 to bytes; problems keyed "attachments.<i>.content_base64"."""
    uploads, problems = [], {}
    for position, item in enumerate(raw):
        try:
            content = base64.b64decode(item["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            problems[f"attachments.{position}.content_base64"] = ["Not valid base64."]
            continue
        uploads.append(Upload(item["document_code"], item["filename"], content))
    return uploads, problems


def document_problems(documents: list[dict], uploads: list[Upload]) -> dict[str, list[str]]:
    """Attachments for documents the procedure does not ask for, and mandatory documents missing.

    A missing document is keyed "attachments.<document code>" and named in the message, so the
    citizen learns which paper to add.
    """
    known = {doc["code"] for doc in documents}
    problems = {f"attachments.{i}.document_code": [f"This procedure asks for no document {upload.document_code!r}."]
                for i, upload in enumerate(uploads) if upload.document_code not in known}
    attached = {upload.document_code for upload in uploads}
    for doc in documents:
        if doc["mandatory"] and doc["code"] not in attached:
            problems[f"attachments.{doc['code']}"] = [f"The required document \"{doc['name']}\" is missing."]
    return problems


def detect_type(content: bytes) -> str | None:
    """The file type by its content: a key of CONTENT_TYPES, or None."""
    kind = filetype.guess(content)
    if kind is not None:
        return kind.extension if kind.extension in CONTENT_TYPES else None
    # filetype has no XML matcher; the XML declaration must open the document (after a UTF-8 BOM).
    return "xml" if content.removeprefix(b"\xef\xbb\xbf").startswith(b"<?xml") else None


def check_attachments(documents: list[dict], uploads: list[Upload], limits: Limits) -> list[Attachment]:
    """Sizes, then types; raises PayloadTooLarge or UnsupportedMediaType with "attachments.<i>" messages.

    Call after `document_problems` found nothing: every upload names a known document.
    """
    by_code = {doc["code"]: doc for doc in documents}
    too_large: dict[str, list[str]] = {}
    for position, upload in enumerate(uploads):
        limit_mb = by_code[upload.document_code]["max_size_mb"] or limits.file_mb
        if len(upload.content) > limit_mb * MIB:
            too_large[f"attachments.{position}"] = [
                f"The file is {len(upload.content) / MIB:.1f} MB; this document allows at most {limit_mb:g} MB."]
    total = sum(len(upload.content) for upload in uploads)
    if total > limits.dossier_mb * MIB:
        too_large["attachments"] = [
            f"The attachments total {total / MIB:.1f} MB; a dossier allows at most {limits.dossier_mb:g} MB."]
    if too_large:
        raise PayloadTooLarge("An attachment is too large.", too_large)

    checked, wrong_type = [], {}
    for position, upload in enumerate(uploads):
        accepted = by_code[upload.document_code]["accepted_types"]
        found = detect_type(upload.content)
        if found not in accepted:
            what = DESCRIPTIONS[found] if found else "of a type that could not be recognised"
            wrong_type[f"attachments.{position}"] = [f"The file is {what}; this document accepts: {', '.join(accepted)}."]
            continue
        checked.append(Attachment(upload.document_code, upload.filename, found, len(upload.content),
                                  hashlib.sha256(upload.content).hexdigest(), upload.content))
    if wrong_type:
        raise UnsupportedMediaType("An attachment is not of an accepted type.", wrong_type)
    return checked


def attachment_refs(attachment_ids: list[str], attachments: list[Attachment]) -> list[dict]:
    """The files as events name them (motcua_contracts.common.AttachmentRefSchema)."""
    return [{"attachment_id": attachment_id, "document_code": a.document_code, "filename": a.filename,
             "content_type": a.content_type, "size_bytes": a.size_bytes, "sha256": a.sha256}
            for attachment_id, a in zip(attachment_ids, attachments)]


def receipt_documents(documents: list[dict], attachments: list[Attachment]) -> list[dict]:
    """The files as a receipt lists them, under their documents' names (ReceiptDocumentSchema)."""
    names = {doc["code"]: doc["name"] for doc in documents}
    return [{"document_code": a.document_code, "name": names[a.document_code], "filename": a.filename,
             "sha256": a.sha256} for a in attachments]
