"""The citizen's notices: Vietnamese Jinja2 templates, versioned, rendered for SMS or e-mail.

Files live in `notify/templates/<language>/`: `<id>.sms.j2`, `<id>.subject.j2` and
`<id>.txt.j2` (e-mail body, extending `_email.txt.j2`); the HTML alternative is the plain body
laid out by `_email.html.j2` (autoescaped). Only Vietnamese exists today: a language without
its own file falls back to `vi`.

Bump a template's `version` whenever its text changes: the notification log records
(template_id, template_version) so an audit can say which wording a citizen received.

Privacy (ARCHITECTURE.md section 7): a template sees only the keys its spec lists, so a
full name, address or tracking key left in the context can never leak into a message;
`given_name` is cut to the given name even when a full name is passed.
"""
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2

from notify.domain.sms import measure, strip_diacritics

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("sms", "email")
# Every template: dossier_code, given_name, portal_url (required); procedure_name and
# agency_name / agency_code (optional: status events carry only codes).
COMMON_REQUIRED = ("dossier_code", "given_name", "portal_url")
COMMON_OPTIONAL = ("procedure_name", "agency_name", "agency_code")


@dataclass(frozen=True)
class TemplateSpec:
    version: int
    title: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    required_any: tuple[str, ...] = ()  # at least one of these must be present


TEMPLATES: dict[str, TemplateSpec] = {
    # Circular 01/2018/TT-VPCP forms 01-04.
    "receipt": TemplateSpec(1, "Mẫu 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                            required=("appointment_date",)),
    "supplement_request": TemplateSpec(1, "Mẫu 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
                                       required=("missing_items",), optional=("reason",)),
    "refusal": TemplateSpec(1, "Mẫu 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ", required=("reason",)),
    "apology": TemplateSpec(1, "Mẫu 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả",
                            required=("new_appointment_date",), optional=("appointment_date", "reason")),
    "result_ready": TemplateSpec(1, "Thông báo có kết quả", optional=("collection_point",),
                                 required_any=("collection_point", "agency_name", "agency_code")),
    "result_shipped": TemplateSpec(1, "Kết quả đã gửi qua bưu chính", required=("waybill",),
                                   optional=("carrier",)),
    "result_delivered": TemplateSpec(1, "Kết quả đã giao", optional=("waybill",)),
    "pickup_booked": TemplateSpec(1, "Hẹn bưu điện nhận hồ sơ tại nhà", required=("pickup_date",),
                                  optional=("waybill",)),
    "pickup_collected": TemplateSpec(1, "Bưu điện đã nhận hồ sơ", optional=("waybill",)),
}
LEGALLY_REQUIRED = frozenset({"receipt", "supplement_request", "refusal", "apology"})

EVENT_TEMPLATES: dict[tuple[str, str], str | None] = {
    # intake's submission only records the contact: the receipt (01) goes when status receives it.
    ("intake", "dossier_submitted"): None,
    ("status", "dossier_received"): "receipt",
    ("status", "supplement_requested"): "supplement_request",
    ("status", "dossier_refused"): "refusal",
    ("status", "dossier_overdue"): "apology",
    ("status", "dossier_completed"): "result_ready",
    ("postal", "result_shipped"): "result_shipped",
    ("postal", "result_delivered"): "result_delivered",
    ("postal", "pickup_booked"): "pickup_booked",
    ("postal", "pickup_collected"): "pickup_collected",
}


@dataclass(frozen=True)
class Rendered:
    template_id: str
    template_version: int
    channel: str
    subject: str | None
    body: str
    html: str | None
    length: int  # SMS: GSM-7 septets or UCS-2 code units; e-mail: characters of the body
    segments: int  # SMS parts billed; 0 for e-mail
    encoding: str  # "GSM-7" | "UCS-2" for SMS; "UTF-8" for e-mail


def template_for(producer: str, event_type: str) -> str | None:
    """The template an event triggers, or None when the event sends nothing."""
    return EVENT_TEMPLATES.get((producer, event_type))


def given_name(full_name: str) -> str:
    """Vietnamese names run family, middle, given: 'Nguyễn Văn An' -> 'An'."""
    parts = full_name.split()
    return parts[-1] if parts else ""


def tracking_url(portal_url: str, dossier_code: str) -> str:
    """The public status page; it asks for the tracking key itself, which no message carries."""
    return f"{portal_url.rstrip('/')}/tra-cuu?code={quote(dossier_code, safe='')}"


def _vn_date(value: date | datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(VIETNAM)
    return value.strftime("%d/%m/%Y")


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("notify", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=jinja2.StrictUndefined,  # a name the template uses but nobody supplied is an error
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["vn_date"] = _vn_date


def _present(value: Any) -> bool:
    return value is not None and value != "" and not (isinstance(value, (list, tuple)) and not value)


def _template_context(template_id: str, spec: TemplateSpec, context: Mapping[str, Any]) -> dict[str, Any]:
    for key in COMMON_REQUIRED + spec.required:
        if not _present(context.get(key)):
            raise ValueError(f"template {template_id!r} needs context key {key!r}")
    if spec.required_any and not any(_present(context.get(key)) for key in spec.required_any):
        raise ValueError(f"template {template_id!r} needs one of the context keys {', '.join(spec.required_any)}")
    allowed = COMMON_REQUIRED + COMMON_OPTIONAL + spec.required + spec.optional
    values = {key: context.get(key) for key in allowed}
    values["given_name"] = given_name(str(values["given_name"]))
    values["tracking_url"] = tracking_url(str(values["portal_url"]), str(values["dossier_code"]))
    values["agency"] = values["agency_name"] or values["agency_code"]
    return values


def _render_file(name: str, language: str, values: dict[str, Any]) -> str:
    try:
        return _env.select_template([f"{language}/{name}", f"vi/{name}"]).render(values)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"{name}: {exc.message}") from exc


def render(template_id: str, channel: str, context: Mapping[str, Any], *, ascii_sms: bool = False,
           language: str = "vi") -> Rendered:
    """One message for one channel; `ascii_sms` drops diacritics so the SMS fits GSM-7."""
    spec = TEMPLATES.get(template_id)
    if spec is None:
        raise ValueError(f"unknown template {template_id!r}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    values = _template_context(template_id, spec, context)
    if channel == "sms":
        # One line: line breaks cost characters and render unevenly on handsets.
        body = " ".join(_render_file(f"{template_id}.sms.j2", language, values).split())
        if ascii_sms:
            body = strip_diacritics(body)
        encoding, length, segments = measure(body)
        return Rendered(template_id, spec.version, channel, None, body, None, length, segments, encoding)
    subject = " ".join(_render_file(f"{template_id}.subject.j2", language, values).split())
    body = _render_file(f"{template_id}.txt.j2", language, values).strip() + "\n"
    paragraphs = [block.splitlines() for block in body.split("\n\n") if block.strip()]
    html = _render_file("_email.html.j2", language,
                        {**values, "subject": subject, "paragraphs": paragraphs, "language": language})
    return Rendered(template_id, spec.version, channel, subject, body, html, len(body), 0, "UTF-8")
