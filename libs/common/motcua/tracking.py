"""The citizen's tracking key, and "the same body" of an idempotent request: one rule for every service.

A tracking key (at least 64 bits; these have 128) is shown once and stored as its SHA-256 only.
The same key opens a dossier in intake, status and notify, and a pickup in postal, so they all
check it here: in constant time, and with the same work whether or not the record exists.

A request retried with its Idempotency-Key must get the first answer again, tracking key included
(the first answer may have been lost on the way). So a key issued under an Idempotency-Key is
derived, HMAC-SHA256(Idempotency-Key, label + random salt), and the idempotency record keeps only
the salt: the key is recomputed only by the client that holds the Idempotency-Key, the database
alone never yields it, and no server secret has to be managed. The salt being random, nobody
outside the database can compute a key from a guessed Idempotency-Key either. The label keeps
each service's keys apart.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

KEY_BYTES = 16  # 128 random bits, 22 URL-safe characters


def new_tracking_key(idempotency_key: str | None, label: bytes) -> tuple[str, str | None]:
    """(the key, the salt the idempotency record keeps); random, and no salt, without an Idempotency-Key."""
    if idempotency_key is None:
        return secrets.token_urlsafe(KEY_BYTES), None
    salt = secrets.token_hex(KEY_BYTES)
    return reissued_tracking_key(idempotency_key, salt, label), salt


def reissued_tracking_key(idempotency_key: str, salt: str, label: bytes) -> str:
    """The key new_tracking_key derived for this Idempotency-Key and salt."""
    digest = hmac.new(idempotency_key.encode(), label + bytes.fromhex(salt), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:KEY_BYTES]).rstrip(b"=").decode()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def key_matches(given: object, expected_hash: str | None) -> bool:
    """The key against its stored SHA-256; no stored hash matches nothing."""
    digest = sha256_hex(given) if isinstance(given, str) else ""
    return hmac.compare_digest(digest, expected_hash or "0" * 64) and expected_hash is not None


def request_hash(body: dict) -> str:
    """SHA-256 of a loaded (or dumped) request body as canonical JSON: what "the same body" means
    when an Idempotency-Key or a command id comes again."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_hex(canonical)
