"""The department system of the fault campaign, plugged into the reference adapter
(DEPARTMENT_HANDLER=tests.faults.department:DecidingDepartment).

It accepts every dossier registered on its desk and, once received, asks for a supplement:
two decisions per dossier. It writes down every work item and outcome it was handed, one
JSON line each in DEPARTMENT_RECORD, so the campaign can count what reached the department,
redeliveries included.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

DECISIONS = {
    "dossier_registered": {"action": "accept"},
    "dossier_received": {"action": "request_supplement", "reason": "Thiếu bản chính giấy chứng sinh",
                         "missing_items": ["Bản chính giấy chứng sinh"]},
}


class DecidingDepartment:
    def __init__(self, config) -> None:
        self.record = Path(os.environ["DEPARTMENT_RECORD"])

    def _write(self, kind: str, envelope: dict) -> None:
        line = json.dumps({"kind": kind, "event_id": envelope["event_id"], **envelope["data"]}, ensure_ascii=False)
        with self.record.open("a", encoding="utf-8") as out:
            out.write(line + "\n")

    def handle(self, item: dict) -> dict | None:
        self._write("work_item", item)
        decision = DECISIONS.get(item["data"]["item_type"])
        if decision is None:
            return None
        return {**decision, "official_id": "fault-campaign", "expected_version": item["data"]["version"]}

    def decisions(self, waiting: Mapping[str, dict]) -> Iterable[tuple[dict, str]]:
        return ()

    def published(self, ref: str, items: list[dict], command: dict) -> None:
        pass

    def refused(self, ref: str, items: list[dict], errors: dict) -> None:
        self._write("refused", {"event_id": ref, "data": {"errors": errors}})

    def on_outcome(self, outcome: dict) -> None:
        self._write("outcome", outcome)
