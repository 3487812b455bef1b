"""A file the citizen filed, as the answer to an official: one builder for the desk's API and its pages."""
from __future__ import annotations

import base64
import re
import unicodedata
from urllib.parse import quote

from werkzeug.wrappers import Response

from gateway.web import NO_STORE

# What a browser shows by itself; anything else (a Word file, XML) is saved rather than opened in the desk's tab.
INLINE_TYPES = ("application/pdf", "image/png", "image/jpeg")
# RFC 5987 attr-char besides letters, digits and "-._~" (which `quote` leaves alone anyway).
ATTR_CHARS = "!#$&+^`|"
# Anything outside these in the plain `filename` could end its quoted string or the header.
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ ()-]+")


def attachment_response(attachment: dict) -> Response:
    """An AttachmentContentSchema dump as the file: its bytes under the Content-Type intake detected from them."""
    disposition = "inline" if attachment["content_type"] in INLINE_TYPES else "attachment"
    return Response(base64.b64decode(attachment["content_base64"]), content_type=attachment["content_type"],
                    headers={"Content-Disposition": f"{disposition}; {filename_parameters(attachment['filename'])}",
                             **NO_STORE})


def filename_parameters(filename: str) -> str:
    """`filename*` (RFC 5987: the name as filed, in UTF-8) and, for clients that read only `filename`, the name
    without its diacritics ("Giấy khai sinh.pdf" -> "Giay khai sinh.pdf")."""
    # NFKD splits a letter from its marks, which ASCII then drops; đ has no such split.
    plain = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    plain = _NOT_PLAIN.sub("_", plain.encode("ascii", "ignore").decode("ascii"))
    return f"filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe=ATTR_CHARS)}"
