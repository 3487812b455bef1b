"""What a citizen filed for a dossier, as the officials' desk reads it: the form's answers under the pinned procedure
version's labels, and the files (those filed with the dossier, then those of each supplement) under its documents'
names."""
from __future__ import annotations

from collections.abc import Mapping

from motcua.calendar import TIMEZONE

from intake.domain.supplement import EXTRA_DOCUMENT

# What the desk is shown of an attachment row as stored; never its storage key.
LISTED = ("id", "document_code", "filename", "content_type", "size_bytes", "sha256", "supplement_id")


def filed_attachments(documents: list[dict], rows: list[Mapping]) -> list[dict]:
    """DossierAttachmentSchema data from attachment rows that carry `submitted_at` (the dossier's, or the
    supplement's that brought the file), `documents` being the pinned version's list.

    In the order they were filed; within one filing, in the order of the procedure's document list (a
    supplement's extra papers last), as the official checks them against it. Times in Vietnam time, like
    the receipt.
    """
    names = {doc["code"]: doc["name"] for doc in (EXTRA_DOCUMENT, *documents)}  # the version's name wins
    position = {doc["code"]: index for index, doc in enumerate(documents)}

    def filing_order(row: Mapping) -> tuple:
        return (row["submitted_at"], row["supplement_id"] or "", position.get(row["document_code"], len(documents)),
                row["filename"], row["id"])

    return [{**{name: row[name] for name in LISTED}, "document_name": names[row["document_code"]],
             "submitted_at": row["submitted_at"].astimezone(TIMEZONE)} for row in sorted(rows, key=filing_order)]


def filed_answers(form_fields: list[dict], form: Mapping) -> list[dict]:
    """FiledAnswerSchema data: the answers in the order of the version's form, each under its field's label.

    Intake accepts answers to the version's fields only; one it does not list is still shown, under its name,
    rather than hidden from the official.
    """
    listed = [{"name": field["name"], "label": field["label"], "type": field["type"], "value": form[field["name"]]}
              for field in form_fields if field["name"] in form]
    known = {field["name"] for field in form_fields}
    return listed + [{"name": name, "label": name, "type": "text", "value": value}
                     for name, value in form.items() if name not in known]
