"""Codes of the National Public Service Portal, kept as plain data.

The dossier states' national status code (TrangThaiHoSo) and clock behaviour, and the
submission channels' codes; the states and channels themselves are the contracts' enums
(motcua_contracts.common), re-exported here. When the national rules are amended,
the change is an edit of the tables below (docs/architecture.md section 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from motcua_contracts.common import Channel, DossierState

from .calendar import TIMEZONE

__all__ = [
    "DossierState",
    "ClockState",
    "Channel",
    "NATIONAL_STATUS_CODE",
    "CLOCK",
    "NATIONAL_CHANNEL_CODE",
    "NATIONAL_TIMESTAMP_FORMAT",
    "format_national_timestamp",
]


class ClockState(StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


_S = DossierState

# Read-only views: a module-level table mutated at run time would be a silent bug.
NATIONAL_STATUS_CODE: Mapping[DossierState, int] = MappingProxyType({
    _S.SUBMITTED: 1,
    _S.RECEIVED: 2,
    _S.REFUSED: 3,
    _S.IN_PROGRESS: 4,
    _S.AWAITING_SUPPLEMENT: 5,
    _S.AWAITING_PAYMENT: 6,
    _S.WITHDRAWN: 7,
    _S.STOPPED: 8,
    _S.COMPLETED: 9,
    _S.RETURNED: 10,
})

CLOCK: Mapping[DossierState, ClockState] = MappingProxyType({
    _S.SUBMITTED: ClockState.NOT_STARTED,
    _S.RECEIVED: ClockState.RUNNING,
    _S.REFUSED: ClockState.STOPPED,
    _S.IN_PROGRESS: ClockState.RUNNING,
    _S.AWAITING_SUPPLEMENT: ClockState.PAUSED,
    _S.AWAITING_PAYMENT: ClockState.PAUSED,
    _S.WITHDRAWN: ClockState.STOPPED,
    _S.STOPPED: ClockState.STOPPED,
    _S.COMPLETED: ClockState.STOPPED,
    _S.RETURNED: ClockState.STOPPED,
})

NATIONAL_CHANNEL_CODE: Mapping[Channel, int] = MappingProxyType({
    Channel.COUNTER: 1,
    Channel.ONLINE: 2,
    Channel.POSTAL: 3,
})

NATIONAL_TIMESTAMP_FORMAT = "%Y%m%d%H%M%S"  # the portal's yyyyMMddHHmmss


def format_national_timestamp(dt: datetime) -> str:
    """``yyyyMMddHHmmss`` in Vietnam local time, as the national portal expects.

    ``dt`` must be timezone-aware (any zone); a naive datetime is refused rather
    than guessed.
    """
    if not isinstance(dt, datetime):
        raise TypeError(f"expected an aware datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: timestamps must be timezone-aware")
    return dt.astimezone(TIMEZONE).strftime(NATIONAL_TIMESTAMP_FORMAT)
