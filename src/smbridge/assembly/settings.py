"""The assembly API's settings section."""

from __future__ import annotations

from typing import ClassVar

from smbridge.kernel.settings import Duration, SettingsSection, setting


class AssemblySettings(SettingsSection):
    heading: ClassVar[str] = "Assembly API: picking apps (stores -> us)"

    notify_assembled: bool = setting(True, "send the optional order.assembled")
    job_housekeeping_seconds: Duration = setting(
        3600, "how often expired idempotency keys are purged, seconds"
    )
    idempotency_retention_hours: Duration = setting(
        72,
        "the assembly API answers a repeated requestId from memory for at least this "
        "long; older keys are purged and the same requestId counts as a new request",
    )
