"""Idempotency keys, written once: their one shape, and what a key that comes again gets.

A client sends the same key with a retry. The first request's answer is kept with the hash of
its body (motcua.tracking.request_hash); the same key with the same body gets that answer
again, the same key with another body is a Conflict, never a second effect. Where the answer
is kept is each service's own (intake's idempotency records, postal's booking keys, status's
command outcomes); the rules are these.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from motcua.errors import Conflict, ValidationFailed

# Visible ASCII: a key travels in an HTTP header, and the OpenAPI document states this same pattern.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{8,128}$"
_KEY = re.compile(IDEMPOTENCY_KEY_PATTERN)
KEY_RULE = "Must be 8 to 128 visible ASCII characters, e.g. a UUID."


def is_valid_key(key: object) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def check_key(key: object, *, required: bool = False) -> str | None:
    """The key as given (None when none was and none is required); ValidationFailed when it is malformed."""
    if key is None and not required:
        return None
    if not is_valid_key(key):
        raise ValidationFailed("Bad idempotency key.", {"idempotency_key": [KEY_RULE]})
    return key


def first_answer(kept: tuple[str, Mapping[str, Any]] | None, request_hash: str, what: str) -> Mapping[str, Any] | None:
    """The answer kept for the key as (request hash, answer): None when the key is new; Conflict when the
    key first came with another request (`what` names it: "submission", "booking", "command")."""
    if kept is None:
        return None
    first_hash, answer = kept
    if first_hash != request_hash:
        raise Conflict(f"This idempotency key was already used for a different {what}.",
                       {"idempotency_key": [f"Already used for a different {what}; use a new key."]})
    return answer
