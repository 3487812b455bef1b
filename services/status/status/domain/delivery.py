"""The delivery of a result by post as the citizen's view shows it (Decision 45/2016/QD-TTg).

postal follows the carrier and announces each step (motcua_contracts.postal.DeliveryEventSchema);
status keeps one summary per dossier. Events may arrive late, twice or out of order: the summary
moves by postal's own rule (motcua.shipments.DELIVERY), so both always show the same state.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from motcua.calendar import TIMEZONE
from motcua.shipments import DELIVERY


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    waybill: str
    carrier: str
    state: str  # motcua_contracts.postal.DELIVERY_STATES
    attempts: int
    max_attempts: int
    updated_at: datetime  # when the carrier reported the state shown


def reported(event: Mapping[str, Any]) -> Delivery:
    """The delivery as one postal delivery event (DeliveryEventSchema data, loaded) reports it."""
    return Delivery(str(event["delivery_id"]), event["waybill"], event["carrier"], event["state"],
                    event["attempts"], event["max_attempts"], event["at"])


def follow(current: Delivery | None, event: Mapping[str, Any]) -> Delivery:
    """The summary after `event`: its state when it is further on, the current one otherwise."""
    news = reported(event)
    if current is None:
        return news
    attempts = max(current.attempts, news.attempts)
    if not DELIVERY.moves(current.state, current.updated_at, news.state, news.updated_at):
        return replace(current, attempts=attempts)
    return replace(news, attempts=attempts)


def reached(current: Delivery | None, summary: Delivery, state: str) -> bool:
    """Whether this event brought the summary to `state` (a repeat of it does not)."""
    return summary.state == state and (current is None or current.state != state)


def delivered_reason(event: Mapping[str, Any]) -> str:
    """The proof of delivery in the dossier's history: who received the result, when, under which waybill."""
    recipient = event["recipient_name"] or "người nhận"
    return (f"Bưu chính đã giao kết quả cho {recipient} lúc {event['at'].astimezone(TIMEZONE):%H:%M %d/%m/%Y} "
            f"(vận đơn {event['waybill']}).")


def returned_reason(event: Mapping[str, Any]) -> str:
    return (f"Bưu chính không giao được kết quả sau {event['attempts']} lần phát (vận đơn {event['waybill']}) "
            f"và đã hoàn trả; mời nhận kết quả tại bộ phận một cửa.")
