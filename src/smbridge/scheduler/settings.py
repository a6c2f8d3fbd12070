"""The scheduler's settings section (how often each job runs is its feature's setting)."""

from __future__ import annotations

from typing import ClassVar

from smbridge.kernel.settings import Duration, SettingsSection, setting


class SchedulerSettings(SettingsSection):
    heading: ClassVar[str] = "Scheduler"

    job_lease_seconds: Duration = setting(
        60,
        "a scheduler's lease on a job run, renewed while it runs; it expires if its holder "
        "dies, and another scheduler may run the job",
    )
