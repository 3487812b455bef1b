"""The adapter's settings, from environment variables (README.md lists them)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from marshmallow import ValidationError

from motcua_contracts.common import AGENCY_CODE


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    amqp_uri: str
    agency_code: str
    handler: str  # "folder", "http" or "package.module:factory"
    journal_path: Path
    prefetch: int = 10
    poll_interval: float = 5.0
    inbox_dir: Path | None = None
    decisions_dir: Path | None = None
    outcomes_dir: Path | None = None
    http_url: str | None = None
    http_timeout: float = 10.0
    http_token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Config:
        def get(name: str, default: str | None = None) -> str | None:
            value = environ.get(name, "").strip()
            return value or default

        def number(name: str, default: str, kind):
            try:
                value = kind(get(name, default))
            except ValueError:
                raise ConfigError(f"{name} must be a number") from None
            if value <= 0:
                raise ConfigError(f"{name} must be positive")
            return value

        missing = [name for name in ("DEPARTMENT_AMQP_URI", "DEPARTMENT_AGENCY_CODE") if not get(name)]
        handler = get("DEPARTMENT_HANDLER", "folder")
        if handler == "folder":
            missing += [name for name in ("DEPARTMENT_INBOX_DIR", "DEPARTMENT_DECISIONS_DIR") if not get(name)]
        elif handler == "http":
            # No folder of its own to keep the journal in: say where, rather than guess a writable place.
            missing += [name for name in ("DEPARTMENT_HTTP_URL", "DEPARTMENT_JOURNAL") if not get(name)]
        elif ":" not in handler:
            raise ConfigError("DEPARTMENT_HANDLER must be folder, http or package.module:factory")
        if missing:
            raise ConfigError("missing settings: " + ", ".join(missing))
        agency_code = get("DEPARTMENT_AGENCY_CODE")
        try:
            AGENCY_CODE(agency_code)
        except ValidationError:
            raise ConfigError(f"DEPARTMENT_AGENCY_CODE {agency_code!r} is not a QCVN 102 agency code") from None

        inbox = Path(get("DEPARTMENT_INBOX_DIR")) if get("DEPARTMENT_INBOX_DIR") else None
        decisions = Path(get("DEPARTMENT_DECISIONS_DIR")) if get("DEPARTMENT_DECISIONS_DIR") else None
        outcomes = get("DEPARTMENT_OUTCOMES_DIR")
        journal = get("DEPARTMENT_JOURNAL")
        if not journal and decisions is None:
            raise ConfigError("missing settings: DEPARTMENT_JOURNAL")
        return cls(
            amqp_uri=get("DEPARTMENT_AMQP_URI"),
            agency_code=agency_code,
            handler=handler,
            journal_path=Path(journal) if journal else decisions / "journal.jsonl",
            prefetch=number("DEPARTMENT_PREFETCH", "10", int),
            poll_interval=number("DEPARTMENT_POLL_INTERVAL", "5", float),
            inbox_dir=inbox,
            decisions_dir=decisions,
            outcomes_dir=Path(outcomes) if outcomes else (inbox / "outcomes" if inbox else None),
            http_url=get("DEPARTMENT_HTTP_URL"),
            http_timeout=number("DEPARTMENT_HTTP_TIMEOUT", "10", float),
            http_token=get("DEPARTMENT_HTTP_TOKEN"),
        )
