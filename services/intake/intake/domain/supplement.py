"""The citizen's supplement: its files checked like a submission's, its receipt and its event.

Whether the dossier is actually awaiting a supplement is status's business (it owns the
lifecycle): intake accepts the files against the pinned version's document list and announces them.
"""
from __future__ import annotations

from datetime import datetime

from motcua.calendar import TIMEZONE
from motcua.errors import ValidationFailed

from intake.domain.attachments import (
    Attachment, Limits, attachment_refs, check_attachments, decode_uploads, receipt_documents,
)

# A paper the agency asked for that the procedure's document list does not name.
EXTRA_DOCUMENT = {"code": "bo-sung", "name": "Tài liệu bổ sung", "mandatory": False,
                  "accepted_types": ["pdf", "jpg", "png"], "max_size_mb": None}


def check_supplement(documents: list[dict], supplement: dict, limits: Limits) -> list[Attachment]:
    """The supplement's files (a SupplementSchema load) against the pinned version's `documents`.

    Unknown document codes (422), then sizes (413), then types by content (415), as for a dossier;
    nothing is mandatory: the citizen sends what the agency asked for.
    """
    uploads, problems = decode_uploads(supplement["attachments"])
    allowed = [EXTRA_DOCUMENT, *documents]
    known = {doc["code"] for doc in allowed}
    # Only when every file decoded: otherwise the positions in the messages would not match the request.
    problems = problems or {
        f"attachments.{i}.document_code": [(
            f"This procedure asks for no document {upload.document_code!r}; "
            f"send a document it does not list as {EXTRA_DOCUMENT['code']!r}.")]
        for i, upload in enumerate(uploads) if upload.document_code not in known}
    if problems:
        raise ValidationFailed("The supplement has invalid fields.", problems)
    return check_attachments(allowed, uploads, limits)


def supplement_result(dossier_code: str, supplement_id: str, received_at: datetime, documents: list[dict],
                      attachments: list[Attachment]) -> dict:
    """The citizen's answer (SupplementResultSchema); received_at in Vietnam time, like the receipt."""
    return {"dossier_code": dossier_code, "supplement_id": supplement_id,
            "received_at": received_at.astimezone(TIMEZONE),
            "documents": receipt_documents([EXTRA_DOCUMENT, *documents], attachments)}


def supplement_event(result: dict, agency_code: str, received_at: datetime, note: str | None,
                     attachments: list[Attachment], attachment_ids: list[str]) -> dict:
    """The data of `supplement_submitted` (SupplementSubmittedSchema), for the dossier's receiving agency."""
    return {"dossier_code": result["dossier_code"], "supplement_id": result["supplement_id"],
            "agency_code": agency_code, "submitted_at": received_at, "note": note,
            "attachments": attachment_refs(attachment_ids, attachments)}
