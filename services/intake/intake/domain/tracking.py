"""The tracking key in an idempotency record written before revision 5b0e7a4c2d19 (December 2026).

Such a record kept the key itself sealed under the Idempotency-Key (XOR with
HMAC-SHA256(Idempotency-Key, label)) instead of the salt motcua.tracking derives keys from now.
Nothing writes one any more; the record still answers the retries of its own submission, so a
citizen whose first answer was lost across the upgrade still gets the key.
"""
from __future__ import annotations

import hashlib
import hmac

_SEAL_LABEL = b"motcua.intake.tracking-key.v1"


def unseal(sealed: str, idempotency_key: str) -> str:
    pad = hmac.new(idempotency_key.encode(), _SEAL_LABEL, hashlib.sha256).digest()
    # latin-1 decodes any bytes: a wrong key yields garbage, never an exception (the key is ASCII).
    return bytes(a ^ b for a, b in zip(bytes.fromhex(sealed), pad)).decode("latin-1")
