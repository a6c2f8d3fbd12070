"""The Telegram outbox: messages waiting to be sent, and the archive of those done with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select

from smbridge.domain.telegram import MessageStatus, OutgoingMessage
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import telegram_archive, telegram_outbox


class TelegramOutbox(SessionRepository):
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

    def newer_queued_about(self, problem_id: int, than_id: int | None) -> bool:
        """Whether a later message about the same monitoring problem waits in the queue."""
        newer = self._session.execute(
            select(telegram_outbox.c.id)
            .where(
                telegram_outbox.c.problem_id == problem_id,
                telegram_outbox.c.id > than_id,
                telegram_outbox.c.status == MessageStatus.QUEUED.value,
            )
            .limit(1)
        ).first()
        return newer is not None

    def archive(
        self, message: OutgoingMessage, status: MessageStatus, error: str | None, now: datetime
    ) -> None:
        """Move the message out of the queue; the caller commits it with its last outcome."""
        self._session.execute(
            insert(telegram_archive).values(
                outbox_id=message.id,
                chat_id=message.chat_id,
                text=message.text,
                store_id=message.store_id,
                order_id=message.order_id,
                status=status.value,
                created_at=message.created_at,
                archived_at=now,
                attempts=message.attempts,
                message_ids=[message.telegram_message_id] if message.telegram_message_id else [],
                error=error,
                problem_id=message.problem_id,
            )
        )
        # Its row goes by a plain DELETE: the session must not flush the object after it.
        self._session.expunge(message)
        self._session.execute(delete(telegram_outbox).where(telegram_outbox.c.id == message.id))
