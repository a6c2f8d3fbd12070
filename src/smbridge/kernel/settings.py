"""The base of every settings section, the kinds of settings, and the kernel's own sections.

A section is a ``BaseSettings`` of one concern, defined beside the code that reads it. Every
section reads the same flat environment variables (prefix ``SMBRIDGE_``, then the field's
name) and the same optional ``.env`` file, so a section can be built on its own
(``DatabaseSettings()``) and ``smbridge.settings.Settings`` can be the union of them all.

A field is declared as its kind and ``setting(default, description)``: the kind (below, or an
``Annotated`` of its own for a one-off) carries the bounds, so each bound is written once and
``smbridge settings env-file`` reads it from the field's metadata like any other.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_Value = TypeVar("_Value")

#: A positive amount (a rate, a duration).
PositiveFloat = Annotated[float, Field(gt=0)]
#: A time span; the setting's name says its unit (``_seconds``, ``_minutes``, ``_hours``).
Duration = PositiveFloat
#: ``ge=1`` rather than pydantic's ``gt=0``: the environment file says ``>= 1``.
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Port = Annotated[int, Field(ge=1, le=65535)]
#: A limit on request bodies; below 1 KiB it would refuse ordinary requests.
BodyBytes = Annotated[int, Field(ge=1024)]


def setting(default: _Value, description: str) -> _Value:
    """A field's default and its meaning (the environment file prints both)."""
    return Field(default=default, description=description)


def secret(description: str) -> SecretStr:
    """A secret setting: empty by default, never printed."""
    return Field(default=SecretStr(""), description=description)


class SettingsSection(BaseSettings):
    """One concern's settings; ``heading`` names it in the environment file."""

    model_config = SettingsConfigDict(
        env_prefix="SMBRIDGE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    heading: ClassVar[str]


class OperationsSettings(SettingsSection):
    """What several features share: where operations are told, and the local time."""

    heading: ClassVar[str] = "Operations chat and local time"

    default_timezone: str = setting(
        "Europe/Moscow", "time zone of the times in messages when a store has none"
    )
    operations_chat_id: str = setting("", "Telegram chat of the e-commerce operations team")


class LogSettings(SettingsSection):
    heading: ClassVar[str] = "Logging"

    log_level: str = setting("INFO", "DEBUG, INFO, WARNING or ERROR")
    log_json: bool = setting(
        True, "one JSON object per log line on stderr (false: lines for humans)"
    )
