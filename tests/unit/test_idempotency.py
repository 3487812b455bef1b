"""The one shape of an idempotency key and what a key that comes again gets (motcua.idempotency)."""
import pytest

from motcua.errors import Conflict, ValidationFailed
from motcua.idempotency import check_key, first_answer


@pytest.mark.parametrize("key", ["12345678", "x" * 128, "3f2b9c1e-6a4d-4f0e-9b7a-2c5d8e1f0a3b", "a!~b#c$d"])
def test_visible_ascii_keys_of_8_to_128_characters_are_taken(key):
    assert check_key(key) == key == check_key(key, required=True)


@pytest.mark.parametrize("key", ["1234567", "x" * 129, "has space", "khóa-1234", "tab\there", 12345678, ""])
def test_other_keys_are_refused_with_the_field_named(key):
    with pytest.raises(ValidationFailed) as refused:
        check_key(key)
    assert list(refused.value.fields) == ["idempotency_key"]


def test_no_key_is_fine_unless_one_is_required():
    assert check_key(None) is None
    with pytest.raises(ValidationFailed):
        check_key(None, required=True)


def test_a_new_key_has_no_answer_the_same_request_gets_the_first_and_another_request_a_conflict():
    assert first_answer(None, "hash-1", "booking") is None
    assert first_answer(("hash-1", {"pickup_id": "p-1"}), "hash-1", "booking") == {"pickup_id": "p-1"}
    with pytest.raises(Conflict) as conflict:
        first_answer(("hash-1", {"pickup_id": "p-1"}), "hash-2", "booking")
    assert "different booking" in str(conflict.value) and "idempotency_key" in conflict.value.fields
