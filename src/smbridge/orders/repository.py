"""Finding and adding orders and stores: the aggregate every feature shares."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    select,
)

from smbridge.domain.order import Order
from smbridge.domain.status import FINAL, OrderStatus
from smbridge.domain.store import Store
from smbridge.kernel.database.repository import EntityRepository, SessionRepository
from smbridge.kernel.database.tables import (
    orders,
    stores,
)

ACTIVE_STATUSES = [status for status in OrderStatus if status not in FINAL]


class StoreRepository(EntityRepository[Store]):
    entity = Store

    def by_sm_id(self, sm_store_id: str) -> Store | None:
        return self._session.scalars(
            select(Store).where(stores.c.sm_store_id == sm_store_id)
        ).one_or_none()

    def by_import_key(self, import_key: str) -> Store | None:
        return self._session.scalars(select(Store).where(stores.c.import_key == import_key)).first()

    def all(self) -> Sequence[Store]:
        return self._session.scalars(select(Store).order_by(stores.c.id)).all()


class OrderRepository(SessionRepository):
    def by_sm_id(self, sm_order_id: str, *, for_update: bool = False) -> Order | None:
        query = select(Order).where(orders.c.sm_order_id == sm_order_id)
        if for_update:  # the assembly API may be changing the same order right now
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).one_or_none()

    def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        query = select(Order).where(orders.c.id == order_id)
        if for_update:
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).one_or_none()

    def awaiting_store(self, *, for_update: bool = False) -> Sequence[Order]:
        """New orders whose SM store is not mapped to ours yet, oldest first."""
        query = (
            select(Order)
            .where(orders.c.store_id.is_(None), orders.c.status == OrderStatus.NEW)
            .order_by(orders.c.id)
        )
        if for_update:
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).all()

    def by_number(self, store_id: int, number: str, *, for_update: bool = False) -> Order | None:
        """An order of this store by our number; other stores' orders do not exist here."""
        query = select(Order).where(orders.c.store_id == store_id, orders.c.number == number)
        if for_update:  # row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).one_or_none()

    def by_ids(self, order_ids: list[int]) -> Sequence[Order]:
        return self._session.scalars(
            select(Order).where(orders.c.id.in_(order_ids)).order_by(orders.c.id)
        ).all()

    def active_for_store(self, store_id: int) -> Sequence[Order]:
        return self._session.scalars(
            select(Order)
            .where(orders.c.store_id == store_id, orders.c.status.in_(ACTIVE_STATUSES))
            .order_by(orders.c.expected_assembly_at, orders.c.id)
        ).all()

    def add(self, order: Order) -> None:
        """Add and flush, so the order has its id (our order number is made from it)."""
        self._session.add(order)
        self._session.flush()
