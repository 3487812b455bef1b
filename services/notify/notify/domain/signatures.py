"""HMAC-SHA256 signatures of webhooks (the SMS gateway's delivery receipts).

Header: `X-Signature: t=<unix seconds>,v1=<hex of HMAC(secret, "<t>." + body)>`. Signing the
timestamp with the body and refusing old timestamps bounds a replay to the tolerance window;
the receiver's de-duplication of receipts closes that window.
"""
import hashlib
import hmac
from datetime import datetime


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
