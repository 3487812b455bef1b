"""The idempotency record's copy of the citizen's tracking key (motcua.tracking).

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

_SEAL_LABEL = b"motcua.intake.tracking-key.v1"


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
