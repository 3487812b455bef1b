"""The citizen's tracking key (motcua.tracking): 128 random bits kept only as a hash, and under an
Idempotency-Key derived again from that key and a salt, so a retry gets the first key back."""
import base64
import hashlib
import re

from intake.domain.tracking import unseal
from motcua.tracking import key_matches, new_tracking_key, reissued_tracking_key, sha256_hex

LABEL = b"motcua.test.tracking-key.v1:"


def test_a_key_without_an_idempotency_key_has_128_random_bits_and_no_salt():
    key, salt = new_tracking_key(None, LABEL)
    assert salt is None
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", key) and len(base64.urlsafe_b64decode(key + "==")) == 16
    assert new_tracking_key(None, LABEL)[0] != key


def test_a_key_is_kept_as_its_sha256_and_matches_only_itself():
    key, _ = new_tracking_key(None, LABEL)
    assert sha256_hex(key) == hashlib.sha256(key.encode()).hexdigest()
    assert key_matches(key, sha256_hex(key))
    assert not key_matches(key + "x", sha256_hex(key))
    assert not key_matches(key, None) and not key_matches(None, sha256_hex(key))


def test_a_key_under_an_idempotency_key_is_derived_again_from_it_and_its_salt_only():
    key, salt = new_tracking_key("retry-key-0001", LABEL)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", key) and re.fullmatch(r"[0-9a-f]{32}", salt)
    assert reissued_tracking_key("retry-key-0001", salt, LABEL) == key
    assert reissued_tracking_key("retry-key-0002", salt, LABEL) != key
    assert reissued_tracking_key("retry-key-0001", salt, b"motcua.other.tracking-key.v1:") != key
    assert new_tracking_key("retry-key-0001", LABEL)[0] != key  # a fresh salt: nobody derives it without the database


def test_a_key_sealed_by_intake_before_the_salts_still_opens_with_its_idempotency_key():
    # Written by intake before revision 5b0e7a4c2d19 for the key Qm9uZ0NoYW5oLUtleS0wMQ.
    sealed = "805bce4113ab40ba59c368d4918fbb0cfb345d7c6ff8"
    assert unseal(sealed, "b5f1a4d2-idem") == "Qm9uZ0NoYW5oLUtleS0wMQ"
    assert unseal(sealed, "another-key") != "Qm9uZ0NoYW5oLUtleS0wMQ"
