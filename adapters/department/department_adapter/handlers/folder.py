"""Work items as JSON files in an inbox folder; decisions as JSON files in another.

    inbox/<dossier code>--<event id>.json        a work item awaiting a decision (written by the adapter)
    inbox/done/                                  items whose decision was published
    inbox/outcomes/<dossier code>--<command id>.json   what status made of a command
    decisions/<dossier code>--<event id>.json    a decision on that item (written by the department)
    decisions/<dossier code>.json                a decision on every waiting item of that dossier
    decisions/done/<name>--<command id>.json     decisions published
    decisions/refused/<name>--<time>.json        decisions that broke the contract, with <...>.errors.json

Files appear whole: the adapter writes a temporary name and renames it, and reads only
`*.json`, so a department should write `<name>.json.tmp` and rename it likewise.
"""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger("department_adapter.folder")


def write_json(path: Path, body: dict) -> None:
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(scratch, path)


def safe_name(text: str) -> str:
    """Outcome fields are free text (the command id is the department's own): keep them from naming a path."""
    return re.sub(r"[^0-9A-Za-z._-]", "_", text)


def item_file_name(item: dict) -> str:
    return f"{item['data']['dossier_code']}--{item['event_id']}.json"


class FolderHandler:
    def __init__(self, inbox: Path, decisions: Path, outcomes: Path):
        self.inbox, self.decisions_dir, self.outcomes = Path(inbox), Path(decisions), Path(outcomes)
        for folder in (self.inbox / "done", self.decisions_dir / "done", self.decisions_dir / "refused",
                       self.outcomes):
            folder.mkdir(parents=True, exist_ok=True)

    def handle(self, item: dict) -> None:
        # Same name for the same item: a redelivery rewrites the file instead of adding a second one.
        write_json(self.inbox / item_file_name(item), item)

    def decisions(self, waiting: Mapping[str, dict]) -> Iterable[tuple[dict, str]]:
        seen: set[Path] = set()
        for event_id, item in waiting.items():
            dossier_code = item["data"]["dossier_code"]
            for path, ref in ((self.decisions_dir / item_file_name(item), event_id),
                              (self.decisions_dir / f"{dossier_code}.json", dossier_code)):
                if path in seen:
                    continue
                seen.add(path)
                try:
                    decision = json.loads(path.read_text("utf-8"))
                except FileNotFoundError:
                    continue
                except ValueError as exc:
                    log.warning("decision file is not JSON; it is read again at the next poll",
                                extra={"file": str(path), "error": str(exc), "dossier_code": dossier_code})
                    continue
                yield decision, ref

    def _decision_path(self, ref: str, items: list[dict]) -> Path:
        for item in items:
            if item["event_id"] == ref:
                return self.decisions_dir / item_file_name(item)
        return self.decisions_dir / f"{ref}.json"

    def published(self, ref: str, items: list[dict], command: dict) -> None:
        decision = self._decision_path(ref, items)
        if decision.exists():
            done = f"{decision.stem}--{safe_name(command['command_id'])}.json"
            os.replace(decision, self.decisions_dir / "done" / done)
        for item in items:
            if (self.inbox / item_file_name(item)).exists():
                os.replace(self.inbox / item_file_name(item), self.inbox / "done" / item_file_name(item))

    def refused(self, ref: str, items: list[dict], errors: dict) -> None:
        decision = self._decision_path(ref, items)
        if not decision.exists():
            return
        stem = f"{decision.stem}--{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%fZ')}"
        write_json(self.decisions_dir / "refused" / f"{stem}.errors.json", {"errors": errors})
        os.replace(decision, self.decisions_dir / "refused" / f"{stem}.json")

    def on_outcome(self, outcome: dict) -> None:
        data = outcome["data"]
        name = f"{safe_name(data['dossier_code'] or 'no-dossier')}--{safe_name(data['command_id'])}.json"
        write_json(self.outcomes / name, outcome)
