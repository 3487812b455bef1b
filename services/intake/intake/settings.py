"""intake's settings, read once when the service starts (motcua.dependencies.BuiltAtStart)."""
from __future__ import annotations

from dataclasses import dataclass, field

from motcua.config import env_float

from intake.domain.attachments import Limits


@dataclass(frozen=True)
class IntakeSettings:
    limits: Limits = field(default_factory=Limits)  # attachment and dossier sizes

    @classmethod
    def from_env(cls) -> IntakeSettings:
        return cls(limits=Limits(file_mb=env_float("INTAKE_MAX_ATTACHMENT_MB", Limits.file_mb),
                                 dossier_mb=env_float("INTAKE_MAX_DOSSIER_MB", Limits.dossier_mb)))
