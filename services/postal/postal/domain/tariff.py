"""What a pickup costs, and which of the agency's fees the carrier can collect on its behalf.

The amounts are this project's defaults for a single-machine run, not a published tariff of
any postal operator: a city sets its own (POSTAL_PICKUP_FEE_VND inside POSTAL_HOME_PROVINCE,
POSTAL_PICKUP_FEE_OTHER_PROVINCE_VND elsewhere).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from motcua.fees import fees_due


# Citizens write "TP. Hải Phòng", "Thành phố Hải Phòng" or "hai phong": the same province.
_ADMINISTRATIVE_PREFIX = re.compile(r"^(thanh pho|tp\.?|tinh)\s+")


def province_key(province: str) -> str:
    """A province name without case, diacritics, punctuation spacing or its administrative prefix."""
    decomposed = unicodedata.normalize("NFD", province.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return _ADMINISTRATIVE_PREFIX.sub("", " ".join(plain.split()))


@dataclass(frozen=True)
class Tariff:
    home_province: str
    home_fee_vnd: int
    other_fee_vnd: int

    def pickup_fee(self, province: str) -> int:
        return self.home_fee_vnd if province_key(province) == province_key(self.home_province) else self.other_fee_vnd


def quote(version: dict, province: str, tariff: Tariff) -> dict:
    """PickupQuoteSchema data for a procedure version and the province of the pickup address."""
    return {"procedure_code": version["procedure_code"], "province": province,
            "fee_vnd": tariff.pickup_fee(province), "agency_fees_vnd": fees_due(version["fees"], "postal")}
