"""HMAC-SHA256 signed webhooks: the SMS gateway's delivery receipts, the carrier's callbacks.

Header: `X-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>." + body)>`. Signing the
timestamp with the body and refusing old timestamps bounds a replay to the tolerance window;
the receiver's memory of seen signatures (`remember_signature`) closes that window.
"""
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from motcua.db import UTCDateTime, insert_new

# Unix seconds as a sender writes them: no sign, no leading zero (so one instant has one spelling).
_TIMESTAMP = re.compile(r"[1-9][0-9]{0,11}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
MAX_HEADER_LENGTH = 1024


@dataclass(frozen=True)
class Signature:
    """A signature header, parsed once: its timestamp and the v1 digests offered for it."""
    timestamp: int
    digests: tuple[str, ...]

    @property
    def signed_at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, timezone.utc)


def parse(header: str | None) -> Signature | None:
    """`t=<unix seconds>,v1=<hex>[,v1=<hex>...]` and nothing else, or None: exactly one `t`, written
    without leading zeros, and one or more `v1` (several let a sender rotate secrets)."""
    if not header or len(header) > MAX_HEADER_LENGTH:
        return None
    timestamps, digests = [], []
    for part in header.split(","):
        key, separator, value = part.strip().partition("=")
        if key == "t" and separator and _TIMESTAMP.fullmatch(value):
            timestamps.append(int(value))
        elif key == "v1" and separator and _DIGEST.fullmatch(value):
            digests.append(value)
        else:
            return None
    if len(timestamps) != 1 or not digests:
        return None
    return Signature(timestamps[0], tuple(digests))


def _digest(secret: bytes, body: bytes, timestamp: int) -> str:
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={_digest(secret, body, timestamp)}"


def verify(secret: bytes, body: bytes, header: str | None, now: datetime | float,
           tolerance_seconds: int = 300) -> Signature | None:
    """The verified signature of a well-formed header whose timestamp is fresh and one of whose v1 matches;
    None for anything else. What was verified is what a replay is recognised by (`remember_signature`)."""
    signature = parse(header)
    if signature is None:
        return None
    now_seconds = now.timestamp() if isinstance(now, datetime) else now
    if abs(now_seconds - signature.timestamp) > tolerance_seconds:  # stale or from the future
        return None
    expected = _digest(secret, body, signature.timestamp)
    if not any(hmac.compare_digest(expected, digest) for digest in signature.digests):
        return None
    return signature


def signed_content_key(signature: Signature, body: bytes) -> str:
    """What a replay repeats: the verified timestamp and the body (not the header text, which can be varied)."""
    return hashlib.sha256(f"{signature.timestamp}.".encode() + body).hexdigest()


def seen_signature_table(metadata: sa.MetaData) -> sa.Table:
    """Signatures of accepted webhooks, kept for the tolerance window so that a replay is refused."""
    return sa.Table(
        "seen_signature", metadata,
        sa.Column("signature", sa.String(256), primary_key=True),
        sa.Column("expires_at", UTCDateTime, nullable=False, index=True),
    )


def remember_signature(session: Session, table: sa.Table, signature: Signature, body: bytes, now: datetime,
                       tolerance_seconds: int = 300) -> bool:
    """Keep a verified request's signature until it would be stale anyway; False if seen already (a replay)."""
    session.execute(table.delete().where(table.c.expires_at < now))
    expires_at = signature.signed_at + timedelta(seconds=tolerance_seconds)
    return insert_new(session, table, {"signature": signed_content_key(signature, body), "expires_at": expires_at})
