"""The webhook journal: every accepted SM event, and what became of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from sqlalchemy import (
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
_PARKED_IDS = (
    select(webhook_journal.c.id)
    .where(webhook_journal.c.sm_order_id == bindparam("sm_order_id"))
    .where(webhook_journal.c.status == JournalStatus.PARKED.value)
    .order_by(webhook_journal.c.id)
)


class JournalRepository(EntityRepository[JournalEntry]):
    entity = JournalEntry

    def insert(self, entry: JournalEntry) -> None:
        """Write a settled entry with one INSERT ... RETURNING, not through the session: the
        hook's hot path (the entry is not tracked; later changes to it are not saved)."""
        row = {name: getattr(entry, name) for name in _COLUMNS}
        entry.id = self._session.connection().execute(_INSERT, row).scalar_one()

    def by_key(self, event_key: str) -> JournalEntry | None:
        """The entry of this event, if SM sent it before.

        Asked for every webhook and nearly always None: a plain query of the id first (an
        ORM query costs several times more CPU, issue 11); the entry is loaded only if any.
        """
        self._session.flush()  # as an ORM query would: an entry added in this transaction
        connection = self._session.connection()
        found = connection.execute(_ID_BY_KEY, {"key": event_key}).scalar()
        return None if found is None else self.get(int(found))

    def parked_for(self, sm_order_id: str) -> Sequence[JournalEntry]:
        """Events that waited for this order, in the order they arrived.

        Asked for every new order and nearly always empty: a plain query of ids first (an
        ORM query costs several times more CPU, issue 11); entries are loaded only if any.
        """
        self._session.flush()  # as an ORM query would: entries parked in this transaction
        connection = self._session.connection()
        ids = connection.execute(_PARKED_IDS, {"sm_order_id": sm_order_id}).scalars().all()
        if not ids:
            return ()
        return self._session.scalars(
            select(JournalEntry).where(webhook_journal.c.id.in_(ids)).order_by(webhook_journal.c.id)
        ).all()

    def with_status(self, status: JournalStatus, limit: int) -> Sequence[JournalEntry]:
        return self._session.scalars(
            select(JournalEntry)
            .where(webhook_journal.c.status == status.value)
            .order_by(webhook_journal.c.id)
            .limit(limit)
        ).all()
