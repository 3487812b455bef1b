"""Every template on every channel: dossier code (or, before the handover, the pickup's waybill), tracking
link, no tracking key, no full name, no address."""
import hashlib
from datetime import date, datetime, timezone
from importlib.resources import files

import pytest

from notify.domain.sms import measure
from notify.domain.templates import (
    LEGALLY_REQUIRED, TEMPLATES, given_name, pickup_tracking_url, render, template_for, tracking_url,
)

CODE = "000.00.00.H49-261125-0007"
PORTAL = "https://dichvucong.haiphong.gov.vn/"
LINK = "https://dichvucong.haiphong.gov.vn/tra-cuu?code=000.00.00.H49-261125-0007"
PICKUP_ID = "0b6f3c1e-5d2a-4f7b-9c1d-2e3f4a5b6c7d"
PICKUP_LINK = f"https://dichvucong.haiphong.gov.vn/buu-chinh/tra-cuu?pickup={PICKUP_ID}"
WAYBILL = "EB123456789VN"
TRACKING_KEY = "k7Qx9TzR2mWv4LpA"
FULL_NAME = "Nguyễn Văn An"
CONTEXT = {
    "dossier_code": CODE, "given_name": FULL_NAME, "portal_url": PORTAL,
    "procedure_name": "Đăng ký khai sinh", "agency_code": "000.00.12.H49",
    "agency_name": "UBND phường Lê Chân",
    "appointment_date": date(2026, 11, 28), "new_appointment_date": "2026-12-05",
    "missing_items": ["Bản sao Giấy chứng sinh", "Tờ khai đăng ký khai sinh có chữ ký"],
    "reason": "Hồ sơ thiếu giấy tờ theo quy định", "waybill": WAYBILL,
    "carrier": "Bưu điện Hải Phòng", "collection_point": "Bộ phận Một cửa UBND phường Lê Chân",
    "pickup_id": PICKUP_ID, "attempts": 1, "max_attempts": 2,
    # 08:00-11:00 on 30/11/2026 in Hai Phong.
    "window": {"start": datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc),
               "end": datetime(2026, 11, 30, 4, 0, tzinfo=timezone.utc)},
    "delivered_at": datetime(2026, 12, 2, 3, 15, tzinfo=timezone.utc),  # 10:15 in Hai Phong
    "checklist": [
        {"document_code": "TK", "name": "Tờ khai đăng ký khai sinh", "required": True, "present": True},
        {"document_code": "GCS", "name": "Bản chính Giấy chứng sinh", "required": True, "present": False},
        {"document_code": "CT", "name": "Giấy tờ chứng minh nơi cư trú", "required": False, "present": False},
    ],
    "fees_collected_vnd": 58000,
    # Must never reach a message: the allow-list per template drops them.
    "tracking_key": TRACKING_KEY, "full_name": FULL_NAME, "address": "12 Lạch Tray", "phone": "0912345678",
    "recipient_name": "Trần Thị Bích", "applicant": {"full_name": FULL_NAME, "phone": "0912345678"},
}
# Bump the version with the text: (version, sha256 of the template's files and its layout). Update both together.
FINGERPRINTS = {
    "receipt": (2, "17329faf01b0"),
    "supplement_request": (1, "9c07d0bb1588"),
    "refusal": (1, "79547ff99822"),
    "apology": (1, "429476bf5894"),
    "result_ready": (2, "06f11b07c003"),
    "result_shipped": (1, "8fdffd2bd5f4"),
    "delivery_attempt_failed": (1, "11b57d8aa62a"),
    "result_delivered": (2, "062961d11980"),
    "result_returned_to_counter": (1, "bac14f7e42f9"),
    "pickup_booked": (2, "0351955f1b96"),
    "pickup_collected": (2, "0e8ccbea9e73"),
    "pickup_collection_failed": (1, "fc1373038495"),
}
PICKUP_TEMPLATES = [t for t, spec in TEMPLATES.items() if spec.about == "pickup"]
CASES = [(t, "sms", False) for t in TEMPLATES] + [(t, "sms", True) for t in TEMPLATES] + [(t, "email", False) for t in TEMPLATES]


def _texts(rendered):
    return [text for text in (rendered.subject, rendered.body, rendered.html) if text is not None]


@pytest.mark.parametrize("template_id, channel, ascii_sms", CASES)
def test_each_template_carries_code_and_link_but_no_key_or_full_name(template_id, channel, ascii_sms):
    rendered = render(template_id, channel, CONTEXT, ascii_sms=ascii_sms)
    assert (rendered.template_id, rendered.channel) == (template_id, channel)
    assert rendered.template_version == TEMPLATES[template_id].version
    if template_id in PICKUP_TEMPLATES:
        # Before the handover there is no dossier code: the waybill and the pickup's page stand for it.
        assert WAYBILL in rendered.body and PICKUP_LINK in rendered.body
        assert all(CODE not in text for text in _texts(rendered))
    else:
        assert CODE in rendered.body and LINK in rendered.body
    for text in _texts(rendered):
        assert TRACKING_KEY not in text
        assert "Nguy" not in text and "Văn An" not in text and "Van An" not in text
        assert "Bích" not in text and "Bich" not in text  # who signed for a delivery is the carrier's proof
        assert "0912345678" not in text and "Lạch Tray" not in text and "Lach Tray" not in text
    greeting = "Ong/Ba An" if ascii_sms else "Ông/Bà An"
    assert greeting in rendered.body


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_sms_with_and_without_diacritics(template_id):
    accented = render(template_id, "sms", CONTEXT)
    plain = render(template_id, "sms", CONTEXT, ascii_sms=True)
    assert (accented.subject, accented.html) == (None, None)
    assert "\n" not in accented.body
    assert accented.encoding == "UCS-2" and plain.encoding == "GSM-7"
    assert plain.body.isascii() and not accented.body.isascii()
    assert (accented.encoding, accented.length, accented.segments) == measure(accented.body)
    assert (plain.encoding, plain.length, plain.segments) == measure(plain.body)
    assert plain.segments < accented.segments  # the reason ascii_sms exists: fewer billed parts


@pytest.mark.parametrize("template_id", TEMPLATES)
def test_email_has_subject_plain_body_and_escaped_html(template_id):
    rendered = render(template_id, "email", CONTEXT)
    reference, link = (WAYBILL, PICKUP_LINK) if template_id in PICKUP_TEMPLATES else (CODE, LINK)
    assert reference in rendered.subject and "\n" not in rendered.subject
    assert rendered.body.startswith("Kính gửi Ông/Bà An,")
    assert f'<a href="{link}">' in rendered.html
    assert (rendered.length, rendered.segments, rendered.encoding) == (len(rendered.body), 0, "UTF-8")


def test_html_is_autoescaped_and_plain_text_is_not():
    context = {**CONTEXT, "reason": '<script>alert("x")</script>'}
    rendered = render("refusal", "email", context)
    assert '<script>alert("x")</script>' in rendered.body
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_supplement_request_lists_every_missing_item(channel):
    rendered = render("supplement_request", channel, CONTEXT)
    for item in CONTEXT["missing_items"]:
        assert item in rendered.body


def test_dates_are_written_the_vietnamese_way():
    assert "28/11/2026" in render("receipt", "sms", CONTEXT).body
    assert "05/12/2026" in render("apology", "email", CONTEXT).body


def test_result_ready_falls_back_to_the_agency_counter():
    context = {k: v for k, v in CONTEXT.items() if k not in ("collection_point", "agency_name")}
    assert "Nhận tại: Bộ phận Một cửa, 000.00.12.H49" in render("result_ready", "sms", context).body


@pytest.mark.parametrize("template_id, key", [
    (t, key) for t, spec in TEMPLATES.items() for key in spec.required_keys])
def test_missing_required_context_names_the_key(template_id, key):
    context = {k: v for k, v in CONTEXT.items() if k != key}
    with pytest.raises(ValueError, match=key):
        render(template_id, "sms", context)
    with pytest.raises(ValueError, match=key):
        render(template_id, "email", {**CONTEXT, key: None})


def test_one_of_several_keys_is_needed_where_a_spec_says_so():
    context = {k: v for k, v in CONTEXT.items() if k not in ("collection_point", "agency_name", "agency_code")}
    with pytest.raises(ValueError, match="collection_point"):
        render("result_ready", "email", context)


def test_empty_missing_items_is_missing():
    with pytest.raises(ValueError, match="missing_items"):
        render("supplement_request", "sms", {**CONTEXT, "missing_items": []})


def test_unknown_template_or_channel_is_refused():
    with pytest.raises(ValueError, match="unknown template"):
        render("newsletter", "sms", CONTEXT)
    with pytest.raises(ValueError, match="unknown channel"):
        render("receipt", "fax", CONTEXT)


def test_english_falls_back_to_vietnamese():
    assert render("receipt", "email", CONTEXT, language="en").body == render("receipt", "email", CONTEXT).body


def test_events_map_to_templates():
    assert template_for("intake", "dossier_submitted") is None
    assert template_for("status", "dossier_received") == "receipt"
    assert template_for("status", "supplement_requested") == "supplement_request"
    assert template_for("status", "dossier_refused") == "refusal"
    assert template_for("status", "dossier_overdue") == "apology"
    assert template_for("status", "dossier_completed") == "result_ready"
    for event in ("pickup_booked", "pickup_collected", "pickup_collection_failed", "result_shipped",
                  "delivery_attempt_failed", "result_delivered"):
        assert template_for("postal", event) == event
    assert template_for("postal", "result_returned_to_sender") == "result_returned_to_counter"
    for silent in ("pickup_handed_over", "delivery_ordered", "delivery_out_for_delivery"):
        assert template_for("postal", silent) is None
    assert template_for("status", "dossier_assigned") is None
    assert LEGALLY_REQUIRED == {"receipt", "supplement_request", "refusal", "apology"}


def test_given_name_and_tracking_url():
    assert given_name("  Nguyễn Thị  Mai ") == "Mai"
    assert given_name("An") == "An"
    assert tracking_url("https://x.vn", "A B") == "https://x.vn/tra-cuu?code=A%20B"
    assert pickup_tracking_url("https://x.vn/", PICKUP_ID) == f"https://x.vn/buu-chinh/tra-cuu?pickup={PICKUP_ID}"


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_the_receipt_of_a_dossier_sent_by_post_tells_its_new_code(channel):
    postal = render("receipt", channel, {**CONTEXT, "channel": "postal"}).body
    online = render("receipt", channel, {**CONTEXT, "channel": "online"}).body
    assert "gửi qua bưu điện" in postal and "gửi qua bưu điện" not in online
    assert CODE in postal.split("Tra cứu")[0]  # told in the message itself, not only in the link
    assert online == render("receipt", channel, {k: v for k, v in CONTEXT.items() if k != "channel"}).body


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_result_going_back_by_post_has_no_counter_wording(channel):
    rendered = render("result_ready", channel, {**CONTEXT, "return_method": "postal"})
    assert "Một cửa" not in rendered.body and CONTEXT["collection_point"] not in rendered.body
    assert "gửi qua bưu điện" in rendered.body
    assert "Một cửa" in render("result_ready", channel, {**CONTEXT, "return_method": "counter"}).body


def test_the_pickup_window_is_told_in_vietnam_time():
    assert "từ 08:00 đến 11:00 ngày 30/11/2026" in render("pickup_booked", "sms", CONTEXT).body
    overnight = {"start": "2026-11-30T13:00:00+00:00", "end": "2026-12-01T01:00:00+00:00"}
    assert "từ 20:00 ngày 30/11/2026 đến 08:00 ngày 01/12/2026" in render(
        "pickup_booked", "email", {**CONTEXT, "window": overnight}).body


def test_the_collection_notice_lists_what_the_carrier_found_and_the_fees_it_collected():
    body = render("pickup_collected", "email", CONTEXT).body
    received, missing = body.split("Giấy tờ bắt buộc chưa có")
    assert "- Tờ khai đăng ký khai sinh" in received
    assert "- Bản chính Giấy chứng sinh" in missing
    assert "nơi cư trú" not in body  # optional and absent: nothing to say
    assert "58.000 đồng" in body
    bare = render("pickup_collected", "email", {**CONTEXT, "checklist": [], "fees_collected_vnd": None}).body
    assert "Giấy tờ" not in bare and "đồng" not in bare


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_failed_delivery_says_whether_the_carrier_tries_again(channel):
    first = " ".join(_texts(render("delivery_attempt_failed", channel, CONTEXT)))
    last = " ".join(_texts(render("delivery_attempt_failed", channel, {**CONTEXT, "attempts": 2})))
    assert "1/2" in first and CONTEXT["reason"] in first and "giao lại" in first
    assert "2/2" in last and "giao lại" not in last and "Bộ phận Một cửa" in last


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_delivered_says_when_and_returned_says_where_to_collect(channel):
    assert "10:15 ngày 02/12/2026" in render("result_delivered", channel, CONTEXT).body
    returned = render("result_returned_to_counter", channel, CONTEXT).body
    assert CONTEXT["collection_point"] in returned
    fallback = {k: v for k, v in CONTEXT.items() if k not in ("collection_point", "agency_name")}
    assert "Bộ phận Một cửa, 000.00.12.H49" in render("result_returned_to_counter", channel, fallback).body


def _fingerprint(template_id: str) -> str:
    folder = files("notify") / "templates" / "vi"
    # The template's layout is part of its e-mail's text.
    prefixes = (f"{template_id}.", f"{TEMPLATES[template_id].layout}.")
    parts = sorted(p for p in folder.iterdir() if p.name.startswith(prefixes))
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()[:12]


def test_template_text_changes_come_with_a_version_bump():
    # A changed wording without a new version would make the notification log lie.
    current = {t: (spec.version, _fingerprint(t)) for t, spec in TEMPLATES.items()}
    assert current == FINGERPRINTS
