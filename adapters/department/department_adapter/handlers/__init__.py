"""The seam between the adapter and a department's own system.

A handler receives work items and command outcomes and gives back decisions. It sees
messages as received: the bus envelope (`event_id`, `event_type`, `dossier_code`,
`correlation_id`, `data`...) with `data` a WorkItemSchema or CommandOutcomeSchema body.
"""
from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from typing import Protocol

from department_adapter.config import Config

# A DepartmentCommandSchema body; `command_id`, `agency_code` and `dossier_code` may be left out.
Decision = dict


class Handler(Protocol):
    def handle(self, item: dict) -> Decision | None:
        """A new work item: its decision now, or None to give it later through `decisions`.

        The same item may come again (redelivered after a reconnect or RabbitMQ's
        consumer_timeout): handle it idempotently, by its `event_id`.
        """

    def decisions(self, waiting: Mapping[str, dict]) -> Iterable[tuple[Decision, str]]:
        """Polled: decisions taken since, on the items still `waiting` (event_id -> item).

        Each comes with the item it answers: its `event_id`, or a dossier code, which
        answers every waiting item of that dossier with one command.
        """

    def published(self, ref: str, items: list[dict], command: dict) -> None:
        """The decision given for `ref` went out as `command`, confirmed by the broker; `items` are settled."""

    def refused(self, ref: str, items: list[dict], errors: dict) -> None:
        """The decision given for `ref` broke the contract (`errors`, by field); `items` still wait."""

    def on_outcome(self, outcome: dict) -> None:
        """What became of one of this department's commands; raising keeps it to be offered again."""


def load_handler(config: Config) -> Handler:
    if config.handler == "folder":
        from department_adapter.handlers.folder import FolderHandler
        return FolderHandler(config.inbox_dir, config.decisions_dir, config.outcomes_dir)
    if config.handler == "http":
        from department_adapter.handlers.http import HttpHandler
        return HttpHandler(config.http_url, config.http_timeout, config.http_token)
    module, _, factory = config.handler.partition(":")
    return getattr(importlib.import_module(module), factory)(config)
