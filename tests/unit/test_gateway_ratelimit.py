"""The lookup rate limit: token buckets per client, failed lookups charged extra."""
import pytest
from werkzeug.test import EnvironBuilder

from motcua.errors import NotFound

from gateway.ratelimit import FAILED_LOOKUP_EXTRA_COST, LookupGuard, LookupsExhausted, TokenBucket, client_address


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_full_bucket_admits_its_capacity_then_says_how_long_to_wait():
    clock = Clock()
    bucket = TokenBucket(30, clock=clock)
    assert [bucket.take("a") for _ in range(30)] == [0.0] * 30
    assert bucket.take("a") == pytest.approx(2.0)  # 30 a minute: one token every 2 s
    assert bucket.take("b") == 0.0  # other clients have their own bucket


def test_tokens_come_back_with_time_but_never_above_capacity():
    clock = Clock()
    bucket = TokenBucket(6, clock=clock)
    for _ in range(6):
        bucket.take("a")
    clock.now += 10  # one token
    assert bucket.take("a") == 0.0
    assert bucket.take("a") > 0
    clock.now += 3600
    assert [bucket.take("a") for _ in range(7)].count(0.0) == 6


def test_a_refused_take_spends_nothing():
    clock = Clock()
    bucket = TokenBucket(1, clock=clock)
    bucket.take("a")
    for _ in range(5):
        assert bucket.take("a") == pytest.approx(60)
    clock.now += 60
    assert bucket.take("a") == 0.0


def test_forced_take_goes_into_debt():
    clock = Clock()
    bucket = TokenBucket(6, clock=clock)
    bucket.take("a", 10, force=True)
    assert bucket.take("a") == pytest.approx(50)  # from -4 back to 1 token at 0.1 a second


def test_memory_is_bounded_by_forgetting_the_least_recent_client():
    bucket = TokenBucket(1, max_clients=2, clock=Clock())
    bucket.take("a")
    bucket.take("b")
    bucket.take("a")  # a is now the most recent
    bucket.take("c")  # b is forgotten
    assert bucket.take("a") > 0 and bucket.take("b") == 0.0


def request(remote="10.0.0.9", forwarded=None):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return EnvironBuilder(headers=headers, environ_base={"REMOTE_ADDR": remote}).get_request()


def test_client_address_trusts_only_the_configured_proxy_hops():
    spoofed = request(forwarded="6.6.6.6, 203.0.113.7")
    assert client_address(spoofed, 0) == "10.0.0.9"
    assert client_address(spoofed, 1) == "203.0.113.7"
    assert client_address(request(forwarded="203.0.113.7"), 2) == "10.0.0.9"


def test_guard_refuses_with_retry_after_and_charges_failed_lookups_extra():
    clock = Clock()
    guard = LookupGuard(TokenBucket(60, clock=clock), 0)
    with pytest.raises(NotFound), guard.guard(request()):
        raise NotFound("no such dossier")
    assert guard.bucket.take(client_address(request(), 0), 60 - 1 - FAILED_LOOKUP_EXTRA_COST) == 0.0
    with pytest.raises(LookupsExhausted) as refused, guard.guard(request()):
        pytest.fail("a refused lookup must not run")
    assert refused.value.http_status == 429 and refused.value.retry_after == 1
