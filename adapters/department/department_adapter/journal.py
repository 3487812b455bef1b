"""The local record of decisions the broker confirmed, one JSON line each.

It closes the gap between "published" and "acknowledged": a work item redelivered after
its decision was confirmed (the connection dropped before the ack reached RabbitMQ) is
answered from here, with the same command, without asking the department again.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

log = logging.getLogger("department_adapter.journal")


class Journal:
    def __init__(self, path: Path, keep: timedelta = timedelta(days=7)):
        # A lost ack is redelivered within minutes; a week is far more than any redelivery needs.
        self.path = path
        self._entries: dict[str, dict] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        self._load(datetime.now(timezone.utc) - keep)

    def _load(self, horizon: datetime) -> None:
        if not self.path.exists():
            return
        dropped = 0
        for number, line in enumerate(self.path.read_text("utf-8").splitlines(), 1):
            try:
                entry = json.loads(line)
                fresh = datetime.fromisoformat(entry["confirmed_at"]) >= horizon
            except (ValueError, KeyError, TypeError):
                # A line cut short by a crash mid-write: its decision was never acknowledged, so it is asked again.
                log.warning("journal line unreadable, ignored", extra={"journal": str(self.path), "line": number})
                dropped += 1
                continue
            if fresh:
                self._entries[entry["event_id"]] = entry
            else:
                dropped += 1
        if dropped:
            self._rewrite()

    def _rewrite(self) -> None:
        scratch = self.path.with_suffix(".tmp")
        with scratch.open("w", encoding="utf-8") as out:
            for entry in self._entries.values():
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(scratch, self.path)

    def get(self, item_event_id: str) -> dict | None:
        return self._entries.get(item_event_id)

    def record(self, item_event_ids: list[str], ref: str, routing_key: str, envelope: dict) -> None:
        """Called once the broker confirmed `envelope`, before the items are acknowledged."""
        confirmed_at = datetime.now(timezone.utc).isoformat()
        entries = [{"event_id": event_id, "ref": ref, "command_id": envelope["data"]["command_id"],
                    "routing_key": routing_key, "envelope": envelope, "confirmed_at": confirmed_at}
                   for event_id in item_event_ids]
        with self.path.open("a", encoding="utf-8") as out:
            out.write("".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in entries))
            out.flush()
            os.fsync(out.fileno())
        self._entries.update((entry["event_id"], entry) for entry in entries)
