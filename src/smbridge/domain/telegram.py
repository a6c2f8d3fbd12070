"""A message for store staff, queued for the Telegram sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # permanent error, kept with the reason
    DROPPED = "dropped"  # a monitoring alert that was no longer true when its turn came


class AlertEvent(StrEnum):
    """Which moment of a monitoring problem a message tells (decides when it is stale)."""

    OPENED = "opened"
    UPDATED = "updated"  # a reminder, or an incident's new count
    RESOLVED = "resolved"


@dataclass(eq=False)
class OutgoingMessage:
    text: str  # Russian, for people
    created_at: datetime
    chat_id: str | None  # None: no chat configured yet; the sender raises it to operations
    store_id: int | None = None
    order_id: int | None = None
    status: MessageStatus = MessageStatus.QUEUED
    attempts: int = 0
    not_before: datetime | None = None
    sent_at: datetime | None = None
    telegram_message_id: int | None = None
    error: str | None = None
    parts_sent: int = 0  # a long text goes in parts; a restart resumes after the last sent
    problem_id: int | None = None  # the monitoring problem this alert is about, if any
    alert_event: AlertEvent | None = None  # set when problem_id is
    id: int | None = None
