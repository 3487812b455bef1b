"""What a provider is given and what it answers. Outcomes are results, not exceptions:
the service decides retry or give up from `accepted`, `permanent` and `retry_after`."""
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class OutgoingMessage:
    notification_id: str
    channel: str  # "sms" | "email"
    to: str  # phone number or e-mail address
    subject: str | None
    body: str
    html: str | None = None
    sender_reference: str | None = None  # echoed by the provider (delivery receipts); defaults to notification_id

    @property
    def reference(self) -> str:
        return self.sender_reference or self.notification_id


@dataclass(frozen=True)
class ProviderResult:
    accepted: bool
    provider_message_id: str | None = None
    permanent: bool = False  # True: retrying cannot help (invalid number, address refused)
    retry_after: float | None = None  # seconds the provider asked us to wait
    error: str | None = None

    @classmethod
    def ok(cls, provider_message_id: str | None) -> "ProviderResult":
        return cls(True, provider_message_id)

    @classmethod
    def transient(cls, error: str, retry_after: float | None = None) -> "ProviderResult":
        return cls(False, None, False, retry_after, error)

    @classmethod
    def rejected(cls, error: str) -> "ProviderResult":
        return cls(False, None, True, None, error)


@runtime_checkable
class SmsProvider(Protocol):
    def send(self, message: OutgoingMessage) -> ProviderResult: ...

    def close(self) -> None: ...  # the connections it keeps between messages, when the service stops


@runtime_checkable
class EmailProvider(Protocol):
    def send(self, message: OutgoingMessage) -> ProviderResult: ...

    def close(self) -> None: ...  # the connections it keeps between messages, when the service stops
