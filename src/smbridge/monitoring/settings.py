"""Monitoring's settings section: the thresholds of its rules and how often it speaks."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from smbridge.intake.settings import WebhookReplaySettings
from smbridge.kernel.settings import OperationsSettings


class MonitoringSettings(WebhookReplaySettings, OperationsSettings):
    """Monitoring reads the replay attempts too: a failed webhook alarms once they are spent."""

    heading: ClassVar[str] = "Monitoring: alerts to the operations and store chats"

    job_monitoring_seconds: float = Field(
        default=60, gt=0, description="how often monitoring runs, seconds"
    )
    monitor_new_not_taken_minutes: float = Field(
        default=10,
        description="alert when a new order is not taken by a picker within this many minutes",
    )
    monitor_not_ready_before_window_minutes: float = Field(
        default=30,
        description=(
            "alert when an order is not ready this many minutes before its delivery window opens"
        ),
    )
    monitor_notification_stuck_minutes: float = Field(
        default=10,
        description="alert when a notification to SM is undelivered this many minutes ...",
    )
    monitor_notification_attempts: int = Field(
        default=5, description="... or after this many attempts"
    )
    monitor_parked_minutes: float = Field(
        default=30,
        description="alert when a webhook waits (parked) this many minutes for its order",
    )
    monitor_silence_minutes: float = Field(
        default=60,
        description="alert when SM sends no webhook for this many minutes during store hours",
    )
    monitor_store_hours: str = Field(
        default="08:00-23:00",
        pattern=r"^\d\d:\d\d-\d\d:\d\d$",
        description="store hours, HH:MM-HH:MM, in which silence from SM is alarming",
    )
    monitor_telegram_backlog: int = Field(
        default=200, description="alert when more Telegram messages than this wait ..."
    )
    monitor_telegram_oldest_minutes: float = Field(
        default=10, description="... or the oldest waits this many minutes"
    )
    monitor_document_due_hours: float = Field(
        default=2,
        description="alert when a delivered order has no sales document after this many hours",
    )
    monitor_lookback_days: float = Field(
        default=7, description="how far back the paid-amount check looks, days"
    )
    monitor_remind_minutes: float = Field(
        default=30,
        description="repeat the alert of a problem that persists every this many minutes",
    )
    monitor_incident_update_minutes: float = Field(
        default=15,
        gt=0,
        description=(
            "an incident (many orders, one cause) gets an update at most this often, "
            "and only when its count changed"
        ),
    )
    monitor_incident_examples: int = Field(
        default=3,
        ge=1,
        le=20,
        description="how many order numbers, oldest first, an incident's alert names",
    )
