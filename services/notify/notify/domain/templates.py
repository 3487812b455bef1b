"""The citizen's notices: Vietnamese Jinja2 templates, versioned, rendered for SMS or e-mail.

Files live in `notify/templates/<language>/`: `<id>.sms.j2`, `<id>.subject.j2` and
`<id>.txt.j2` (e-mail body, extending its layout's `.txt.j2`); the HTML alternative is the plain
body laid out by the layout's `.html.j2` (autoescaped). Only Vietnamese exists today: a language
without its own file falls back to `vi`.

Agencies are named by their names (notify.agencies asks catalog), never by their codes: a template
sees no agency code, and says "cơ quan giải quyết" when no name is known.

A notice is about a dossier, named by its code, or about a pickup (Decision 45/2016/QD-TTg),
which has no dossier code until the agency registers the handed-over package: pickup notices
name the pickup's waybill and link to the pickup's tracking page instead, with a layout of their own.

Bump a template's `version` whenever its text changes: the notification log records
(template_id, template_version) so an audit can say which wording a citizen received.

Privacy (docs/architecture.md section 7): a template sees only the keys its spec lists, so a
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

from motcua.vietnamese import number_vn, working_days

from notify.domain.sms import measure, strip_diacritics

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
CHANNELS = ("sms", "email")
# Every template: given_name, portal_url (required); procedure_name and agency_name (optional); and what
# names the notice's subject, per ABOUT.
COMMON_REQUIRED = ("given_name", "portal_url")
COMMON_OPTIONAL = ("procedure_name", "agency_name")
ABOUT_REQUIRED = {"dossier": ("dossier_code",), "pickup": ("pickup_id", "waybill")}
# The e-mail layout of each kind of notice: `<layout>.txt.j2` and `<layout>.html.j2`.
LAYOUTS = {"dossier": "_email", "pickup": "_pickup_email"}


@dataclass(frozen=True)
class TemplateSpec:
    version: int
    title: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    about: str = "dossier"  # a key of ABOUT_REQUIRED

    @property
    def required_keys(self) -> tuple[str, ...]:
        return COMMON_REQUIRED + ABOUT_REQUIRED[self.about] + self.required

    @property
    def layout(self) -> str:
        return LAYOUTS[self.about]


TEMPLATES: dict[str, TemplateSpec] = {
    # Not a form of the Circular: an online dossier is only "tiếp nhận" (form 01) once the one-stop officer
    # has checked it, so until then the citizen is told it arrived and is waiting, with its code and link.
    "filed_online": TemplateSpec(1, "Thông báo đã nhận hồ sơ nộp trực tuyến, chờ tiếp nhận",
                                 required=("submitted_at", "time_limit_working_days")),
    # Circular 01/2018/TT-VPCP forms 01-04.
    # `channel` postal: the citizen learns the code of the dossier the post office handed over.
    "receipt": TemplateSpec(3, "Mẫu 01: Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
                            required=("appointment_date",), optional=("channel",)),
    "supplement_request": TemplateSpec(1, "Mẫu 02: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
                                       required=("missing_items",), optional=("reason",)),
    "refusal": TemplateSpec(2, "Mẫu 03: Phiếu từ chối tiếp nhận giải quyết hồ sơ", required=("reason",)),
    "apology": TemplateSpec(2, "Mẫu 04: Phiếu xin lỗi và hẹn lại ngày trả kết quả",
                            required=("new_appointment_date",), optional=("appointment_date", "reason")),
    # `return_method` postal: the result goes by post (result_shipped follows), so no counter wording.
    "result_ready": TemplateSpec(3, "Thông báo có kết quả", optional=("collection_point", "return_method")),
    "result_shipped": TemplateSpec(1, "Kết quả đã gửi qua bưu chính", required=("waybill",),
                                   optional=("carrier",)),
    "delivery_attempt_failed": TemplateSpec(2, "Giao kết quả không thành công",
                                            required=("waybill", "attempts", "max_attempts"),
                                            optional=("reason", "carrier")),
    # The time only: the name of whoever signed for it is proof for the carrier, not for a message.
    "result_delivered": TemplateSpec(2, "Kết quả đã giao", required=("delivered_at",), optional=("waybill",)),
    "result_returned_to_counter": TemplateSpec(2, "Kết quả chuyển về Bộ phận Một cửa",
                                               optional=("waybill", "attempts", "collection_point")),
    "pickup_booked": TemplateSpec(3, "Hẹn bưu điện nhận hồ sơ tại nhà", required=("window",), about="pickup"),
    "pickup_collected": TemplateSpec(3, "Bưu điện đã nhận hồ sơ", optional=("checklist", "fees_collected_vnd"),
                                     about="pickup"),
    "pickup_collection_failed": TemplateSpec(1, "Bưu điện chưa nhận được hồ sơ", optional=("reason",),
                                             about="pickup"),
}
LEGALLY_REQUIRED = frozenset({"receipt", "supplement_request", "refusal", "apology"})

# intake's dossier_submitted is told by filing_notice(channel): whether depends on how the dossier came.
EVENT_TEMPLATES: dict[tuple[str, str], str | None] = {
    ("status", "dossier_received"): "receipt",
    ("status", "supplement_requested"): "supplement_request",
    ("status", "dossier_refused"): "refusal",
    ("status", "dossier_overdue"): "apology",
    ("status", "dossier_completed"): "result_ready",
    ("postal", "pickup_booked"): "pickup_booked",
    ("postal", "pickup_collected"): "pickup_collected",
    ("postal", "pickup_collection_failed"): "pickup_collection_failed",
    # The handover is told by the receipt (01) with the dossier code, when status receives the dossier.
    ("postal", "pickup_handed_over"): None,
    ("postal", "delivery_ordered"): None,  # result_shipped follows with the waybill once the carrier has it
    ("postal", "result_shipped"): "result_shipped",
    ("postal", "delivery_out_for_delivery"): None,
    ("postal", "delivery_attempt_failed"): "delivery_attempt_failed",
    ("postal", "result_delivered"): "result_delivered",
    ("postal", "result_returned_to_sender"): "result_returned_to_counter",
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


def filing_notice(channel: str) -> str | None:
    """The notice of a dossier just filed through `channel`, or None.

    An online dossier waits in `submitted` for the one-stop officer's check. Counter and postal dossiers
    were checked as they were handed in and are received at once: the receipt (01) is their first notice.
    """
    return "filed_online" if channel == "online" else None


def given_name(full_name: str) -> str:
    """Vietnamese names run family, middle, given: 'Nguyễn Văn An' -> 'An'."""
    parts = full_name.split()
    return parts[-1] if parts else ""


def tracking_url(portal_url: str, dossier_code: str) -> str:
    """The public status page; it asks for the tracking key itself, which no message carries."""
    return f"{portal_url.rstrip('/')}/tra-cuu?code={quote(dossier_code, safe='')}"


def pickup_tracking_url(portal_url: str, pickup_id: object) -> str:
    """The pickup's public page (served by the gateway); like the dossier's, it asks for the key itself."""
    return f"{portal_url.rstrip('/')}/buu-chinh/tra-cuu?pickup={quote(str(pickup_id), safe='')}"


def _moment(value: date | datetime | str) -> date | datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(VIETNAM)
    return value


def _vn_date(value: date | datetime | str) -> str:
    return _moment(value).strftime("%d/%m/%Y")


def _vn_time(value: datetime | str) -> str:
    """'10:15 ngày 30/11/2026', in Vietnam time."""
    return _moment(value).strftime("%H:%M ngày %d/%m/%Y")


def _vn_window(window: Mapping[str, Any]) -> str:
    """'từ 08:00 đến 11:00 ngày 30/11/2026', or both days when the window crosses midnight (Vietnam time)."""
    start, end = _moment(window["start"]), _moment(window["end"])
    if start.date() == end.date():
        return f"từ {start:%H:%M} đến {end:%H:%M} ngày {start:%d/%m/%Y}"
    return f"từ {start:%H:%M} ngày {start:%d/%m/%Y} đến {end:%H:%M} ngày {end:%d/%m/%Y}"


def _vn_money(amount: int) -> str:
    """50000 -> '50.000 đồng' (Vietnamese groups thousands with dots)."""
    return f"{number_vn(amount)} đồng"


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("notify", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    undefined=jinja2.StrictUndefined,  # a name the template uses but nobody supplied is an error
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["vn_date"] = _vn_date
_env.filters["vn_time"] = _vn_time
_env.filters["vn_window"] = _vn_window
_env.filters["vn_money"] = _vn_money
_env.filters["vn_working_days"] = working_days


def _present(value: Any) -> bool:
    return value is not None and value != "" and not (isinstance(value, (list, tuple)) and not value)


def _template_context(template_id: str, spec: TemplateSpec, context: Mapping[str, Any]) -> dict[str, Any]:
    for key in spec.required_keys:
        if not _present(context.get(key)):
            raise ValueError(f"template {template_id!r} needs context key {key!r}")
    allowed = spec.required_keys + COMMON_OPTIONAL + spec.optional
    values = {key: context.get(key) for key in allowed}
    values["given_name"] = given_name(str(values["given_name"]))
    if spec.about == "pickup":
        values["tracking_url"] = pickup_tracking_url(str(values["portal_url"]), values["pickup_id"])
    else:
        values["tracking_url"] = tracking_url(str(values["portal_url"]), str(values["dossier_code"]))
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
    html = _render_file(f"{spec.layout}.html.j2", language,
                        {**values, "subject": subject, "paragraphs": paragraphs, "language": language})
    return Rendered(template_id, spec.version, channel, subject, body, html, len(body), 0, "UTF-8")
