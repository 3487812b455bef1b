"""Every template on every channel: dossier code, tracking link, no tracking key, no full name."""
import hashlib
from datetime import date
from importlib.resources import files

import pytest

from notify.domain.sms import measure
from notify.domain.templates import (
    COMMON_REQUIRED, LEGALLY_REQUIRED, TEMPLATES, given_name, render, template_for, tracking_url,
)

CODE = "000.00.00.H49-261125-0007"
PORTAL = "https://dichvucong.haiphong.gov.vn/"
LINK = "https://dichvucong.haiphong.gov.vn/tra-cuu?code=000.00.00.H49-261125-0007"
TRACKING_KEY = "k7Qx9TzR2mWv4LpA"
FULL_NAME = "Nguyễn Văn An"
CONTEXT = {
    "dossier_code": CODE, "given_name": FULL_NAME, "portal_url": PORTAL,
    "procedure_name": "Đăng ký khai sinh", "agency_code": "000.00.12.H49",
    "agency_name": "UBND phường Lê Chân",
    "appointment_date": date(2026, 11, 28), "new_appointment_date": "2026-12-05",
    "missing_items": ["Bản sao Giấy chứng sinh", "Tờ khai đăng ký khai sinh có chữ ký"],
    "reason": "Hồ sơ thiếu giấy tờ theo quy định", "waybill": "EB123456789VN",
    "carrier": "Bưu điện Hải Phòng", "pickup_date": date(2026, 11, 30),
    "collection_point": "Bộ phận Một cửa UBND phường Lê Chân",
    # Must never reach a message: the allow-list per template drops them.
    "tracking_key": TRACKING_KEY, "full_name": FULL_NAME, "address": "12 Lạch Tray", "phone": "0912345678",
}
# Bump the version with the text: (version, sha256 of the template's files). Update both together.
FINGERPRINTS = {
    "receipt": (1, "9e478cac9886"),
    "supplement_request": (1, "9c07d0bb1588"),
    "refusal": (1, "79547ff99822"),
    "apology": (1, "429476bf5894"),
    "result_ready": (1, "ddb662a63d3a"),
    "result_shipped": (1, "8fdffd2bd5f4"),
    "result_delivered": (1, "2bf1cf231a04"),
    "pickup_booked": (1, "bbed73a9be78"),
    "pickup_collected": (1, "b659792f044f"),
}
CASES = [(t, "sms", False) for t in TEMPLATES] + [(t, "sms", True) for t in TEMPLATES] + [(t, "email", False) for t in TEMPLATES]


def _texts(rendered):
    return [text for text in (rendered.subject, rendered.body, rendered.html) if text is not None]


@pytest.mark.parametrize("template_id, channel, ascii_sms", CASES)
def test_each_template_carries_code_and_link_but_no_key_or_full_name(template_id, channel, ascii_sms):
    rendered = render(template_id, channel, CONTEXT, ascii_sms=ascii_sms)
    assert (rendered.template_id, rendered.channel) == (template_id, channel)
    assert rendered.template_version == TEMPLATES[template_id].version
    assert CODE in rendered.body and LINK in rendered.body
    for text in _texts(rendered):
        assert TRACKING_KEY not in text
        assert "Nguy" not in text and "Văn An" not in text and "Van An" not in text
        assert "0912345678" not in text and "Lạch Tray" not in text
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
    assert CODE in rendered.subject and "\n" not in rendered.subject
    assert rendered.body.startswith("Kính gửi Ông/Bà An,")
    assert f'<a href="{LINK}">' in rendered.html
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
    (t, key) for t, spec in TEMPLATES.items() for key in COMMON_REQUIRED + spec.required])
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
    for event in ("result_shipped", "result_delivered", "pickup_booked", "pickup_collected"):
        assert template_for("postal", event) == event
    assert template_for("status", "dossier_assigned") is None
    assert LEGALLY_REQUIRED == {"receipt", "supplement_request", "refusal", "apology"}


def test_given_name_and_tracking_url():
    assert given_name("  Nguyễn Thị  Mai ") == "Mai"
    assert given_name("An") == "An"
    assert tracking_url("https://x.vn", "A B") == "https://x.vn/tra-cuu?code=A%20B"


def _fingerprint(template_id: str) -> str:
    folder = files("notify") / "templates" / "vi"
    # The shared layouts are part of every e-mail's text.
    parts = sorted(p for p in folder.iterdir() if p.name.startswith((f"{template_id}.", "_")))
    return hashlib.sha256(b"".join(p.read_bytes() for p in parts)).hexdigest()[:12]


def test_template_text_changes_come_with_a_version_bump():
    # A changed wording without a new version would make the notification log lie.
    current = {t: (spec.version, _fingerprint(t)) for t, spec in TEMPLATES.items()}
    assert current == FINGERPRINTS
