"""SMS text: Vietnamese without diacritics, and what a text costs in GSM-7 or UCS-2 segments."""
import unicodedata

# GSM 03.38 basic character set (one septet each); ESC itself is not a printable character.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as ESC + char, so it costs two septets.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7, UCS2 = "GSM-7", "UCS-2"
# (single-message capacity, per-part capacity once concatenated: the UDH takes the difference)
CAPACITY = {GSM7: (160, 153), UCS2: (70, 67)}


def strip_diacritics(text: str) -> str:
    """'Hồ sơ đã được tiếp nhận' -> 'Ho so da duoc tiep nhan'."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


def _units(text: str) -> tuple[str, list[int]]:
    """The encoding a text needs and the width of each character in that encoding's units."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return GSM7, [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    # UCS-2 counts UTF-16 code units: a character outside the BMP (an emoji) takes two.
    return UCS2, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def measure(text: str) -> tuple[str, int, int]:
    """(encoding, length in that encoding's units, segments)."""
    encoding, widths = _units(text)
    length = sum(widths)
    single, per_part = CAPACITY[encoding]
    if length <= single:
        return encoding, length, 1
    # Fill parts greedily: an escape pair or a surrogate pair is never split across two parts.
    segments, used = 1, 0
    for width in widths:
        if used + width > per_part:
            segments, used = segments + 1, 0
        used += width
    return encoding, length, segments


def encoding_and_segments(text: str) -> tuple[str, int]:
    encoding, _, segments = measure(text)
    return encoding, segments
