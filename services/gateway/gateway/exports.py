"""Reports as files: the on-time report as CSV for Excel, the national export as JSON lines."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from werkzeug.wrappers import Response

from motcua_contracts.common import CHANNELS, STATES

from gateway.rendering import LABELS
from gateway.web import NO_STORE

GROUP_LABELS = {"agency": "Cơ quan", "procedure": "Thủ tục", "city": "Thành phố"}
COUNT_COLUMNS = {
    "received": "Tiếp nhận", "completed_on_time": "Hoàn thành đúng hạn", "completed_late": "Hoàn thành quá hạn",
    "unfinished_on_time": "Đang giải quyết trong hạn", "unfinished_late": "Đang giải quyết quá hạn",
    "on_time_rate": "Tỷ lệ đúng hạn", "online_share": "Tỷ lệ nộp trực tuyến",
}
# Characters that make a spreadsheet read a cell as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def on_time_csv(report: dict) -> bytes:
    """One header row, then one row per group; counts by channel and by state get a column each.

    UTF-8 with a byte-order mark: without it Excel reads the Vietnamese headers as Windows-1252.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180
    writer.writerow([GROUP_LABELS.get(report["group_by"], report["group_by"]), *COUNT_COLUMNS.values(),
                     *(f"Kênh: {LABELS['channel'][c]}" for c in CHANNELS),
                     *(f"Trạng thái: {LABELS['state'][s]}" for s in STATES)])
    for row in report["rows"]:
        writer.writerow([_text(row["key"]), *("" if row[name] is None else row[name] for name in COUNT_COLUMNS),
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
