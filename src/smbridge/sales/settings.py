"""The settings section of sales documents."""

from __future__ import annotations

from typing import ClassVar

from smbridge.kernel.settings import Duration, SettingsSection, setting


class SalesSettings(SettingsSection):
    heading: ClassVar[str] = "Sales documents for the ERP"

    job_sales_seconds: Duration = setting(3600, "how often sales documents are created, seconds")
    sales_export_dir: str = setting("", "JSON/CSV files for the ERP; empty: API only")
