"""All settings: the union of every feature's section, read from the environment.

Each feature defines its section beside its code (``intake/settings.py: IntakeSettings``,
``kernel/database/settings.py: DatabaseSettings``, …) and the code of a feature takes its
section only, so it cannot reach another feature's settings. A section is a ``BaseSettings``
of its own with the common prefix (``kernel/settings.py: SettingsSection``): the environment
variable of a field is ``SMBRIDGE_`` and its name, wherever the field is defined.

``Settings`` is not built from sections: it *is* every section, by inheritance. So one fact
is written once (in its section), the flat names stay as they were (``Settings(database_url=…)``,
``settings.hook_token``, ``SMBRIDGE_HOOK_TOKEN``, ``deploy/smbridge.env``) with no routing
or aliases, and a ``Settings`` is passed as is wherever a section is expected:
``Database.from_settings(settings)`` sees only a ``DatabaseSettings``. Sections shared by
several features (``OperationsSettings``, ``WebhookReplaySettings``) are bases of theirs.

Fields are listed from the last base to the first (pydantic reads the bases' fields in
reverse order), and ``smbridge settings env-file`` lists them in that order grouped by
section: the bases below are the environment file read from its end.
"""

from __future__ import annotations

from functools import lru_cache

from smbridge.assembly.settings import AssemblySettings
from smbridge.deploy.settings import NginxSettings
from smbridge.entrypoints.settings import WorkerSettings
from smbridge.erp.settings import ErpSettings
from smbridge.intake.settings import IntakeSettings
from smbridge.kernel.database.settings import DatabaseSettings
from smbridge.kernel.settings import LogSettings, SettingsSection
from smbridge.lifecycle.settings import RetentionSettings
from smbridge.monitoring.settings import MonitoringSettings
from smbridge.notifications.settings import NotificationSettings
from smbridge.reports.settings import ReportSettings
from smbridge.sales.settings import SalesSettings
from smbridge.scheduler.settings import SchedulerSettings
from smbridge.telegram.settings import TelegramSettings


class Settings(
    LogSettings,
    NginxSettings,
    WorkerSettings,
    SchedulerSettings,
    ErpSettings,
    SalesSettings,
    ReportSettings,
    RetentionSettings,
    MonitoringSettings,
    TelegramSettings,
    NotificationSettings,
    AssemblySettings,
    IntakeSettings,
    DatabaseSettings,
):
    """Every setting of smbridge (the processes' entry points take this; features their section)."""


def declaring_section(name: str) -> type[SettingsSection]:
    """The section that defines the field ``name``."""
    for cls in Settings.__mro__:
        if name in vars(cls).get("__annotations__", {}) and issubclass(cls, SettingsSection):
            return cls
    raise KeyError(name)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
