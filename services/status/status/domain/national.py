"""A dossier in the National Public Service Portal's synchronisation fields.

The names are the portal's, as an OpenCPS integration sends them; the result dumps through
`motcua_contracts.reports.NationalSyncRecordSchema`. Timestamps are yyyyMMddHHmmss in Vietnam
time (`motcua.national_codes`), so a dossier completed at 2026-11-26T17:30Z reads 20261127003000.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from motcua.calendar import TIMEZONE
from motcua.national_codes import (
    NATIONAL_CHANNEL_CODE, NATIONAL_STATUS_CODE, Channel, DossierState, format_national_timestamp,
)

# A due date is met all through that day: its last second keeps the portal's timestamp
# comparison in step with the date rule of our own on-time rate.
_END_OF_DAY = time(23, 59, 59)


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else format_national_timestamp(value)


def _due(day: date) -> str:
    return format_national_timestamp(datetime.combine(day, _END_OF_DAY, TIMEZONE))


def national_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """`row`: the dossier's columns.

    NgayHenTra is the legal due date (moved by clock pauses, never by an apology): the portal
    scores punctuality on it, and an apology's new date must not make a late dossier look on time.
    DonViXuLy is the responsible agency, which answers for the dossier wherever it is held.
    DanhSachLePhi is the procedure's fee schedule for the dossier's channel as pinned at
    submission (`fees`, JSON); Gia is null where the catalogue has no confirmed amount.
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
                          for fee in json.loads(row.get("fees") or "[]")],
    }
