"""Reports as files: the on-time report as CSV for Excel, the national export as JSON lines."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from werkzeug.wrappers import Response

from motcua.vietnamese import number_vn
from motcua_contracts.common import CHANNELS, STATES

from gateway.rendering import LABELS
from gateway.web import NO_STORE

GROUP_LABELS = {"agency": "Cơ quan", "procedure": "Thủ tục", "city": "Thành phố"}
CITY = "Toàn thành phố"
COUNT_COLUMNS = {
    "received": "Tiếp nhận", "completed_on_time": "Hoàn thành đúng hạn", "completed_late": "Hoàn thành quá hạn",
    "unfinished_on_time": "Đang giải quyết trong hạn", "unfinished_late": "Đang giải quyết quá hạn",
}
RATE_COLUMNS = {"on_time_rate": "Tỷ lệ đúng hạn (%)", "online_share": "Tỷ lệ nộp trực tuyến (%)"}
# Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def named_report(report: dict, agency_names: dict[str, str]) -> dict:
    """The report with every row named as people read it: an agency by its name (status keeps codes only), the
    city as such; a procedure's name comes from status."""
    def name(row: dict) -> str | None:
        if report["group_by"] == "agency":
            return agency_names.get(row["key"], row["key"])
        return CITY if report["group_by"] == "city" else row.get("name") or row["key"]

    return {**report, "rows": [{**row, "name": name(row)} for row in report["rows"]]}


def on_time_csv(report: dict) -> bytes:
    """One header row, then one row per group (its name, then its code); counts by channel and by state get a
    column each; rates in percent with the decimal comma a Vietnamese Excel reads.

    UTF-8 with a byte-order mark: without it Excel reads the Vietnamese headers as Windows-1252.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow([GROUP_LABELS.get(report["group_by"], report["group_by"]), "Mã", *COUNT_COLUMNS.values(),
                     *RATE_COLUMNS.values(), *(f"Kênh: {LABELS['channel'][c]}" for c in CHANNELS),
                     *(f"Trạng thái: {LABELS['state'][s]}" for s in STATES)])
    for row in report["rows"]:
        writer.writerow([_text(row.get("name") or row["key"]), _text(row["key"]) if report["group_by"] != "city" else "",
                         *(row[column] for column in COUNT_COLUMNS),
                         *("" if row[column] is None else number_vn(round(row[column] * 100, 2))
                           for column in RATE_COLUMNS),
                         *(row["by_channel"].get(c, 0) for c in CHANNELS),
                         *(row["by_state"].get(s, 0) for s in STATES)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_response(body: bytes, filename: str) -> Response:
    return Response(body, content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE})


def ndjson_response(records: Iterable[dict], filename: str) -> Response:
    body = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return Response(body.encode("utf-8"), content_type="application/x-ndjson; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE})
