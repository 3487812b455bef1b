"""The agency's side of every carrier order: where pickups are handed over and results leave from."""
from __future__ import annotations

from dataclasses import dataclass

from motcua.config import env


@dataclass(frozen=True)
class Office:
    """The one-stop office's postal address (the catalogue keeps no agency addresses).

    The defaults are placeholders for a single-machine run; a city sets its office's address.
    """

    province: str
    commune: str
    street: str
    phone: str | None

    @classmethod
    def from_env(cls) -> "Office":
        return cls(province=env("POSTAL_OFFICE_PROVINCE", env("POSTAL_HOME_PROVINCE", "Hải Phòng")),
                   commune=env("POSTAL_OFFICE_COMMUNE", "Trung tâm"),
                   street=env("POSTAL_OFFICE_STREET", "Bộ phận tiếp nhận và trả kết quả"),
                   phone=env("POSTAL_OFFICE_PHONE"))

    def party(self, name: str) -> dict:
        """CarrierPartySchema data for the office, under the agency's name."""
        return {"name": name, "phone": self.phone,
                "address": {"province": self.province, "commune": self.commune, "street": self.street}}
