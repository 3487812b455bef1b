"""A dossier from submission to receipt: checks, appointment date, fees, receipt and event.

`version` is a procedure version as `ProcedureVersionSchema().load` gives it (dates, Decimals).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from motcua.calendar import TIMEZONE, default_calendar, local_date
from motcua.dossier_code import format_dossier_code
from motcua.errors import NotFound, ValidationFailed
from motcua.fees import fee_schedule, fees_due
from motcua.procedures import in_force

from intake.domain.attachments import (
    Attachment, Limits, attachment_refs, check_attachments, decode_uploads, document_problems, receipt_documents,
)
from intake.domain.form_schema import load_applicant, load_form

# Circular 01/2018/TT-VPCP, template 01 "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
# (re-issued by Circular 03/2025/TT-VPCP without a known change to the template).
RECEIPT_TEMPLATE = "circular-01-2018-vpcp/template-01"


@dataclass(frozen=True)
class Prepared:
    """A submission that passed every check, waiting for its code."""

    version: dict
    channel: str
    return_method: str
    applicant: dict
    form: dict
    attachments: list[Attachment]
    received_at: datetime
    appointment_date: date
    fees_vnd: int | None
    notification_preferences: dict | None  # NotificationPreferencesSchema, loaded; None: notify's defaults
    delivery_address: dict | None = None  # AddressSchema, only when the result goes back by post
    paper_documents: tuple[dict, ...] = ()  # handed in on paper (postal channel), as the receipt lists them
    pickup_id: str | None = None  # the pickup that brought the dossier (postal channel)

    @property
    def agency_code(self) -> str:
        return self.version["agency"]["code"]

    @property
    def local_day(self) -> date:
        return local_date(self.received_at)


def published_on(version: dict, day: date) -> bool:
    """Whether a loaded version (ProcedureVersionSchema) is in force on `day` (motcua.procedures' rule)."""
    return in_force(version["status"], version["valid_from"], version["valid_to"], day)


def unknown_procedure(code: str) -> NotFound:
    return NotFound("No published procedure has this code.", {"procedure_code": [f"Unknown procedure {code!r}."]})


def appointment_date(version: dict, received_at: datetime) -> date:
    return default_calendar().appointment_date(
        received_at, version["time_limit"]["working_days"], time.fromisoformat(version["cutoff_hour"]))


def prepare(version: dict, submission: dict, received_at: datetime, limits: Limits) -> Prepared:
    """Every check a dossier must pass before it gets a code.

    All field problems are reported together (422); then sizes (413), then types by content (415).
    """
    problems: dict[str, list[str]] = {}
    channel, return_method = submission["channel"], submission["return_method"]
    channels, return_methods = version["channels"], version["return_methods"]
    if channel not in channels:
        problems["channel"] = [f"This procedure cannot be filed by {channel}; allowed: {', '.join(channels)}."]
    if return_method not in return_methods:
        problems["return_method"] = [
            f"This procedure cannot return its result by {return_method}; allowed: {', '.join(return_methods)}."]
    applicant, found = load_applicant(submission["applicant"])
    problems |= found
    form, found = load_form(version["form_fields"], submission["form"])
    problems |= found
    uploads, found = decode_uploads(submission["attachments"])
    # Only when every file decoded: otherwise the positions in the messages would not match the request.
    problems |= found or document_problems(version["documents"], uploads)
    problems |= delivery_address_problems(return_method, submission["delivery_address"])
    if problems:
        raise ValidationFailed("The dossier has invalid fields.", problems)
    return Prepared(
        version=version, channel=channel, return_method=return_method, applicant=applicant, form=form,
        attachments=check_attachments(version["documents"], uploads, limits), received_at=received_at,
        appointment_date=appointment_date(version, received_at), fees_vnd=fees_due(version["fees"], channel),
        notification_preferences=submission["notification_preferences"],
        delivery_address=submission["delivery_address"],
    )


def delivery_address_problems(return_method: str, address: dict | None) -> dict[str, list[str]]:
    """A result returned by post needs the address to deliver it to; any other keeps no address (data minimisation)."""
    if return_method == "postal" and address is None:
        return {"delivery_address": ["Give the address the result is to be delivered to by post."]}
    if return_method != "postal" and address is not None:
        return {"delivery_address": ["Only a result returned by post needs a delivery address; leave it out."]}
    return {}


def dossier_code(prepared: Prepared, sequence: int) -> str:
    return format_dossier_code(prepared.agency_code, prepared.local_day, sequence)


def receipt(prepared: Prepared, code: str) -> dict:
    """Template 01 as data (motcua_contracts.intake.ReceiptSchema); received_at in Vietnam time."""
    version = prepared.version
    return {
        "template": RECEIPT_TEMPLATE,
        "dossier_code": code,
        "agency_code": version["agency"]["code"],
        "agency_name": version["agency"]["name"],
        "place_name": version["agency"]["place_name"],
        "procedure_code": version["procedure_code"],
        "procedure_name": version["name"],
        "procedure_version": version["version"],
        "applicant_name": prepared.applicant["full_name"],
        "channel": prepared.channel,
        "return_method": prepared.return_method,
        "received_at": prepared.received_at.astimezone(TIMEZONE),
        "appointment_date": prepared.appointment_date,
        "time_limit_working_days": version["time_limit"]["working_days"],
        "documents": receipt_documents(version["documents"], prepared.attachments) + list(prepared.paper_documents),
        "fees_vnd": prepared.fees_vnd,
    }


def submitted_event(prepared: Prepared, code: str, tracking_key_hash: str, attachment_ids: list[str]) -> dict:
    """The data of `dossier_submitted` (motcua_contracts.intake.DossierSubmittedSchema)."""
    version = prepared.version
    return {
        "dossier_code": code,
        "procedure_code": version["procedure_code"],
        "procedure_name": version["name"],
        "procedure_version": version["version"],
        "agency_code": prepared.agency_code,
        "channel": prepared.channel,
        "return_method": prepared.return_method,
        "submitted_at": prepared.received_at,
        "appointment_date": prepared.appointment_date,
        "time_limit_working_days": version["time_limit"]["working_days"],
        "cutoff_hour": version["cutoff_hour"],
        "tracking_key_hash": tracking_key_hash,
        "applicant": prepared.applicant,
        "form": prepared.form,
        "attachments": attachment_refs(attachment_ids, prepared.attachments),
        "fees_vnd": prepared.fees_vnd,
        "workflow": version["workflow"],  # the pinned version's workflow, for status
        "fees": fee_schedule(version["fees"], prepared.channel),  # for the national export
        "notification_preferences": prepared.notification_preferences,  # for notify
        "delivery_address": prepared.delivery_address,  # for postal
        "pickup_id": prepared.pickup_id,  # for postal and notify
    }
