"""The settings sections the operations pages need beside the UI's context, read from the
environment once per router: the intake policy (a replayed webhook or a mapped store is
applied as the hook applies it) and monitoring's default thresholds (shown beside the ones
operations set). The UI reads sections, never the root settings."""

from __future__ import annotations

from dataclasses import dataclass

from smbridge.intake.service import IntakePolicy, intake_policy
from smbridge.intake.settings import IntakeSettings
from smbridge.monitoring.settings import MonitoringSettings


@dataclass(frozen=True)
class OperationsSettings:
    intake: IntakePolicy
    monitoring: MonitoringSettings

    @classmethod
    def from_environment(cls) -> OperationsSettings:
        return cls(intake_policy(IntakeSettings()), MonitoringSettings())
