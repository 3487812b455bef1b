"""The simulated carrier's memory and its callbacks: orders, scenarios driven on command or on a
schedule, signed callbacks retried in the background like a real carrier's.

State is in memory and guarded by one lock; no HTTP call is made while holding it.
"""
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import requests
from marshmallow import ValidationError

from motcua import config
from motcua.errors import Conflict, MalformedInput, NotFound, marshmallow_fields
from carrier_simulator import rules

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Settings:
    api_key: str
    callback_secret: bytes
    carrier_name: str = "Bưu điện mô phỏng"
    step_seconds: float = 0.0  # 0: orders move only on command
    scenario: str = "deliver"  # default for delivery orders
    retry_seconds: float = 1.0
    retry_attempts: int = 5
    callback_timeout: float = 5.0

    @classmethod
    def from_env(cls) -> "Settings":
        api_key = config.env("CARRIER_SIMULATOR_API_KEY")
        secret = config.env("CARRIER_SIMULATOR_CALLBACK_SECRET")
        if not api_key or not secret:
            raise SystemExit("carrier_simulator: set CARRIER_SIMULATOR_API_KEY and CARRIER_SIMULATOR_CALLBACK_SECRET")
        scenario = config.env("CARRIER_SIMULATOR_SCENARIO", "deliver")
        if scenario not in rules.DELIVERY_SCENARIOS:
            raise SystemExit(f"carrier_simulator: CARRIER_SIMULATOR_SCENARIO is one of {rules.DELIVERY_SCENARIOS}")
        return cls(
            api_key=api_key, callback_secret=secret.encode(),
            carrier_name=config.env("CARRIER_SIMULATOR_NAME", cls.carrier_name),
            step_seconds=config.env_float("CARRIER_SIMULATOR_STEP_SECONDS", 0.0), scenario=scenario,
            retry_seconds=config.env_float("CARRIER_SIMULATOR_RETRY_SECONDS", cls.retry_seconds),
            retry_attempts=config.env_int("CARRIER_SIMULATOR_RETRY_ATTEMPTS", cls.retry_attempts),
            callback_timeout=config.env_float("CARRIER_SIMULATOR_CALLBACK_TIMEOUT", cls.callback_timeout),
        )


@dataclass
class Callback:
    """One carrier event sent to postal, with every attempt's outcome folded in."""

    payload: dict
    signature: str  # good, bad, stale, or replay
    body: bytes
    header: str = ""  # the last attempt's X-Carrier-Signature: what a replay repeats
    attempts: int = 0
    status: int | None = None  # postal's last HTTP status; None after a connection error
    error: str | None = None
    outcome: str = "pending"  # accepted, retrying, refused, failed, gave_up

    def view(self) -> dict:
        return {"event_id": self.payload["event_id"], "event": self.payload["event"], "signature": self.signature,
                "status": self.status, "attempts": self.attempts, "outcome": self.outcome, "error": self.error,
                "payload": self.payload}


@dataclass
class Order:
    waybill: str
    kind: str
    scenario: str
    request: dict  # CarrierOrderSchema's JSON, as received
    script: tuple[str, ...]
    created_at: datetime
    next_due: float  # monotonic time of the next scheduled step
    position: int = 0  # how many steps of the script were sent
    state: str = "accepted"  # the last event reported
    retrying: int = 0  # callbacks of this order waiting for a retry
    callbacks: list[Callback] = field(default_factory=list)

    @property
    def client_reference(self) -> str:
        return self.request["client_reference"]

    def view(self, carrier: str) -> dict:
        return {"waybill": self.waybill, "client_reference": self.client_reference, "carrier": carrier,
                "kind": self.kind, "scenario": self.scenario, "state": self.state, "script": list(self.script),
                "position": self.position, "created_at": self.created_at.isoformat(), "order": self.request,
                "callbacks": [callback.view() for callback in self.callbacks]}


class Simulator:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._orders: dict[str, Order] = {}
        self._by_reference: dict[str, str] = {}
        self._stopping = threading.Event()
        self._scheduler: threading.Thread | None = None

    # --- orders -------------------------------------------------------------------------------

    def place(self, request: dict, scenario: str | None) -> tuple[bool, dict]:
        """(created, the order's view); a client_reference seen before answers its first order."""
        with self._lock:
            known = self._by_reference.get(request["client_reference"])
            if known is not None:
                return False, self._orders[known].view(self.settings.carrier_name)
            try:
                chosen = rules.choose_scenario(request["kind"], scenario, self.settings.scenario)
            except ValueError as exc:
                raise MalformedInput(str(exc), {"X-Simulator-Scenario": [str(exc)]}) from None
            order = Order(waybill=rules.new_waybill(self._orders), kind=request["kind"], scenario=chosen,
                          request=request, script=rules.script(request["kind"], chosen, request["max_attempts"]),
                          created_at=datetime.now(timezone.utc),
                          next_due=time.monotonic() + self.settings.step_seconds)
            self._orders[order.waybill] = order
            self._by_reference[order.client_reference] = order.waybill
        log.info("order accepted", extra={"waybill": order.waybill, "kind": order.kind, "scenario": chosen})
        return True, order.view(self.settings.carrier_name)

    def order(self, waybill: str) -> dict:
        with self._lock:
            return self._get(waybill).view(self.settings.carrier_name)

    def _get(self, waybill: str) -> Order:
        order = self._orders.get(waybill)
        if order is None:
            raise NotFound("No order has this waybill.", {"waybill": [waybill]})
        return order

    # --- commands -----------------------------------------------------------------------------

    def advance(self, waybill: str) -> dict:
        """Send the next event of the order's scenario now; the answer carries postal's first status."""
        with self._lock:
            order = self._get(waybill)
            if order.position >= len(order.script):
                raise Conflict("The order has been through its whole scenario.", {"state": [order.state]},
                               code="scenario_finished")
            event = order.script[order.position]
            order.position += 1
            order.next_due = time.monotonic() + self.settings.step_seconds
            callback = self._new_callback(order, event, {}, "good")
        return self._deliver(order, callback)

    def emit(self, waybill: str, event: str, signature: str, overrides: dict) -> dict:
        """Send exactly this event now, outside the scenario (which does not move): failures, returns, disorder.

        `overrides` may set any callback field, `event_id` (a duplicate) and `occurred_at` included.
        """
        with self._lock:
            order = self._get(waybill)
            callback = self._new_callback(order, event, overrides, signature)
        return self._deliver(order, callback)

    def replay(self, waybill: str) -> dict:
        """Send the order's last callback again byte for byte, signature header included: a replay attack."""
        with self._lock:
            order = self._get(waybill)
            sent = [callback for callback in order.callbacks if callback.attempts]
            if not sent:
                raise Conflict("The order has sent no callback yet.", code="nothing_to_replay")
            original = sent[-1]
            callback = Callback(payload=original.payload, signature="replay", body=original.body,
                                header=original.header)
            order.callbacks.append(callback)
        return self._deliver(order, callback)

    def _new_callback(self, order: Order, event: str, overrides: dict, signature: str) -> Callback:
        fields = {**rules.event_fields(order.request, order.waybill, event), **overrides}
        event_id = fields.pop("event_id", None)
        occurred_at = fields.pop("occurred_at", None) or datetime.now(timezone.utc)
        try:
            payload = rules.callback_payload(order.waybill, order.client_reference, event, fields, occurred_at,
                                             event_id)
        except ValidationError as exc:  # an override that breaks the contract
            raise MalformedInput("The event does not fit the callback contract.",
                                 marshmallow_fields(exc.messages)) from None
        callback = Callback(payload=payload, signature=signature,
                            body=json.dumps(payload, ensure_ascii=False).encode())
        order.callbacks.append(callback)
        order.state = event
        return callback

    # --- callbacks ----------------------------------------------------------------------------

    def _header(self, callback: Callback) -> str:
        return rules.signature_header(self.settings.callback_secret, callback.body, int(time.time()),
                                      callback.signature)

    def _deliver(self, order: Order, callback: Callback) -> dict:
        """The first attempt, synchronously; a good callback that may succeed later is retried in the background."""
        header = callback.header if callback.signature == "replay" else self._header(callback)
        self._attempt(order, callback, header)
        with self._lock:
            retry = callback.signature == "good" and rules.retryable(callback.status) and \
                self.settings.retry_attempts > 1 and not self._stopping.is_set()
            if retry:
                callback.outcome = "retrying"
                order.retrying += 1
            view = callback.view()
        if retry:
            threading.Thread(target=self._retry, args=(order, callback), daemon=True,
                             name=f"retry-{callback.payload['event_id']}").start()
        return view

    def _attempt(self, order: Order, callback: Callback, header: str) -> None:
        status, error = None, None
        try:
            response = requests.post(order.request["callback_url"], data=callback.body,
                                     timeout=self.settings.callback_timeout,
                                     headers={"Content-Type": "application/json", "X-Carrier-Signature": header})
            status = response.status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            callback.header, callback.status, callback.error = header, status, error
            callback.attempts += 1
            if status is not None and 200 <= status < 300:
                callback.outcome = "accepted"
            elif status is not None and not rules.retryable(status):
                callback.outcome = "refused"
            else:
                callback.outcome = "failed"
        log.info("callback sent", extra={"waybill": order.waybill, "event": callback.payload["event"],
                                         "event_id": callback.payload["event_id"], "signature": callback.signature,
                                         "attempt": callback.attempts, "status": status, "error": error})

    def _retry(self, order: Order, callback: Callback) -> None:
        """Same event (same event_id and body), a fresh timestamp and signature, with doubling waits."""
        try:
            for attempt in range(2, self.settings.retry_attempts + 1):
                if self._stopping.wait(rules.retry_delay(attempt, self.settings.retry_seconds)):
                    return
                self._attempt(order, callback, self._header(callback))
                if not rules.retryable(callback.status):
                    return
                with self._lock:
                    callback.outcome = "retrying" if attempt < self.settings.retry_attempts else "gave_up"
        finally:
            with self._lock:
                order.retrying -= 1

    # --- the schedule -------------------------------------------------------------------------

    def start(self) -> None:
        if self.settings.step_seconds > 0:
            self._scheduler = threading.Thread(target=self._run_schedule, name="scheduler", daemon=True)
            self._scheduler.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._scheduler is not None:
            self._scheduler.join(timeout=self.settings.callback_timeout + 1)

    def _due(self) -> list[str]:
        # An order whose last callback awaits a retry waits too, so postal hears its events in order.
        now = time.monotonic()
        with self._lock:
            return [order.waybill for order in self._orders.values()
                    if order.position < len(order.script) and not order.retrying and order.next_due <= now]

    def _run_schedule(self) -> None:
        while not self._stopping.wait(min(self.settings.step_seconds, 0.5)):
            for waybill in self._due():
                if self._stopping.is_set():
                    return
                try:
                    self.advance(waybill)
                except Conflict:
                    pass  # advanced to its end by a command meanwhile
                except Exception:
                    log.exception("scheduled step failed", extra={"waybill": waybill})

