"""A message for store staff, queued for the Telegram sender."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # permanent error, kept with the reason


@dataclass(eq=False)
class OutgoingMessage:
    text: str  # Russian, for people
    created_at: datetime
    chat_id: str | None  # None: no chat configured yet; the sender raises it to operations
    store_id: int | None = None
    order_id: int | None = None
    status: str = MessageStatus.QUEUED.value
    attempts: int = 0
    not_before: datetime | None = None
    sent_at: datetime | None = None
    telegram_message_id: int | None = None
    error: str | None = None
    parts_sent: int = 0  # a long text goes in parts; a restart resumes after the last sent
    id: int | None = None
