"""The settings section of the reports."""

from __future__ import annotations

from typing import ClassVar

from smbridge.kernel.settings import Duration, SettingsSection, setting


class ReportSettings(SettingsSection):
    heading: ClassVar[str] = "Reports of the web UI"

    job_report_rollup_seconds: Duration = setting(
        900, "how often settled days are rolled up for the all-stores reports, seconds"
    )
