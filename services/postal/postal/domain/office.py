"""The agency's side of every carrier order: where pickups are handed over and results leave from."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Office:
    """The one-stop office's postal address (the catalogue keeps no agency addresses).

    The defaults are placeholders for a single-machine run; a city sets its office's address.
    """

    province: str
    commune: str
    street: str
    phone: str | None

    def party(self, name: str) -> dict:
        """CarrierPartySchema data for the office, under the agency's name."""
        return {"name": name, "phone": self.phone,
                "address": {"province": self.province, "commune": self.commune, "street": self.street}}
