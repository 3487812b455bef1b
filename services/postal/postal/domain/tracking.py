"""The citizen's tracking key for a pickup, and how a retried booking gets the same one back.

The key is shown once and stored as its SHA-256 only; once the dossier is registered, the same
key opens it (intake keeps the hash from the handover). A booking retried with its
Idempotency-Key must answer the first key again, so a booking with a key derives its tracking
key as HMAC-SHA256(Idempotency-Key, random salt): the database keeps only the salt, and the
key is recomputed only by the client that holds the Idempotency-Key. The salt being random and
stored nowhere else, nobody outside the database can compute the key from a guessed
Idempotency-Key either.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from motcua.tracking import KEY_BYTES
from motcua.tracking import new_tracking_key as random_tracking_key

_LABEL = b"motcua.postal.tracking-key.v1:"


def new_tracking_key(idempotency_key: str | None) -> tuple[str, str | None]:
    """(the key, the salt to keep with the idempotency record); random, and no salt, without an Idempotency-Key."""
    if idempotency_key is None:
        return random_tracking_key(), None
    salt = secrets.token_hex(KEY_BYTES)
    return derived_tracking_key(idempotency_key, salt), salt


def derived_tracking_key(idempotency_key: str, salt: str) -> str:
    digest = hmac.new(idempotency_key.encode(), _LABEL + bytes.fromhex(salt), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:KEY_BYTES]).rstrip(b"=").decode()
