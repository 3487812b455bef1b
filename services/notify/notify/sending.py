"""Sending the notification rows through the providers, with bounded retries scheduled in the database.

Why retries of SENDS are scheduled on the row (`not_before`) and not through RabbitMQ delay queues:
a provider call is not the handling of a message. The consumer that turned an event into rows has
committed and acknowledged it long before the SMS gateway answers; the `notification` row is the
durable job, and it already carries everything a retry needs (attempts, last error, when to try
next). Putting it back on the bus would add a second copy of that state whose loss or duplication
the row would then have to reconcile. The row also lets a retry honour the provider's Retry-After to
the second and quiet hours for SMS (a per-message delay, where delay queues have fixed TTLs), and
lets the desk read the whole history from one place. The consumers' own failures (the database
down, the recipient not known yet) still retry through motcua.messaging's delay queues.

The sender is a timer: each send runs in a greenlet of its own, under the correlation id of the event that
queued the row (kept on it), so the request's id finds the send, and a failure's `notification_failed`
event carries it on; a row queued before that id was kept goes under the timer's run.

Several replicas share the work with `FOR UPDATE SKIP LOCKED`; a claimed row is leased (`sending`,
`not_before` = lease end), so a replica that dies mid-send leaves it due again after the lease.
Each channel has its own green pool: a provider that is down or slow fills only its own channel's
pool, bounded by the provider's timeout, and never holds back the other channel.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import eventlet
import sqlalchemy as sa
from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram

from motcua.config import env, env_bool, env_float, env_int
from motcua.logs import correlation_context, correlation_id_var, dossier_context
from notify import repository
from notify.domain.quiet_hours import release_time
from notify.providers.base import OutgoingMessage, ProviderResult
from notify.providers.sms_http import HttpSmsProvider
from notify.providers.smtp import SmtpEmailProvider

log = logging.getLogger(__name__)

NOTIFICATIONS = Counter("motcua_notifications_total", "Notifications by channel, template and outcome "
                        "(queued, held, sent, retry, failed, undeliverable, delivered)",
                        ["channel", "template", "outcome"])
EVENT_TO_SEND = Histogram("motcua_notification_event_to_send_seconds",
                          "Seconds from the event's occurred_at to the provider accepting the message",
                          ["channel", "template"],
                          buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600))


@dataclass(frozen=True)
class Settings:
    max_attempts: int
    retry_base_seconds: float
    max_retry: timedelta
    quiet_start: time
    quiet_end: time
    ascii_sms: bool
    lease: timedelta
    concurrency: int

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(
            max_attempts=env_int("NOTIFY_MAX_ATTEMPTS", 5),
            retry_base_seconds=env_float("NOTIFY_RETRY_BASE_SECONDS", 30.0),
            max_retry=timedelta(hours=env_float("NOTIFY_MAX_RETRY_HOURS", 24.0)),
            quiet_start=time.fromisoformat(env("NOTIFY_QUIET_START", "21:00")),
            quiet_end=time.fromisoformat(env("NOTIFY_QUIET_END", "07:00")),
            ascii_sms=env_bool("NOTIFY_SMS_ASCII", False),
            # Longer than any provider's timeout and RECORD_RETRY_SECONDS: a lease that ends mid-send sends twice.
            lease=timedelta(seconds=env_float("NOTIFY_SEND_LEASE_SECONDS", 120.0)),
            concurrency=env_int("NOTIFY_SEND_CONCURRENCY", 10),
        )

    def sms_release(self, at: datetime) -> datetime:
        return release_time(at, self.quiet_start, self.quiet_end)


def retry_delay(attempts: int, base_seconds: float, retry_after: float | None) -> float:
    """Seconds to wait after the `attempts`-th failed try: the provider's Retry-After when it gave one,
    else exponential from `base_seconds` (base, 2 base, 4 base...)."""
    if retry_after is not None:
        return max(retry_after, 0.0)
    return base_seconds * 2 ** (attempts - 1)


def after_send(row: Mapping[str, Any], result: ProviderResult, now: datetime,
               settings: Settings) -> tuple[str, dict[str, Any]]:
    """(outcome, column values) for a row whose `attempts`-th try got `result`."""
    if result.accepted:
        return "sent", {"status": "sent", "provider_message_id": result.provider_message_id, "sent_at": now,
                        "last_error": None, "updated_at": now}
    error = (result.error or "provider refused the message")[:1000]
    if result.permanent:  # an invalid number or a rejected address: trying again cannot help
        return "undeliverable", {"status": "undeliverable", "last_error": error, "updated_at": now}
    retry_at = now + timedelta(seconds=retry_delay(row["attempts"], settings.retry_base_seconds, result.retry_after))
    if row["channel"] == "sms":
        retry_at = settings.sms_release(retry_at)
    if row["attempts"] >= settings.max_attempts or retry_at > row["created_at"] + settings.max_retry:
        return "failed", {"status": "failed", "last_error": error, "updated_at": now}
    return "retry", {"status": "queued", "not_before": retry_at, "last_error": error, "updated_at": now}


# After a send the provider accepted, a database that is briefly away (a failover, a restart) is waited
# for rather than left to the lease, whose end would send the message again. Shorter than any lease.
RECORD_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0)


def record_outcome(db, row: Mapping[str, Any], outcome: str, values: Mapping[str, Any],
                   retry_seconds: tuple[float, ...] = RECORD_RETRY_SECONDS) -> bool:
    """Keep what became of a send (and a failure's event); False if the row moved on while it was sent."""
    for pause in retry_seconds:
        try:
            return _record_outcome(db, row, outcome, values)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
            log.warning("notification %s: %s, but its database is unreachable (%s); recording again in %s s",
                        row["id"], outcome, type(exc).__name__, pause)
            eventlet.sleep(pause)
    return _record_outcome(db, row, outcome, values)


def _record_outcome(db, row: Mapping[str, Any], outcome: str, values: Mapping[str, Any]) -> bool:
    with db.unit_of_work() as uow:
        if not repository.finish(uow.session, row["id"], row["attempts"], values):
            return False
        if outcome == "failed":
            uow.record_event("notification_failed", {
                "notification_id": row["id"], "dossier_code": row["dossier_code"], "pickup_id": row["pickup_id"],
                "channel": row["channel"], "template_id": row["template_id"], "attempts": row["attempts"],
                "error": values["last_error"],
            }, dossier_code=row["dossier_code"])
        uow.commit()
    return True


class Outbound(DependencyProvider):
    """The providers, the sending settings, and one green pool of sends per channel."""

    # How long a dispatch asked for after a commit waits, so the commits of that moment share one claim.
    gather_seconds = 0.01

    def setup(self) -> None:
        self.settings = Settings.from_env()
        self.providers = {"email": SmtpEmailProvider.from_env(), "sms": HttpSmsProvider.from_env()}
        self.pools = {channel: GreenPool(self.settings.concurrency) for channel in self.providers}
        self._dispatch_asked = False

    def stop(self) -> None:
        for pool in self.pools.values():
            pool.waitall()  # sends in flight end within their provider's timeout
        for provider in self.providers.values():
            provider.close()

    def get_dependency(self, worker_ctx) -> "Outbound":
        return self

    def dispatch_soon(self, db, clock: Callable[[], datetime]) -> None:
        """After a handler committed notifications: send them now instead of at the timer's next pass, which is
        then only for retries and messages held by quiet hours; one dispatch serves the commits of a moment."""
        if self._dispatch_asked:
            return
        self._dispatch_asked = True
        self.container.spawn_managed_thread(lambda: self._dispatch_shortly(db, clock), identifier="notify_dispatch")

    def _dispatch_shortly(self, db, clock: Callable[[], datetime]) -> None:
        eventlet.sleep(self.gather_seconds)
        self._dispatch_asked = False
        try:
            self.dispatch(db, clock)
        except Exception:  # noqa: BLE001 - the rows stay due: the timer's next pass sends them
            log.exception("sending the notifications just queued failed; the next pass tries again")

    def dispatch(self, db, clock: Callable[[], datetime]) -> None:
        """Claim as many due rows per channel as its pool has room for, and send each in the pool."""
        for channel, pool in self.pools.items():
            room = pool.free()
            if not room:
                continue
            now = clock()
            with db.unit_of_work() as uow:
                rows = repository.claim_due(uow.session, channel, now, now + self.settings.lease, room)
                uow.commit()
            run = correlation_id_var.get()  # the timer's: a greenlet spawned here starts with no context
            for row in rows:
                pool.spawn_n(self._send, db, clock, row, run)

    def _send(self, db, clock: Callable[[], datetime], row: Mapping[str, Any], run: str | None = None) -> None:
        with correlation_context(row.get("correlation_id") or run), dossier_context(row["dossier_code"]):
            try:
                self._send_and_record(db, clock, row)
            except Exception:  # noqa: BLE001 - the lease makes the row due again; never kill the pool
                log.exception("sending notification %s failed; it is retried after its lease", row["id"])

    def _send_and_record(self, db, clock: Callable[[], datetime], row: Mapping[str, Any]) -> None:
        message = OutgoingMessage(
            notification_id=str(row["id"]), channel=row["channel"], to=row["to_address"], subject=row["subject"],
            body=row["body"], html=row["html"], sender_reference=str(row["id"]))
        result = self.providers[row["channel"]].send(message)
        now = clock()
        outcome, values = after_send(row, result, now, self.settings)
        if not record_outcome(db, row, outcome, values):
            log.warning("notification %s moved on while it was being sent", row["id"])
            return
        NOTIFICATIONS.labels(row["channel"], row["template_id"], outcome).inc()
        if outcome == "sent":
            EVENT_TO_SEND.labels(row["channel"], row["template_id"]).observe(
                (now - row["event_occurred_at"]).total_seconds())
        log.info("notification %s (%s, template %s, attempt %s): %s%s", row["id"], row["channel"],
                 row["template_id"], row["attempts"], outcome, "" if result.accepted else f": {result.error}")
