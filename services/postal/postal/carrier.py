"""The carrier behind a small interface: place an order, get its waybill.

`Carrier.place_order` takes a `motcua_contracts.postal.CarrierOrderSchema` dict and answers
the accepted order (`CarrierOrderAcceptedSchema`): waybill, our client reference, the
carrier's name. It raises `CarrierUnavailable` for anything worth retrying (timeout,
connection refused, 5xx, 429) and `CarrierRefused` for an order the carrier will never take
(4xx with its reason). Placing the same client_reference twice answers the first waybill.

`HttpCarrier` speaks the project's carrier API over HTTP (POSTAL_CARRIER_URL,
POSTAL_CARRIER_API_KEY); `carrier_from_env()` builds the configured one.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable


class CarrierError(Exception):
    pass


class CarrierUnavailable(CarrierError):
    """The carrier could not be reached or asked us to come back later: retry."""


class CarrierRefused(CarrierError):
    """The carrier refused the order itself (bad address, unsupported area): retrying cannot help."""


@runtime_checkable
class Carrier(Protocol):
    name: str

    def place_order(self, order: dict) -> dict:
        ...
