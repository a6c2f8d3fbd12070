"""Monitoring's settings section: the thresholds of its rules and how often it speaks."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from smbridge.intake.settings import WebhookReplaySettings
from smbridge.kernel.settings import Duration, OperationsSettings, setting


class MonitoringSettings(WebhookReplaySettings, OperationsSettings):
    """Monitoring reads the replay attempts too: a failed webhook alarms once they are spent."""

    heading: ClassVar[str] = "Monitoring: alerts to the operations and store chats"

    job_monitoring_seconds: Duration = setting(60, "how often monitoring runs, seconds")
    monitor_new_not_taken_minutes: float = setting(
        10, "alert when a new order is not taken by a picker within this many minutes"
    )
    monitor_not_ready_before_window_minutes: float = setting(
        30, "alert when an order is not ready this many minutes before its delivery window opens"
    )
    monitor_notification_stuck_minutes: float = setting(
        10, "alert when a notification to SM is undelivered this many minutes ..."
    )
    monitor_notification_attempts: int = setting(5, "... or after this many attempts")
    monitor_parked_minutes: float = setting(
        30, "alert when a webhook waits (parked) this many minutes for its order"
    )
    monitor_silence_minutes: float = setting(
        60, "alert when SM sends no webhook for this many minutes during store hours"
    )
    monitor_store_hours: Annotated[str, Field(pattern=r"^\d\d:\d\d-\d\d:\d\d$")] = setting(
        "08:00-23:00", "store hours, HH:MM-HH:MM, in which silence from SM is alarming"
    )
    monitor_telegram_backlog: int = setting(
        200, "alert when more Telegram messages than this wait ..."
    )
    monitor_telegram_oldest_minutes: float = setting(
        10, "... or the oldest waits this many minutes"
    )
    monitor_document_due_hours: float = setting(
        2, "alert when a delivered order has no sales document after this many hours"
    )
    monitor_pickup_uncollected_hours: float = setting(
        2, "alert when a ready pickup order is not collected this many hours after its window"
    )
    monitor_lookback_days: float = setting(7, "how far back the paid-amount check looks, days")
    monitor_remind_minutes: float = setting(
        30, "repeat the alert of a problem that persists every this many minutes"
    )
    monitor_incident_update_minutes: Duration = setting(
        15,
        "an incident (many orders, one cause) gets an update at most this often, "
        "and only when its count changed",
    )
    monitor_incident_examples: Annotated[int, Field(ge=1, le=20)] = setting(
        3, "how many order numbers, oldest first, an incident's alert names"
    )
