"""The Telegram outbox: messages waiting to be sent."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    select,
)
from sqlalchemy.orm import Session

from smbridge.domain.telegram import MessageStatus, OutgoingMessage
from smbridge.kernel.database.tables import (
    telegram_outbox,
)


class TelegramOutbox:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, message: OutgoingMessage) -> None:
        self._session.add(message)

    def get(self, message_id: int) -> OutgoingMessage | None:
        return self._session.get(OutgoingMessage, message_id)

    def queued(self, limit: int) -> Sequence[OutgoingMessage]:
        """Oldest first: the queue holds only what is not sent yet (the rest is archived)."""
        return self._session.scalars(
            select(OutgoingMessage)
            .where(telegram_outbox.c.status == MessageStatus.QUEUED.value)
            .order_by(telegram_outbox.c.id)
            .limit(limit)
        ).all()
