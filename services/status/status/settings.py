"""status's settings, read once when the service starts (motcua.dependencies.BuiltAtStart)."""
from __future__ import annotations

from dataclasses import dataclass

from motcua.config import env_float, env_int


@dataclass(frozen=True)
class StatusSettings:
    result_max_bytes: int = 20_000_000  # a result document attached at the desk
    warn_working_days: int = 1  # the desk's "due_soon": this many working days before a date
    apology_extension_working_days: int = 3  # an apology's new date: this many working days from tomorrow
    sweep_seconds: float = 60.0  # how often the overdue sweep runs

    @classmethod
    def from_env(cls) -> StatusSettings:
        return cls(
            result_max_bytes=env_int("STATUS_RESULT_MAX_BYTES", cls.result_max_bytes),
            warn_working_days=env_int("STATUS_WARN_WORKING_DAYS", cls.warn_working_days),
            apology_extension_working_days=env_int("STATUS_APOLOGY_EXTENSION_WORKING_DAYS",
                                                   cls.apology_extension_working_days),
            sweep_seconds=env_float("STATUS_SWEEP_SECONDS", cls.sweep_seconds),
        )
