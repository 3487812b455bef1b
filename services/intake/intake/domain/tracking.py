"""The citizen's tracking key and the idempotency record's copy of it.

The tracking key is returned once and stored as its SHA-256 only. A retried submission must
still return it (the first answer may have been lost on the way), so the idempotency record
keeps it sealed under the Idempotency-Key itself: XOR with HMAC-SHA256(idempotency key, label),
a one-time pad because each record has its own key. The record is stored under the SHA-256 of
the Idempotency-Key, so the database alone never yields a tracking key, and no server secret has
to be managed; only the client that holds the Idempotency-Key (the one entitled to the first
answer) can open it.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

_SEAL_LABEL = b"motcua.intake.tracking-key.v1"


def new_tracking_key() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits, 22 URL-safe characters


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key_matches(tracking_key: object, expected_hash: str | None) -> bool:
    """Constant-time, and the same work whether or not the dossier exists."""
    given = sha256_hex(tracking_key) if isinstance(tracking_key, str) else ""
    return hmac.compare_digest(given, expected_hash or "0" * 64) and expected_hash is not None


def _xor(data: bytes, idempotency_key: str) -> bytes:
    pad = hmac.new(idempotency_key.encode(), _SEAL_LABEL, hashlib.sha256).digest()
    if len(data) > len(pad):
        raise ValueError("tracking key longer than the pad")
    return bytes(a ^ b for a, b in zip(data, pad))


def seal(tracking_key: str, idempotency_key: str) -> str:
    return _xor(tracking_key.encode(), idempotency_key).hex()


def unseal(sealed: str, idempotency_key: str) -> str:
    # latin-1 decodes any bytes: a wrong key yields garbage, never an exception (the key is ASCII).
    return _xor(bytes.fromhex(sealed), idempotency_key).decode("latin-1")
