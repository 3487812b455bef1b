"""The citizen's choices: channels, language, opt-out; legally required notices ignore opt-out."""
from dataclasses import dataclass

from notify.domain.templates import LEGALLY_REQUIRED, TEMPLATES

CHANNEL_ORDER = ("sms", "email")
LANGUAGES = ("vi", "en")  # "en" renders the Vietnamese text until English templates exist


@dataclass(frozen=True)
class Preferences:
    channels: frozenset[str] = frozenset(CHANNEL_ORDER)
    language: str = "vi"
    opted_out: bool = False

    def __post_init__(self) -> None:
        if not self.channels or not self.channels <= set(CHANNEL_ORDER):
            raise ValueError(f"channels must be a non-empty subset of {CHANNEL_ORDER}")
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}")


DEFAULT = Preferences()


def channels_for(prefs: Preferences, template_id: str, phone: str | None, email: str | None) -> list[str]:
    """The channels a notice goes out on, in a stable order; only channels with an address."""
    if template_id not in TEMPLATES:
        raise ValueError(f"unknown template {template_id!r}")
    available = [channel for channel, address in zip(CHANNEL_ORDER, (phone, email))
                 if address and address.strip()]
    chosen = [channel for channel in available if channel in prefs.channels]
    if template_id in LEGALLY_REQUIRED:
        # Forms 01-04 must reach the citizen: opt-out does not apply, and when the chosen
        # channels have no address any channel that has one is used.
        return chosen or available
    return [] if prefs.opted_out else chosen
