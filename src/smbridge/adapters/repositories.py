"""Repositories: how the service layer finds and adds domain objects."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from smbridge.adapters.tables import orders, stores, webhook_journal
from smbridge.domain.order import Order
from smbridge.domain.store import Store
from smbridge.domain.telegram import OutgoingMessage
from smbridge.domain.webhook import JournalEntry, JournalStatus


class StoreRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_sm_id(self, sm_store_id: str) -> Store | None:
        return self._session.scalars(
            select(Store).where(stores.c.sm_store_id == sm_store_id)
        ).one_or_none()

    def get(self, store_id: int) -> Store | None:
        return self._session.get(Store, store_id)

    def by_import_key(self, import_key: str) -> Store | None:
        return self._session.scalars(select(Store).where(stores.c.import_key == import_key)).first()

    def all(self) -> Sequence[Store]:
        return self._session.scalars(select(Store).order_by(stores.c.id)).all()

    def add(self, store: Store) -> None:
        self._session.add(store)
        self._session.flush()


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_sm_id(self, sm_order_id: str) -> Order | None:
        return self._session.scalars(
            select(Order).where(orders.c.sm_order_id == sm_order_id)
        ).one_or_none()

    def add(self, order: Order) -> None:
        """Add and flush, so the order has its id (our order number is made from it)."""
        self._session.add(order)
        self._session.flush()


class JournalRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def by_key(self, event_key: str) -> JournalEntry | None:
        return self._session.scalars(
            select(JournalEntry).where(webhook_journal.c.event_key == event_key)
        ).one_or_none()

    def get(self, entry_id: int) -> JournalEntry | None:
        return self._session.get(JournalEntry, entry_id)

    def add(self, entry: JournalEntry) -> None:
        self._session.add(entry)
        self._session.flush()

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


class TelegramOutbox:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, message: OutgoingMessage) -> None:
        self._session.add(message)
