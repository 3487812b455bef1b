"""Server-rendered Vietnamese pages: the Jinja environment, its filters and the error page."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import segno
from jinja2 import Environment, PackageLoader
from markupsafe import Markup
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from motcua.errors import MotCuaError, NotFound, ValidationFailed, marshmallow_fields
from motcua.vietnamese import number_vn, working_days as time_limit_words

from gateway.portal_errors import in_vietnamese

log = logging.getLogger(__name__)

VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving, so a fixed offset is exact
# Scripts only from the gateway's own files (gateway/static: the pages work without them); inline styles only
# (the print CSS lives in the templates).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # receipt links carry the tracking key in the query
}

LABELS: dict[str, dict[str, str]] = {
    "state": {
        "submitted": "Mới nộp, chờ tiếp nhận", "received": "Đã tiếp nhận", "refused": "Từ chối tiếp nhận",
        "in_progress": "Đang giải quyết", "awaiting_supplement": "Chờ bổ sung hồ sơ",
        "awaiting_payment": "Chờ thực hiện nghĩa vụ tài chính", "withdrawn": "Đã rút hồ sơ",
        "stopped": "Dừng xử lý", "completed": "Đã có kết quả", "returned": "Đã trả kết quả",
    },
    "channel": {
        "counter": "Trực tiếp tại Bộ phận Một cửa", "online": "Trực tuyến",
        "postal": "Qua dịch vụ bưu chính công ích",
    },
    "return_method": {
        "counter": "Tại Bộ phận Một cửa", "postal": "Qua dịch vụ bưu chính công ích", "online": "Trực tuyến",
    },
    "action": {
        "register": "Nộp hồ sơ", "accept": "Tiếp nhận hồ sơ", "refuse": "Từ chối tiếp nhận",
        "assign": "Chuyển xử lý", "transfer": "Chuyển cơ quan khác", "request_supplement": "Yêu cầu bổ sung",
        "receive_supplement": "Nhận hồ sơ bổ sung", "request_payment": "Yêu cầu nộp phí, lệ phí",
        "record_payment": "Đã nộp phí, lệ phí", "complete": "Có kết quả", "stop": "Dừng xử lý",
        "return_result": "Trả kết quả", "withdraw": "Rút hồ sơ",
    },
    "online_level": {"toan_trinh": "Toàn trình", "mot_phan": "Một phần"},
    "notify_channel": {"sms": "Tin nhắn SMS", "email": "Thư điện tử"},
    "notification_status": {
        "queued": "Đang chờ gửi", "held": "Chờ gửi (ngoài giờ nhắn tin)", "sending": "Đang gửi", "sent": "Đã gửi",
        "delivered": "Đã đến người nhận", "failed": "Gửi không thành công", "undeliverable": "Không gửi được",
    },
    "pickup_state": {
        "booked": "Đã đặt lịch, chờ bưu điện đến nhận hồ sơ", "collected": "Bưu điện đã nhận hồ sơ",
        "handed_over": "Đã bàn giao cho Bộ phận Một cửa", "registered": "Đã tiếp nhận, có mã hồ sơ",
        "collection_failed": "Bưu điện không nhận được hồ sơ", "cancelled": "Đã hủy lịch",
    },
    "delivery_state": {
        "ordered": "Đã tạo đơn chuyển phát", "picked_up": "Bưu điện đã nhận kết quả để chuyển phát",
        "out_for_delivery": "Đang giao", "attempt_failed": "Giao không thành công, sẽ giao lại",
        "delivered": "Đã giao kết quả", "returned_to_sender": "Đã chuyển hoàn về Bộ phận Một cửa",
    },
}

ERROR_EXPLANATIONS = {
    400: "Yêu cầu gửi lên không đọc được.", 401: "Trang này cần mã tra cứu của hồ sơ.",
    404: "Không tìm thấy trang hoặc hồ sơ được yêu cầu.", 409: "Hồ sơ vừa được thay đổi; hãy tải lại trang.",
    413: "Dữ liệu gửi lên vượt quá dung lượng cho phép.", 415: "Định dạng tệp không được hỗ trợ.",
    422: "Một số thông tin chưa hợp lệ.", 429: "Quá nhiều lượt tra cứu; hãy thử lại sau ít phút.",
    503: "Dịch vụ đang tạm gián đoạn; hãy thử lại sau ít phút.",
}
ERROR_TITLES = {
    400: "Yêu cầu không hợp lệ", 401: "Cần mã tra cứu", 404: "Không tìm thấy", 409: "Xung đột dữ liệu",
    413: "Dữ liệu gửi lên quá lớn", 415: "Định dạng không được hỗ trợ", 422: "Thông tin chưa hợp lệ",
    429: "Quá nhiều lượt tra cứu", 503: "Dịch vụ tạm thời gián đoạn",
}


def label(value: str | None, kind: str) -> str:
    return LABELS[kind].get(value or "", value or "")


def working_days(value: int | str | None) -> str:
    """A procedure's time limit; one the catalogue does not give is the agency's to say."""
    return "Theo quy định của cơ quan giải quyết" if value is None else time_limit_words(value)


def vnd(value: int | None) -> str:
    return "Chưa xác định" if value is None else ("Miễn phí" if value == 0 else f"{number_vn(value)} đồng")


def as_date(value: str | date) -> date:
    """A date, or the Vietnamese calendar day of a moment."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return value.astimezone(VIETNAM).date() if isinstance(value, datetime) else value


def date_vn(value: str | date) -> str:
    return as_date(value).strftime("%d/%m/%Y")


def date_long(value: str | date) -> str:
    day = as_date(value)
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def as_moment(value: str | datetime) -> datetime:
    return (value if isinstance(value, datetime) else datetime.fromisoformat(value)).astimezone(VIETNAM)


def datetime_long(value: str | datetime) -> str:
    moment = as_moment(value)
    return f"{moment.hour:02d} giờ {moment.minute:02d} phút, {date_long(moment)}"


def time_window(window: dict) -> str:
    """A pickup window, e.g. "08:00 - 11:30, ngày 27 tháng 11 năm 2026" (Vietnam time)."""
    start, end = as_moment(window["start"]), as_moment(window["end"])
    if start.date() == end.date():
        return f"{start:%H:%M} - {end:%H:%M}, {date_long(start)}"
    return f"{start:%H:%M} {date_long(start)} - {end:%H:%M} {date_long(end)}"


def qr_code(text: str) -> Markup:
    """`text` (a link) as an inline SVG QR code, medium error correction: it survives a crease in the paper."""
    return Markup(segno.make(text, error="m").svg_inline(scale=3, title="Mã QR tra cứu hồ sơ"))


ENV = Environment(loader=PackageLoader("gateway", "templates"), autoescape=True)
ENV.filters.update(label=label, number_vn=number_vn, working_days=working_days, vnd=vnd, date_vn=date_vn, date_long=date_long,
                   datetime_long=datetime_long, time_window=time_window, qr_code=qr_code)

STATIC_TYPES = {"favicon.svg": "image/svg+xml", "portal.js": "text/javascript; charset=utf-8"}
# Read once at start-up: they change only with a release.
STATIC_FILES = {name: resources.files("gateway").joinpath("static", name).read_bytes() for name in STATIC_TYPES}


def static_file(name: str) -> Response:
    """One of the pages' own files (gateway/static), cached by browsers for an hour."""
    if name not in STATIC_FILES:
        raise NotFound("Trang này không tồn tại.")
    return Response(STATIC_FILES[name], mimetype=STATIC_TYPES[name].split(";")[0], content_type=STATIC_TYPES[name],
                    headers={**PAGE_HEADERS, "Cache-Control": "public, max-age=3600"})


def html_response(body: str, status: int = 200, headers: dict | None = None) -> Response:
    return Response(body, status=status, mimetype="text/html", headers={**PAGE_HEADERS, **(headers or {})})


def render(template: str, status: int = 200, headers: dict | None = None, **context: Any) -> Response:
    return html_response(ENV.get_template(template).render(**context), status, headers)


def error_page(exc: Exception) -> Response:
    if isinstance(exc, ValidationError):
        exc = ValidationFailed("The request has invalid fields.", marshmallow_fields(exc.messages))
    if isinstance(exc, MotCuaError):
        status, error = exc.http_status, exc
    else:
        log.error("unhandled error in a portal page", exc_info=exc)
        status, error = 500, MotCuaError("Something went wrong on our side.", code="internal_error")
    title = ERROR_TITLES.get(status, "Có lỗi xảy ra")
    fields = error.fields or {}
    problems = {name: [in_vietnamese(message) for message in messages] for name, messages in fields.items()
                if isinstance(messages, list)}
    return render("error.html", status, title=title, explanation=ERROR_EXPLANATIONS.get(status, "Đã có lỗi xảy ra."),
                  problems=problems)
