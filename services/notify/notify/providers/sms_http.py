"""SMS through an HTTP gateway: POST JSON, Bearer key; the HTTP status decides the outcome."""
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests
import requests.adapters

from motcua.config import env, env_bool, env_float, env_int
from notify.domain.sms import strip_diacritics
from notify.providers.base import OutgoingMessage, ProviderResult


def _retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


def _error_text(response: requests.Response) -> str:
    try:
        detail = response.json().get("error")
    except (ValueError, AttributeError):
        detail = None
    return f"HTTP {response.status_code}: {detail or response.text[:200]}"


class HttpSmsProvider:
    def __init__(self, url: str, api_key: str, sender: str, timeout: float = 5,
                 ascii_only: bool = False, connections: int = 10) -> None:
        self.url, self.api_key, self.sender = url, api_key, sender
        self.timeout, self.ascii_only = timeout, ascii_only
        self._session = requests.Session()  # keep-alive to the gateway across messages
        # One kept connection for each send that may run at once (NOTIFY_SEND_CONCURRENCY), not requests' 10.
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=connections)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    @classmethod
    def from_env(cls) -> "HttpSmsProvider":
        return cls(
            url=env("NOTIFY_SMS_URL", "http://127.0.0.1:9090/sms"),
            api_key=env("NOTIFY_SMS_API_KEY", ""),
            sender=env("NOTIFY_SMS_SENDER", "MOTCUA"),
            timeout=env_float("NOTIFY_SMS_TIMEOUT", 5),
            ascii_only=env_bool("NOTIFY_SMS_ASCII", False),
            connections=env_int("NOTIFY_SEND_CONCURRENCY", 10),
        )

    def send(self, message: OutgoingMessage) -> ProviderResult:
        # The gateway can only take unaccented text: strip here too, whatever was rendered.
        text = strip_diacritics(message.body) if self.ascii_only else message.body
        payload = {"to": message.to, "text": text, "sender": self.sender, "reference": message.reference}
        try:
            response = self._session.post(self.url, json=payload, timeout=self.timeout,
                                          headers={"Authorization": f"Bearer {self.api_key}"})
        except requests.Timeout:
            # The gateway may still have taken it; `reference` lets a gateway drop the retry's duplicate.
            return ProviderResult.transient(f"timeout after {self.timeout}s")
        except requests.RequestException as exc:
            return ProviderResult.transient(f"{type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            try:
                message_id = response.json().get("id")
            except (ValueError, AttributeError):
                message_id = None
            return ProviderResult.ok(None if message_id is None else str(message_id))
        if status in (408, 429) or status >= 500:  # request timeout, throttled, gateway trouble
            return ProviderResult.transient(_error_text(response), _retry_after(response.headers.get("Retry-After")))
        if status in (401, 403):
            # Our credentials, not the citizen's number: retry, and end `failed` (alerted) if nobody fixes them.
            return ProviderResult.transient(_error_text(response))
        if 400 <= status < 500:
            return ProviderResult.rejected(_error_text(response))  # invalid number, bad request
        return ProviderResult.transient(_error_text(response))

    def close(self) -> None:
        self._session.close()
