"""HMAC-SHA256 signed webhooks: the SMS gateway's delivery receipts, the carrier's callbacks.

Header: `X-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>." + body)>`. Signing the
timestamp with the body and refusing old timestamps bounds a replay to the tolerance window;
the receiver's memory of seen signatures (`remember_signature`) closes that window.
"""
import hashlib
import hmac
import re
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.db import UTCDateTime, insert_new

_TIMESTAMP = re.compile(r"(?:^|,)\s*t=(\d+)")


def _digest(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(secret: bytes, body: bytes, header: str | None, now: datetime | float,
           tolerance_seconds: int = 300) -> bool:
    """True only for a well-formed header whose timestamp is fresh and whose v1 matches."""
    if not header:
        return False
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)  # several v1 values let a sender rotate secrets
    if timestamp is None or not candidates:
        return False
    now_seconds = now.timestamp() if isinstance(now, datetime) else now
    if abs(now_seconds - timestamp) > tolerance_seconds:  # stale or from the future
        return False
    expected = _digest(secret, body, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def signed_at(header: str) -> datetime:
    """The signed timestamp of a header that `verify` accepted."""
    return datetime.fromtimestamp(int(_TIMESTAMP.search(header).group(1)), timezone.utc)


def signed_content_key(header: str, body: bytes) -> str:
    """What a replay repeats: the signed timestamp and body (not the header text, which can be varied)."""
    timestamp = _TIMESTAMP.search(header)
    return hashlib.sha256(f"{timestamp.group(1) if timestamp else ''}.".encode() + body).hexdigest()


def seen_signature_table(metadata: sa.MetaData) -> sa.Table:
    """Signatures of accepted webhooks, kept for the tolerance window so that a replay is refused."""
    return sa.Table(
        "seen_signature", metadata,
        sa.Column("signature", sa.String(256), primary_key=True),
        sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    )


def remember_signature(session: Session, table: sa.Table, header: str, body: bytes, now: datetime,
                       tolerance_seconds: int = 300) -> bool:
    """Keep a verified request's signature until it would be stale anyway; False if seen already (a replay)."""
    session.execute(table.delete().where(table.c.expires_at < now))
    expires_at = signed_at(header) + timedelta(seconds=tolerance_seconds)
    return insert_new(session, table, {"signature": signed_content_key(header, body), "expires_at": expires_at})
