"""``Settings`` is the union of the features' sections: each setting defined once, read by
the same environment variable whether a section is built alone or as part of the whole."""

from __future__ import annotations

import pytest

from smbridge.kernel.database.settings import DatabaseSettings
from smbridge.kernel.settings import SettingsSection
from smbridge.monitoring.settings import MonitoringSettings
from smbridge.settings import Settings, declaring_section


def _sections() -> list[type[SettingsSection]]:
    return [c for c in Settings.__mro__[1:] if issubclass(c, SettingsSection)]


def test_every_setting_is_defined_in_exactly_one_section() -> None:
    for name in Settings.model_fields:
        owners = [s for s in _sections() if name in vars(s).get("__annotations__", {})]
        assert len(owners) == 1, f"{name} is defined in {owners}"


def test_every_section_has_its_own_heading() -> None:
    for section in _sections():
        if section is not SettingsSection:
            assert "heading" in vars(section), f"{section.__name__} has no heading"


def test_the_fields_of_a_section_stay_together() -> None:
    """The environment file groups settings under their section's heading."""
    owners = [declaring_section(name) for name in Settings.model_fields]
    runs = [owner for n, owner in enumerate(owners) if n == 0 or owners[n - 1] is not owner]
    assert len(runs) == len(set(runs))


def test_a_section_alone_reads_the_same_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMBRIDGE_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("SMBRIDGE_OPERATIONS_CHAT_ID", "-100")
    monkeypatch.setenv("SMBRIDGE_WEBHOOK_REPLAY_ATTEMPTS", "7")
    assert DatabaseSettings().database_url == Settings().database_url == "sqlite:///elsewhere.db"
    alone = MonitoringSettings()
    assert (alone.operations_chat_id, alone.webhook_replay_attempts) == ("-100", 7)


def test_settings_is_accepted_where_a_section_is() -> None:
    settings = Settings(database_url="sqlite://", monitor_parked_minutes=5)
    assert isinstance(settings, DatabaseSettings)
    assert isinstance(settings, MonitoringSettings)
    assert settings.monitor_parked_minutes == 5
