"""notify's settings, read once when the service starts (motcua.dependencies.BuiltAtStart). How sending behaves
(attempts, quiet hours, leases) is notify.sending.Settings, read by the sender as it starts."""
from __future__ import annotations

from dataclasses import dataclass

from motcua.config import env, env_float


@dataclass(frozen=True)
class NotifySettings:
    portal_url: str = "http://localhost:8000"  # where the citizen's links point
    sms_callback_secret: str | None = None  # what the SMS gateway signs receipts with; none: receipts answer 503
    send_interval_seconds: float = 1.0  # how often due notifications are handed to the sender

    @classmethod
    def from_env(cls) -> NotifySettings:
        return cls(portal_url=env("NOTIFY_PORTAL_URL", cls.portal_url),
                   sms_callback_secret=env("NOTIFY_SMS_CALLBACK_SECRET") or None,
                   send_interval_seconds=env_float("NOTIFY_SEND_INTERVAL_SECONDS", cls.send_interval_seconds))
