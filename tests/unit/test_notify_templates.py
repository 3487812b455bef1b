"""Every template on every channel: dossier code (or, before the handover, the pickup's waybill), tracking
link, the agency by its name, no tracking key, no full name, no address, no agency code; and the wording's
spacing and diacritics checked in every template file."""
import hashlib
import re
import unicodedata
from datetime import date, datetime, timezone
from decimal import Decimal
from importlib.resources import files

import pytest

from notify.domain.sms import measure
from notify.domain.templates import (
    LEGALLY_REQUIRED, TEMPLATES, filing_notice, given_name, pickup_tracking_url, render, template_for, tracking_url,
)

CODE = "000.00.00.H49-261125-0007"
PORTAL = "https://dichvucong.haiphong.gov.vn/"
LINK = "https://dichvucong.haiphong.gov.vn/tra-cuu?code=000.00.00.H49-261125-0007"
PICKUP_ID = "0b6f3c1e-5d2a-4f7b-9c1d-2e3f4a5b6c7d"
PICKUP_LINK = f"https://dichvucong.haiphong.gov.vn/buu-chinh/tra-cuu?pickup={PICKUP_ID}"
WAYBILL = "EB123456789VN"
TRACKING_KEY = "k7Qx9TzR2mWv4LpA"
FULL_NAME = "Nguyễn Văn An"
AGENCY_CODE = "000.00.12.H49"
CONTEXT = {
    "dossier_code": CODE, "given_name": FULL_NAME, "portal_url": PORTAL,
    "procedure_name": "Đăng ký khai sinh", "agency_name": "UBND phường Lê Chân",
    "submitted_at": datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc),  # 09:00 in Hai Phong
    "time_limit_working_days": Decimal("2"),
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
    "agency_code": AGENCY_CODE,  # the citizen reads the agency's name, never its code
}
# Bump the version with the text: (version, sha256 of the template's files and its layout). Update both together.
FINGERPRINTS = {
    "filed_online": (1, "cc0423a91f32"),
    "receipt": (3, "ddf1bc4223b0"),
    "supplement_request": (1, "9c07d0bb1588"),
    "refusal": (2, "8a54d682bd5a"),
    "apology": (2, "0efc41df8697"),
    "result_ready": (3, "56953e097579"),
    "result_shipped": (1, "8fdffd2bd5f4"),
    "delivery_attempt_failed": (2, "d4482df38c87"),
    "result_delivered": (2, "062961d11980"),
    "result_returned_to_counter": (2, "74adb64a3b46"),
    "pickup_booked": (3, "69f896880ed3"),
    "pickup_collected": (3, "89cbd7cb9cf3"),
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
        assert TRACKING_KEY not in text and AGENCY_CODE not in text
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


@pytest.mark.parametrize("template_id", ["result_ready", "result_returned_to_counter"])
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_without_a_collection_point_the_result_waits_at_the_counter_of_the_agency_by_name(template_id, channel):
    context = {k: v for k, v in CONTEXT.items() if k != "collection_point"}
    assert "Bộ phận Một cửa, UBND phường Lê Chân" in render(template_id, channel, context).body


# A failed delivery names the agency once the attempts are over: the result goes back to its counter.
BRANCHES = (CONTEXT, {**CONTEXT, "attempts": CONTEXT["max_attempts"]})
NAMED = {template_id for template_id in TEMPLATES for context in BRANCHES
         if "UBND phường Lê Chân" in " ".join(_texts(render(template_id, "email", context)))}


@pytest.mark.parametrize("template_id", sorted(NAMED))
@pytest.mark.parametrize("channel", ["sms", "email"])
def test_an_agency_catalog_does_not_know_is_the_agency_in_general_words_never_its_code(template_id, channel):
    unknown = [{k: v for k, v in context.items() if k not in ("agency_name", "collection_point")}
               for context in BRANCHES]
    texts = " ".join(text for context in unknown for text in _texts(render(template_id, channel, context)))
    assert AGENCY_CODE not in texts and "None" not in texts
    if template_id in ("result_ready", "result_returned_to_counter"):
        assert "Bộ phận Một cửa của cơ quan giải quyết" in texts


def test_the_agency_is_named_wherever_a_notice_names_it():
    assert NAMED >= {"filed_online", "receipt", "refusal", "apology", "result_ready", "delivery_attempt_failed",
                     "result_returned_to_counter", "pickup_booked", "pickup_collected"}


@pytest.mark.parametrize("template_id, key", [
    (t, key) for t, spec in TEMPLATES.items() for key in spec.required_keys])
def test_missing_required_context_names_the_key(template_id, key):
    context = {k: v for k, v in CONTEXT.items() if k != key}
    with pytest.raises(ValueError, match=key):
        render(template_id, "sms", context)
    with pytest.raises(ValueError, match=key):
        render(template_id, "email", {**CONTEXT, key: None})


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
    assert template_for("intake", "dossier_submitted") is None  # filing_notice decides, by channel
    assert filing_notice("online") == "filed_online"
    assert filing_notice("counter") is filing_notice("postal") is None  # received at once: the receipt tells
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
    assert CONTEXT["collection_point"] in render("result_returned_to_counter", channel, CONTEXT).body


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_an_online_filing_is_told_as_received_online_and_waiting_not_as_the_receipt(channel):
    rendered = render("filed_online", channel, CONTEXT)
    text = " ".join(_texts(rendered))
    assert CODE in text.split("Tra cứu")[0] and LINK in rendered.body  # the code in the words, and the link
    assert "trực tuyến" in text and "chờ" in text and "tiếp nhận" in text
    # Form 01 is issued at acceptance: no "đã được tiếp nhận", no appointment date yet.
    assert "đã được tiếp nhận" not in text and "hẹn trả kết quả ngày" not in text.lower()
    assert "28/11/2026" not in text
    assert "filed_online" not in LEGALLY_REQUIRED  # informational: the citizen's opt-out applies


def test_the_filing_email_says_when_and_where_it_was_filed_and_the_legal_time_limit():
    body = render("filed_online", "email", CONTEXT).body
    assert "đến UBND phường Lê Chân" in body and "09:00 ngày 25/11/2026" in body
    assert "Thời hạn giải quyết theo quy định: 2 ngày làm việc, tính từ khi hồ sơ được tiếp nhận." in body


@pytest.mark.parametrize("days, words", [
    (Decimal("0"), "Trong ngày"), ("0.00", "Trong ngày"), (Decimal("2"), "2 ngày làm việc"),
    ("2.00", "2 ngày làm việc"), (Decimal("7.5"), "7,5 ngày làm việc"), (Decimal("10"), "10 ngày làm việc"),
])
def test_a_time_limit_is_told_in_working_days_and_zero_is_the_same_day(days, words):
    body = render("filed_online", "email", {**CONTEXT, "time_limit_working_days": days}).body
    assert f"Thời hạn giải quyết theo quy định: {words}," in body
    assert re.search(r"(?<![\d,])0 ngày làm việc", body) is None


# The wording of every template file: Jinja's output tags stand as one word (X), its statements as line
# breaks, and the string literals of output tags are wording too.
_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_BAD_SPACING = re.compile(
    r"[,;:.!?](?=[^\s\d/)\"X])"  # punctuation glued to the next word: "bổ sung,hoàn thiện"
    r"|\S[ \t]+[,;:.!?)]"  # a space before punctuation
    r"|[ \t]{2,}|\( ")
# One Vietnamese syllable, diacritics dropped: two glued together ("khôngthành") is not one.
_SYLLABLE = re.compile(r"(?:ngh|ng|gh|gi|kh|nh|ph|qu|th|tr|ch|[bcdghklmnpqrstvx])?[aeiouy]+(?:ch|ng|nh|[cmnpt])?",
                       re.IGNORECASE)
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}  # huyền, sắc, ngã, hỏi, nặng


def _wording(source: str) -> list[str]:
    pieces = [_TAG.sub(lambda tag: "X" if tag.group().startswith("{{") else "\n", source)]
    for tag in _TAG.findall(source):
        if tag.startswith("{{"):
            pieces += re.findall(r'"([^"]*)"', tag)
    return pieces


def _typos(text: str) -> list[str]:
    found = [match.group() for match in _BAD_SPACING.finditer(text)]
    for word in re.findall(r"(?:[^\W\d_]|[\u0300-\u036f])+", text):  # a letter, or a mark over one
        decomposed = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        if word != "X" and (sum(ch in _TONE_MARKS for ch in decomposed) > 1 or not _SYLLABLE.fullmatch(plain)):
            found.append(word)
    return found


TEMPLATE_FILES = sorted(p.name for p in (files("notify") / "templates" / "vi").iterdir()
                        if p.name.endswith((".sms.j2", ".subject.j2", ".txt.j2")))


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_no_template_has_a_spacing_or_diacritics_typo(name):
    source = (files("notify") / "templates" / "vi" / name).read_text(encoding="utf-8")
    source = re.sub(r"\{% extends .*?%\}", "", source)
    assert [typo for piece in _wording(source) for typo in _typos(piece)] == []


def test_the_typo_check_finds_what_testers_found():
    assert _typos("đề nghị Ông/Bà bổ sung,hoàn thiện hồ sơ") == [","]
    assert _typos("Giao kết quả khôngthành công") == ["khôngthành"]
    assert _typos("hồ sơ  đã nhận") == ["  "] and _typos("hồ sơ , đã nhận") == ["ơ ,"]
    assert _typos("Hồ s\u1edd\u0309 đã nhận") == ["s\u1edd\u0309"]  # two tone marks on one syllable


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
