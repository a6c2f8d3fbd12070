"""The settings section of sales documents."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from smbridge.kernel.settings import SettingsSection


class SalesSettings(SettingsSection):
    heading: ClassVar[str] = "Sales documents for the ERP"

    job_sales_seconds: float = Field(
        default=3600, gt=0, description="how often sales documents are created, seconds"
    )
    sales_export_dir: str = Field(
        default="", description="JSON/CSV files for the ERP; empty: API only"
    )
