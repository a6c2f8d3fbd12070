"""The webhook journal: every accepted SM event, and what became of it."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import fields

from sqlalchemy import (
    Select,
    bindparam,
    select,
)

from smbridge.domain.webhook import JournalEntry, JournalStatus
from smbridge.kernel.database.repository import EntityRepository
from smbridge.kernel.database.tables import (
    webhook_journal,
)

_COLUMNS = tuple(f.name for f in fields(JournalEntry) if f.name != "id")
_ID_BY_KEY = select(webhook_journal.c.id).where(webhook_journal.c.event_key == bindparam("key"))
_INSERT = webhook_journal.insert().returning(webhook_journal.c.id)


@functools.cache
def _parked_for() -> Select[JournalEntry]:
    # Built once, on first use (the mapping must be in place): on the hook's hot path,
    # building and keying the query anew cost more CPU than running it (issue 11).
    return (
        select(JournalEntry)
        .where(webhook_journal.c.sm_order_id == bindparam("sm_order_id"))
        .where(webhook_journal.c.status == JournalStatus.PARKED.value)
        .order_by(webhook_journal.c.id)
    )


class JournalRepository(EntityRepository[JournalEntry]):
    entity = JournalEntry

    def id_by_key(self, event_key: str) -> int | None:
        """The id of the entry of this event, if SM sent it before (a plain query)."""
        found = self._session.connection().execute(_ID_BY_KEY, {"key": event_key}).scalar()
        return None if found is None else int(found)

    def insert(self, entry: JournalEntry) -> None:
        """Write a settled entry with one INSERT ... RETURNING, not through the session: the
        hook's hot path (the entry is not tracked; later changes to it are not saved)."""
        row = {name: getattr(entry, name) for name in _COLUMNS}
        entry.id = self._session.connection().execute(_INSERT, row).scalar_one()

    def by_key(self, event_key: str) -> JournalEntry | None:
        return self._session.scalars(
            select(JournalEntry).where(webhook_journal.c.event_key == event_key)
        ).one_or_none()

    def parked_for(self, sm_order_id: str) -> Sequence[JournalEntry]:
        """Events that waited for this order, in the order they arrived."""
        return self._session.scalars(_parked_for(), {"sm_order_id": sm_order_id}).all()

    def with_status(self, status: JournalStatus, limit: int) -> Sequence[JournalEntry]:
        return self._session.scalars(
            select(JournalEntry)
            .where(webhook_journal.c.status == status.value)
            .order_by(webhook_journal.c.id)
            .limit(limit)
        ).all()
