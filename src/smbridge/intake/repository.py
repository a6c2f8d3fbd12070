"""The webhook journal: every accepted SM event, and what became of it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    select,
)

from smbridge.domain.webhook import JournalEntry, JournalStatus
from smbridge.kernel.database.repository import EntityRepository
from smbridge.kernel.database.tables import (
    webhook_journal,
)


class JournalRepository(EntityRepository[JournalEntry]):
    entity = JournalEntry

    def by_key(self, event_key: str) -> JournalEntry | None:
        return self._session.scalars(
            select(JournalEntry).where(webhook_journal.c.event_key == event_key)
        ).one_or_none()

    def parked_for(self, sm_order_id: str) -> Sequence[JournalEntry]:
        """Events that waited for this order, in the order they arrived."""
        return self._session.scalars(
            select(JournalEntry)
            .where(webhook_journal.c.sm_order_id == sm_order_id)
            .where(webhook_journal.c.status == JournalStatus.PARKED.value)
            .order_by(webhook_journal.c.id)
        ).all()

    def with_status(self, status: JournalStatus, limit: int) -> Sequence[JournalEntry]:
        return self._session.scalars(
            select(JournalEntry)
            .where(webhook_journal.c.status == status.value)
            .order_by(webhook_journal.c.id)
            .limit(limit)
        ).all()
