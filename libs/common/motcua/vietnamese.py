"""Numbers and time limits written as Vietnamese readers expect them, the same on pages and in notices."""
from __future__ import annotations

from decimal import Decimal
from typing import Any


def number_vn(value: Any) -> str:
    """15000 -> "15.000", "0.5" -> "0,5": Vietnamese digit grouping and decimal comma."""
    amount = Decimal(str(value)).normalize()
    whole, _, fraction = f"{amount:,f}".partition(".")
    return whole.replace(",", ".") + (f",{fraction}" if fraction else "")


def working_days(value: int | str | Decimal) -> str:
    """A legal time limit (a number, or the catalogue's decimal string) as the law words it: 0 -> "Trong ngày"
    (the same day), never "0 ngày làm việc"; 7.5 -> "7,5 ngày làm việc"."""
    return "Trong ngày" if Decimal(str(value)) == 0 else f"{number_vn(value)} ngày làm việc"
