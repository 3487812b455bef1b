"""SMS text: diacritics stripping and GSM-7 / UCS-2 segment counting."""
import pytest

from notify.domain.sms import encoding_and_segments, measure, strip_diacritics


@pytest.mark.parametrize("text, expected", [
    ("Hồ sơ đã được tiếp nhận", "Ho so da duoc tiep nhan"),
    ("ĐĂNG KÝ KHAI SINH", "DANG KY KHAI SINH"),
    ("àáảãạ ằắẳẵặ ầấẩẫậ èéẻẽẹ ềếểễệ ìíỉĩị òóỏõọ ồốổỗộ ờớởỡợ ùúủũụ ừứửữự ỳýỷỹỵ",
     "aaaaa aaaaa aaaaa eeeee eeeee iiiii ooooo ooooo ooooo uuuuu uuuuu yyyyy"),
    ("Nguyễn Thị Đào, Hải Phòng", "Nguyen Thi Dao, Hai Phong"),
    ("already plain 0123", "already plain 0123"),
])
def test_strip_diacritics(text, expected):
    assert strip_diacritics(text) == expected


def test_vietnamese_with_diacritics_is_ucs2_and_without_is_gsm7():
    text = "Ông/Bà An: hồ sơ đã được tiếp nhận."
    assert encoding_and_segments(text) == ("UCS-2", 1)
    assert encoding_and_segments(strip_diacritics(text)) == ("GSM-7", 1)


@pytest.mark.parametrize("length, segments", [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_gsm7_boundaries(length, segments):
    assert measure("a" * length) == ("GSM-7", length, segments)


@pytest.mark.parametrize("length, segments", [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_boundaries(length, segments):
    assert measure("ư" * length) == ("UCS-2", length, segments)


def test_gsm7_basic_set_accents_stay_gsm7():
    assert encoding_and_segments("éèùìòÇÄÖÑÜäöñüà @£$¥ΔΦ") == ("GSM-7", 1)


@pytest.mark.parametrize("char", list("^{}\\[]~|€"))
def test_extension_characters_count_two(char):
    assert measure(char * 80) == ("GSM-7", 160, 1)
    assert measure(char * 80 + "a") == ("GSM-7", 161, 2)


def test_an_escape_pair_is_not_split_across_parts():
    # 306 septets fit 2 x 153 only if the pair straddled the boundary; it moves to the next part.
    assert measure("a" * 152 + "€" + "a" * 152) == ("GSM-7", 306, 3)


def test_one_non_gsm_character_makes_the_whole_text_ucs2():
    assert measure("a" * 69 + "ơ") == ("UCS-2", 70, 1)
    assert measure("a" * 70 + "ơ") == ("UCS-2", 71, 2)


def test_characters_outside_the_bmp_take_two_ucs2_units():
    assert measure("😀" * 35) == ("UCS-2", 70, 1)
    assert measure("a" + "😀" * 35) == ("UCS-2", 71, 2)
