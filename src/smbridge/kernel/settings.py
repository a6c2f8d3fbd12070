"""The base of every settings section, and the kernel's own sections.

A section is a ``BaseSettings`` of one concern, defined beside the code that reads it. Every
section reads the same flat environment variables (prefix ``SMBRIDGE_``, then the field's
name) and the same optional ``.env`` file, so a section can be built on its own
(``DatabaseSettings()``) and ``smbridge.settings.Settings`` can be the union of them all.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsSection(BaseSettings):
    """One concern's settings; ``heading`` names it in the environment file."""

    model_config = SettingsConfigDict(
        env_prefix="SMBRIDGE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    heading: ClassVar[str]


class OperationsSettings(SettingsSection):
    """What several features share: where operations are told, and the local time."""

    heading: ClassVar[str] = "Operations chat and local time"

    default_timezone: str = Field(
        default="Europe/Moscow",
        description="time zone of the times in messages when a store has none",
    )
    operations_chat_id: str = Field(
        default="", description="Telegram chat of the e-commerce operations team"
    )


class LogSettings(SettingsSection):
    heading: ClassVar[str] = "Logging"

    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    log_json: bool = Field(
        default=True,
        description="one JSON object per log line on stderr (false: lines for humans)",
    )
