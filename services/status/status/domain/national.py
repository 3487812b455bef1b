"""A dossier in the National Public Service Portal's synchronisation fields.

The names are the portal's, as an OpenCPS integration sends them; the result dumps through
`motcua_contracts.reports.NationalSyncRecordSchema`. Timestamps are yyyyMMddHHmmss in Vietnam
time (`motcua.national_codes`), so a dossier completed at 2026-11-26T17:30Z reads 20261127003000.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from motcua.calendar import TIMEZONE
from motcua.national_codes import (
    NATIONAL_CHANNEL_CODE, NATIONAL_STATUS_CODE, Channel, DossierState, format_national_timestamp,
)

# A due date is met all through that day: its last second keeps the portal's timestamp
# comparison in step with the date rule of our own on-time rate.
_END_OF_DAY = time(23, 59, 59)


# A payment the desk asked for that no single fee of the schedule accounts for: the agency's own statement of
# what was due, so it is named as such rather than after a fee it may not be.
REQUESTED_FEE = {"code": "yeu-cau-nop-phi", "name": "Phí, lệ phí theo yêu cầu nộp của cơ quan giải quyết"}


def charged_fees(schedule: Sequence[Mapping[str, Any]], requested_vnd: Sequence[int]) -> list[dict[str, Any]]:
    """What this dossier was charged, each as {code, name, amount_vnd}; never the catalogue's whole list.

    `schedule` is the procedure's fees at the amounts of the dossier's channel, pinned by intake at
    submission (`motcua.fees.fee_schedule`: online, the reduced amount where the catalogue has one);
    `requested_vnd` the fees the desk asked for (request_payment), in order.

    - The desk's requests, when there were any, are the charge: the agency states the fee due, having
      chosen among the catalogue's alternatives. Each takes the name of the schedule's fee of that
      amount when exactly one has it.
    - Without one, a procedure with a single fee charged that fee (its amount null where the catalogue
      confirms none). Several fees mix alternatives (on time / late) with charges that add up and the
      catalogue does not say which is which, so, as on the receipt (`motcua.fees.fees_due`), none is
      claimed.
    - 0 đồng is no charge: a free dossier, such as an online one where online filing is free, lists nothing.
    """
    if requested_vnd:
        return [_requested(schedule, amount) for amount in requested_vnd]
    if len(schedule) == 1 and schedule[0]["amount_vnd"] != 0:
        fee = schedule[0]
        return [{"code": fee["code"], "name": fee["name"], "amount_vnd": fee["amount_vnd"]}]
    return []


def _requested(schedule: Sequence[Mapping[str, Any]], amount: int) -> dict[str, Any]:
    matching = [fee for fee in schedule if fee["amount_vnd"] == amount]
    named = matching[0] if len(matching) == 1 else REQUESTED_FEE
    return {"code": named["code"], "name": named["name"], "amount_vnd": amount}


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else format_national_timestamp(value)


def _due(day: date) -> str:
    return format_national_timestamp(datetime.combine(day, _END_OF_DAY, TIMEZONE))


def national_record(row: Mapping[str, Any], requested_vnd: Sequence[int] = ()) -> dict[str, Any]:
    """`row`: the dossier's columns; `requested_vnd`: the fees its desk asked for (request_payment), in order.

    NgayHenTra is the legal due date (moved by clock pauses, never by an apology): the portal
    scores punctuality on it, and an apology's new date must not make a late dossier look on time.
    DonViXuLy is the responsible agency, which answers for the dossier wherever it is held.
    DanhSachLePhi is what the dossier was charged (`charged_fees`) from the fee schedule pinned at
    submission (`fees`, JSON) and the desk's payment requests; an empty list when nothing was.
    """
    return {
        "MaHoSo": row["code"],
        "MaTTHC": row["procedure_code"],
        "TenTTHC": row["procedure_name"],
        "DonViXuLy": row["agency_code"],
        "KenhThucHien": NATIONAL_CHANNEL_CODE[Channel(row["channel"])],
        "NgayTiepNhan": _timestamp(row["received_at"]),
        "NgayHenTra": _due(row["legal_due_date"]),
        "NgayKetThucXuLy": _timestamp(row["completed_at"]),
        "NgayTra": _timestamp(row["returned_at"]),
        "TrangThaiHoSo": NATIONAL_STATUS_CODE[DossierState(row["state"])],
        "DanhSachLePhi": [{"TenPhiLePhi": fee["name"], "MaPhiLePhi": fee["code"], "Gia": fee["amount_vnd"]}
                          for fee in charged_fees(json.loads(row.get("fees") or "[]"), requested_vnd)],
    }
