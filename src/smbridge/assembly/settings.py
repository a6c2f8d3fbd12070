"""The assembly API's settings section."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from smbridge.kernel.settings import SettingsSection


class AssemblySettings(SettingsSection):
    heading: ClassVar[str] = "Assembly API: picking apps (stores -> us)"

    notify_assembled: bool = Field(default=True, description="send the optional order.assembled")
    job_housekeeping_seconds: float = Field(
        default=3600, gt=0, description="how often expired idempotency keys are purged, seconds"
    )
    idempotency_retention_hours: float = Field(
        default=72,
        gt=0,
        description=(
            "the assembly API answers a repeated requestId from memory for at least this "
            "long; older keys are purged and the same requestId counts as a new request"
        ),
    )
