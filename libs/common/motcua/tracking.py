"""The citizen's tracking key, and "the same body" of an idempotent request: one rule for every service.

A tracking key (at least 64 bits; these have 128) is shown once and stored as its SHA-256 only.
The same key opens a dossier in intake, status and notify, and a pickup in postal, so they all
check it here: in constant time, and with the same work whether or not the record exists.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets

KEY_BYTES = 16  # 128 random bits, 22 URL-safe characters


def new_tracking_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


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
