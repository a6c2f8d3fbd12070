"""The data lifecycle's settings section: how long each kind of row is kept."""

from __future__ import annotations

from typing import ClassVar

from smbridge.kernel.settings import Duration, NonNegativeInt, PositiveInt, SettingsSection, setting


class RetentionSettings(SettingsSection):
    heading: ClassVar[str] = "Data lifecycle (0 days: kept for ever)"

    retention_journal_days: NonNegativeInt = setting(
        90, "applied and ignored webhooks are deleted from the journal after this many days"
    )
    retention_sm_notifications_days: NonNegativeInt = setting(
        400,
        "notifications SM acknowledged are deleted after this many days "
        "(the reports lose their figures for older days)",
    )
    retention_telegram_archive_days: NonNegativeInt = setting(
        90, "archived Telegram messages are deleted after this many days"
    )
    retention_job_runs_days: NonNegativeInt = setting(
        30, "the scheduler's run records are deleted after this many days"
    )
    personal_data_days: NonNegativeInt = setting(
        90,
        "days after an order is delivered or cancelled when its customer's name, phone, "
        "address and comment are removed",
    )
    retention_batch: PositiveInt = setting(
        1000, "rows deleted or cleared per transaction (short locks)"
    )
    job_retention_seconds: Duration = setting(3600, "how often the retention purge runs, seconds")
