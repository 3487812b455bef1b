"""The carrier behind a small interface: place an order, get its waybill.

`Carrier.place_order` takes a `motcua_contracts.postal.CarrierOrderSchema` dict and answers
the accepted order (`CarrierOrderAcceptedSchema`): waybill, our client reference, the
carrier's name. It raises `CarrierUnavailable` for anything worth retrying (timeout,
connection refused, 5xx, 429) and `CarrierRefused` for an order the carrier will never take
(4xx with its reason). Placing the same client_reference twice answers the first waybill.

`HttpCarrier` speaks the project's carrier API over HTTP (POSTAL_CARRIER_URL,
POSTAL_CARRIER_API_KEY); `carrier_from_env()` builds the configured one. An order carries the
request's correlation id in `X-Correlation-ID`, so a carrier that logs it joins our trace.
"""
from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import requests
from marshmallow import ValidationError

from motcua.config import env, env_float, http_port
from motcua.logs import correlation_id_var
from motcua_contracts.postal import CarrierOrderAcceptedSchema, CarrierOrderSchema
from motcua_contracts.base import shared

log = logging.getLogger(__name__)


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


class HttpCarrier:
    """The project's carrier API over HTTP: `POST {base}/v1/orders` with a bearer key."""

    def __init__(self, base_url: str, api_key: str | None, timeout_seconds: float = 5.0,
                 name: str | None = None, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout_seconds = timeout_seconds
        self.name = name or urlsplit(self.base_url).hostname or "carrier"
        self._session = session or requests.Session()

    def place_order(self, order: dict) -> dict:
        schema = CarrierOrderSchema()
        # Loaded so that an off-contract order (our bug) fails here, not at the carrier, and defaults are explicit.
        body = schema.dump(schema.load(schema.dump(order)))
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        if (correlation_id := correlation_id_var.get()) is not None:
            headers["X-Correlation-ID"] = correlation_id
        try:
            response = self._session.post(f"{self.base_url}/v1/orders", json=body, headers=headers,
                                          timeout=self.timeout_seconds)
        except requests.RequestException as exc:
            raise CarrierUnavailable(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if response.status_code in (200, 201):
            try:
                accepted = shared(CarrierOrderAcceptedSchema).load(response.json())
            except (ValueError, ValidationError) as exc:
                raise CarrierUnavailable(f"{self.name}: unreadable answer to an order: {exc}") from exc
            if accepted["client_reference"] != body["client_reference"]:
                raise CarrierUnavailable(f"{self.name}: answered for another order ({accepted['client_reference']})")
            return accepted
        reason = _reason(response)
        if response.status_code in (401, 403):
            # Our key, not the order: retrying helps once an operator fixes the configuration.
            log.error("carrier %s refused our credentials (%s)", self.name, response.status_code)
            raise CarrierUnavailable(f"{self.name}: credentials refused ({response.status_code}): {reason}")
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise CarrierUnavailable(f"{self.name}: {response.status_code}: {reason}")
        raise CarrierRefused(f"{self.name}: {response.status_code}: {reason}")


def _reason(response: requests.Response) -> str:
    """The carrier's own words for a refusal: its error message when it sent one, else the start of the body."""
    try:
        error = response.json()["error"]
        return str(error.get("message") or error) if isinstance(error, dict) else str(error)
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def callback_url() -> str:
    """Where the carrier calls back: POSTAL_CALLBACK_URL, else postal's own HTTP port on this machine."""
    return env("POSTAL_CALLBACK_URL", f"http://127.0.0.1:{http_port('postal')}/callbacks/carrier")


def carrier_from_env() -> Carrier:
    """The configured carrier: POSTAL_CARRIER_URL (default: the simulator on this machine), POSTAL_CARRIER_API_KEY."""
    return HttpCarrier(env("POSTAL_CARRIER_URL", f"http://127.0.0.1:{http_port('carrier_simulator')}"),
                       env("POSTAL_CARRIER_API_KEY"), env_float("POSTAL_CARRIER_TIMEOUT_SECONDS", 5.0),
                       env("POSTAL_CARRIER_NAME"))
