"""A refusal of a portal form, placed next to its inputs and said in Vietnamese (gateway.portal_errors)."""
from gateway.portal_errors import GENERIC, REQUIRED, in_vietnamese, input_errors


def test_each_refusal_lands_on_the_input_it_is_about():
    fields = {
        "applicant.full_name": ["Missing data for required field."],
        "applicant.phone": ["Not a Vietnamese phone number."],
        "form.ngay_sinh": ["Not a valid date."],
        "attachments.giay-chung-sinh": ['The required document "Giấy chứng sinh" is missing.'],
        "attachments.1": ["The file is a ZIP archive; this document accepts: pdf, jpg."],
        "delivery_address.street": ["Missing data for required field."],
        "channel": ["This procedure cannot be filed by online; allowed: counter."],
    }
    placed, general = input_errors(fields, ["to-khai", "cmnd"])
    assert placed == {
        "applicant.full_name": [REQUIRED],
        "applicant.phone": ["Số điện thoại chưa đúng: 10 chữ số bắt đầu bằng 0, ví dụ 0912 345 678."],
        "form.ngay_sinh": ["Ngày chưa đúng định dạng."],
        "document.giay-chung-sinh": ["Chưa đính kèm: Giấy chứng sinh."],
        "document.cmnd": ["Loại tệp không được nhận; chỉ nhận tệp pdf, jpg."],  # the second file sent
        "delivery_address.street": [REQUIRED],
    }
    assert general == [GENERIC]  # no input on the form chooses the channel


def test_a_file_named_by_a_position_past_what_was_sent_stays_with_the_form():
    assert input_errors({"attachments.5.content_base64": ["Not valid base64."]}, ["to-khai"]) == ({}, [GENERIC])


def test_sizes_keep_their_limits_in_vietnamese_and_an_unknown_message_is_never_shown_in_english():
    assert in_vietnamese("The file is 12.5 MB; this document allows at most 10 MB.") == "Tệp quá lớn: tối đa 10 MB."
    assert in_vietnamese("The attachments total 41.0 MB; a dossier allows at most 40 MB.") == (
        "Các tệp đính kèm quá lớn: tổng cộng tối đa 40 MB.")
    assert in_vietnamese("At most 200 characters.") == "Tối đa 200 ký tự."
    assert in_vietnamese("Something nobody translated.") == GENERIC
