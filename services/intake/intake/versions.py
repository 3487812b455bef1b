"""The procedure versions in force, as this process last loaded them.

Every dossier is pinned to the version in force on its day; reading and loading that definition
for each submission was a sixth of intake's time under load (issue 15's profile). A loaded version
is kept for INTAKE_VERSION_CACHE_SECONDS (30 s by default), so a version the catalogue publishes
reaches every replica's new dossiers within that time; the replica that stores it forgets its copy
at once. Callers treat a loaded version as read-only: the same dict serves every dossier.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from motcua.config import env_float

DEFAULT_SECONDS = 30.0


class VersionCache:
    def __init__(self, seconds: float = DEFAULT_SECONDS, monotonic: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.monotonic = monotonic
        self._loaded: dict[tuple[str, date], tuple[float, dict]] = {}

    @classmethod
    def from_env(cls) -> VersionCache:
        return cls(env_float("INTAKE_VERSION_CACHE_SECONDS", DEFAULT_SECONDS))

    def loaded(self, procedure_code: str, day: date, load: Callable[[], dict]) -> dict:
        """The version in force on `day`: kept, or `load()`ed and kept. What `load` raises is not kept."""
        now = self.monotonic()
        kept = self._loaded.get((procedure_code, day))
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        version = load()
        # Days go by: only today's and a few recent handovers' entries are worth keeping.
        self._loaded = {key: entry for key, entry in self._loaded.items() if now - entry[0] < self.seconds}
        self._loaded[(procedure_code, day)] = (now, version)
        return version

    def forget(self, procedure_code: str) -> None:
        self._loaded = {key: entry for key, entry in self._loaded.items() if key[0] != procedure_code}
