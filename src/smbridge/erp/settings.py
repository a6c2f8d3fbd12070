"""The ERP API's settings section."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, SecretStr

from smbridge.kernel.settings import SettingsSection


class ErpSettings(SettingsSection):
    heading: ClassVar[str] = "ERP API"

    erp_token: SecretStr = Field(default=SecretStr(""), description="X-ERP-Token of the ERP")
