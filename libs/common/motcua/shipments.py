"""The one rule every shipment follows: carrier events may arrive in any order, a shipment never moves
back.

postal applies it to the carrier's callbacks (pickups and deliveries); status applies the same
rule to postal's delivery events, which the bus may deliver late, twice or out of order, so
the two always show the same state. Each state has a rank. An event moves the shipment only to a higher rank, except inside a
cycle (out for delivery, attempt failed, out again), where the later occurrence wins. A
terminal state never moves. An event that does not move the shipment is still recorded by
the caller: the carrier said it, and an operator may need to see it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from motcua.errors import ValidationFailed
from motcua_contracts.postal import DELIVERY_CARRIER_EVENTS


@dataclass(frozen=True)
class Machine:
    kind: str
    ranks: dict[str, int]
    terminal: frozenset[str]
    # carrier event -> the state it reports
    events: dict[str, str]
    cycle: frozenset[str] = field(default_factory=frozenset)

    def state_for(self, carrier_event: str) -> str:
        """The state a carrier event reports; refused when it belongs to the other kind of order."""
        try:
            return self.events[carrier_event]
        except KeyError:
            raise ValidationFailed(f"A {self.kind} order cannot report {carrier_event!r}.", {
                "event": [f"Expected one of: {', '.join(self.events)}."]}) from None

    def moves(self, current: str, current_at: datetime | None, new: str, new_at: datetime) -> bool:
        """Whether an event reporting `new` at `new_at` moves a shipment that is `current` since `current_at`."""
        if current in self.terminal:
            return False
        if self.ranks[new] > self.ranks[current]:
            return True
        in_cycle = current in self.cycle and new in self.cycle
        return in_cycle and (current_at is None or new_at >= current_at)


# ordered -> picked_up -> out_for_delivery <-> attempt_failed -> delivered | returned_to_sender.
DELIVERY = Machine(
    kind="delivery",
    ranks={"ordered": 0, "picked_up": 1, "out_for_delivery": 2, "attempt_failed": 2, "delivered": 3,
           "returned_to_sender": 3},
    terminal=frozenset({"delivered", "returned_to_sender"}),
    events={event: event for event in DELIVERY_CARRIER_EVENTS},
    cycle=frozenset({"out_for_delivery", "attempt_failed"}),
)
