"""notify's settings, read once when the service starts (motcua.dependencies.BuiltAtStart). How sending behaves
(attempts, quiet hours, leases) is notify.sending.Settings, read by the sender as it starts."""
from __future__ import annotations

from dataclasses import dataclass

from motcua.config import DEFAULT_PORTS, env, env_float, http_port


@dataclass(frozen=True)
class NotifySettings:
    # Where the citizen's links point: the public portal (NOTIFY_PORTAL_URL), else the gateway on this machine.
    portal_url: str = f"http://localhost:{DEFAULT_PORTS['gateway']}"
    sms_callback_secret: str | None = None  # what the SMS gateway signs receipts with; none: receipts answer 503
    send_interval_seconds: float = 1.0  # how often due notifications are handed to the sender

    @classmethod
    def from_env(cls) -> NotifySettings:
        return cls(portal_url=env("NOTIFY_PORTAL_URL", f"http://localhost:{http_port('gateway')}"),
                   sms_callback_secret=env("NOTIFY_SMS_CALLBACK_SECRET") or None,
                   send_interval_seconds=env_float("NOTIFY_SEND_INTERVAL_SECONDS", cls.send_interval_seconds))
