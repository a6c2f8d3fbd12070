"""The ERP API's settings section."""

from __future__ import annotations

from typing import ClassVar

from pydantic import SecretStr

from smbridge.kernel.settings import SettingsSection, secret


class ErpSettings(SettingsSection):
    heading: ClassVar[str] = "ERP API"

    erp_token: SecretStr = secret("X-ERP-Token of the ERP")
