"""postal's settings, read once when the service starts (motcua.dependencies.BuiltAtStart)."""
from __future__ import annotations

from dataclasses import dataclass

from motcua.config import env, env_int

from postal.carrier import callback_url
from postal.domain.office import Office
from postal.domain.tariff import Tariff


@dataclass(frozen=True)
class PostalSettings:
    tariff: Tariff  # the pickup fee, in the home province and elsewhere
    office: Office  # where the carrier collects results and hands pickups over
    callback_url: str  # where the carrier reports (postal's /callbacks/carrier as the carrier reaches it)
    callback_secret: str | None  # what the carrier signs its reports with; none: callbacks answer 503
    max_delivery_attempts: int = 2

    @classmethod
    def from_env(cls) -> PostalSettings:
        home = env("POSTAL_HOME_PROVINCE", "Hải Phòng")
        return cls(
            tariff=Tariff(home_province=home, home_fee_vnd=env_int("POSTAL_PICKUP_FEE_VND", 25_000),
                          other_fee_vnd=env_int("POSTAL_PICKUP_FEE_OTHER_PROVINCE_VND", 40_000)),
            office=Office(province=env("POSTAL_OFFICE_PROVINCE", home),
                          commune=env("POSTAL_OFFICE_COMMUNE", "Trung tâm"),
                          street=env("POSTAL_OFFICE_STREET", "Bộ phận tiếp nhận và trả kết quả"),
                          phone=env("POSTAL_OFFICE_PHONE")),
            callback_url=callback_url(), callback_secret=env("POSTAL_CARRIER_CALLBACK_SECRET") or None,
            max_delivery_attempts=env_int("POSTAL_MAX_DELIVERY_ATTEMPTS", cls.max_delivery_attempts),
        )
