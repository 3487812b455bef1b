"""The simulated carrier's rules as plain functions: waybill numbers, each scenario's script of
events, what each event reports, and when a refused callback is tried again."""
import re
import secrets
import uuid
from collections.abc import Callable, Container
from datetime import datetime

from motcua.webhooks import sign
from motcua_contracts.postal import CarrierCallbackSchema
from motcua_contracts.base import shared

# UPU S10 item numbers, as VNPost prints them: service letters, 8-digit serial, check digit, country.
WAYBILL = re.compile(r"^[A-Z]{2}[0-9]{9}VN$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
WAYBILL_SERVICE = "EE"  # EMS, the service VNPost uses for public-administration items

PICKUP_SCENARIOS = ("collect", "collection_failed")
DELIVERY_SCENARIOS = ("deliver", "fail_then_deliver", "return")
SCENARIOS = {"pickup": PICKUP_SCENARIOS, "delivery": DELIVERY_SCENARIOS}
SIGNATURES = ("good", "bad", "stale")
STALE_SECONDS = 600  # a "stale" callback is signed ten minutes in the past, twice the usual tolerance

RECEIVED_BY = "Cán bộ Bộ phận Một cửa"
CARRIER_STAFF = "Bưu tá Nguyễn Văn An"
FAILED_ATTEMPT_REASON = "Không có người nhận"
COLLECTION_FAILED_REASON = "Không liên hệ được người gửi"


def s10_check_digit(serial: str) -> int:
    check = 11 - sum(int(digit) * weight for digit, weight in zip(serial, _S10_WEIGHTS)) % 11
    return {10: 0, 11: 5}.get(check, check)


def waybill_number(serial: int, service: str = WAYBILL_SERVICE) -> str:
    digits = f"{serial:08d}"
    return f"{service}{digits}{s10_check_digit(digits)}VN"


def is_waybill(text: str) -> bool:
    return bool(WAYBILL.match(text)) and int(text[10]) == s10_check_digit(text[2:10])


def new_waybill(taken: Container[str], draw: Callable[[], int] = lambda: secrets.randbelow(10 ** 8)) -> str:
    """A waybill not in `taken`; random serials so that a restarted simulator does not reissue old numbers."""
    while True:
        candidate = waybill_number(draw())
        if candidate not in taken:
            return candidate


def choose_scenario(kind: str, requested: str | None, default_delivery: str) -> str:
    """The order's scenario: the one requested (X-Simulator-Scenario), else the kind's default."""
    if requested is None:
        return PICKUP_SCENARIOS[0] if kind == "pickup" else default_delivery
    if requested not in SCENARIOS[kind]:
        raise ValueError(f"A {kind} order's scenario is one of {', '.join(SCENARIOS[kind])}.")
    return requested


def script(kind: str, scenario: str, max_attempts: int) -> tuple[str, ...]:
    """The carrier events an order goes through, in order."""
    if kind == "pickup":
        return {"collect": ("collected", "handed_over"), "collection_failed": ("collection_failed",)}[scenario]
    return {
        "deliver": ("picked_up", "out_for_delivery", "delivered"),
        "fail_then_deliver": ("picked_up", "out_for_delivery", "attempt_failed", "out_for_delivery", "delivered"),
        "return": ("picked_up",) + ("out_for_delivery", "attempt_failed") * max_attempts + ("returned_to_sender",),
    }[scenario]


def seal_number(waybill: str) -> str:
    return f"NP{waybill[2:11]}"  # niêm phong: one seal per package, named after its waybill


def event_fields(order: dict, waybill: str, event: str) -> dict:
    """What the carrier reports with `event` for this order (CarrierOrderSchema's JSON), before a command's overrides.

    For a pickup, the order's cash_on_delivery_vnd is what the carrier collects from the citizen
    for the agency; every document of the checklist is found present.
    """
    if event == "collected":
        return {"checklist": [{"code": document["code"], "present": True} for document in order["documents"]],
                "fees_collected_vnd": order["cash_on_delivery_vnd"], "seal_number": seal_number(waybill),
                "carrier_staff": CARRIER_STAFF}
    if event == "handed_over":
        return {"received_by": RECEIVED_BY, "carrier_staff": CARRIER_STAFF, "seal_number": seal_number(waybill)}
    if event == "collection_failed":
        return {"reason": COLLECTION_FAILED_REASON, "carrier_staff": CARRIER_STAFF}
    if event == "attempt_failed":
        return {"reason": FAILED_ATTEMPT_REASON, "carrier_staff": CARRIER_STAFF}
    if event == "delivered":
        return {"recipient_name": order["recipient"]["name"], "carrier_staff": CARRIER_STAFF}
    return {"carrier_staff": CARRIER_STAFF}


def callback_payload(waybill: str, client_reference: str, event: str, fields: dict, occurred_at: datetime,
                     event_id: str | None = None) -> dict:
    """The JSON body of a callback; raises marshmallow's ValidationError when `fields` do not fit the contract."""
    payload = {"event_id": event_id or f"evt-{uuid.uuid4().hex}", "waybill": waybill,
               "client_reference": client_reference, "event": event, "occurred_at": occurred_at.isoformat(), **fields}
    shared(CarrierCallbackSchema).load(payload)
    return payload


def signature_header(secret: bytes, body: bytes, now: int, signature: str = "good") -> str:
    """X-Carrier-Signature for a callback; "bad" is well formed but keyed with the wrong secret, as a forger's."""
    if signature == "bad":
        return sign(b"not-the-shared-secret", body, now)
    return sign(secret, body, now - STALE_SECONDS if signature == "stale" else now)


def retryable(status: int | None) -> bool:
    """A callback is tried again after a connection error, a 5xx, 408 or 429; any other 4xx is a refusal for good."""
    if status is None:
        return True
    if 200 <= status < 300:
        return False
    return not (400 <= status < 500) or status in (408, 429)


def retry_delay(attempt: int, base_seconds: float) -> float:
    """Seconds to wait before attempt number `attempt` (2, 3, ...): base, 2x base, 4x base..."""
    return base_seconds * 2 ** (attempt - 2)
