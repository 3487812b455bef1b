"""The retry rule of notify's sender: exponential backoff or Retry-After, bounded by attempts and total time."""
from datetime import datetime, time, timedelta, timezone

import pytest

from notify.providers.base import ProviderResult
from notify.sending import Settings, after_send, retry_delay

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hai Phong
SETTINGS = Settings(max_attempts=5, retry_base_seconds=30, max_retry=timedelta(hours=24), quiet_start=time(21),
                    quiet_end=time(7), ascii_sms=False, lease=timedelta(minutes=2), concurrency=10)


def row(attempts: int, channel: str = "sms", created_at: datetime = NOW) -> dict:
    return {"attempts": attempts, "channel": channel, "created_at": created_at}


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 30), (2, 60), (3, 120), (5, 480)])
def test_backoff_doubles_from_the_base(attempts, seconds):
    assert retry_delay(attempts, 30, None) == seconds


def test_retry_after_from_the_provider_wins():
    assert retry_delay(4, 30, 7) == 7


def test_accepted_is_sent_and_permanent_is_undeliverable():
    assert after_send(row(1), ProviderResult.ok("m-1"), NOW, SETTINGS)[1]["provider_message_id"] == "m-1"
    outcome, values = after_send(row(1), ProviderResult.rejected("invalid_number"), NOW, SETTINGS)
    assert (outcome, values["status"], "not_before" in values) == ("undeliverable", "undeliverable", False)


def test_a_transient_failure_is_queued_again_after_the_backoff():
    outcome, values = after_send(row(2), ProviderResult.transient("HTTP 500"), NOW, SETTINGS)
    assert (outcome, values["status"], values["not_before"]) == ("retry", "queued", NOW + timedelta(seconds=60))


def test_an_sms_retry_falling_in_quiet_hours_waits_for_the_morning():
    evening = datetime(2026, 11, 25, 13, 59, tzinfo=timezone.utc)  # 20:59 in Hai Phong
    _, values = after_send(row(1, created_at=evening), ProviderResult.transient("x", 120), evening, SETTINGS)
    assert values["not_before"] == datetime(2026, 11, 26, 0, 0, tzinfo=timezone.utc)
    _, email = after_send(row(1, "email", evening), ProviderResult.transient("x", 120), evening, SETTINGS)
    assert email["not_before"] == evening + timedelta(seconds=120)


def test_retries_end_failed_at_the_attempt_bound_or_the_time_bound():
    assert after_send(row(5), ProviderResult.transient("x"), NOW, SETTINGS)[0] == "failed"
    old = NOW - timedelta(hours=23, minutes=59, seconds=50)
    assert after_send(row(1, "email", old), ProviderResult.transient("x", 5), NOW, SETTINGS)[0] == "retry"
    assert after_send(row(1, "email", old), ProviderResult.transient("x", 30), NOW, SETTINGS)[0] == "failed"
