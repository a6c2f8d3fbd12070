"""The rows past their retention, found by primary key in batches (keyset) and deleted or
cleared one batch per transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Table, Text, and_, cast, delete, func, or_, select, update

from smbridge.domain.status import FINAL
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import orders


class RetentionRepository(SessionRepository):
    def ids_before(
        self, table: Table, old: ColumnElement[bool], after: int, batch: int
    ) -> Sequence[int]:
        """The next ``batch`` ids past ``after`` of rows matching ``old``, in id order."""
        found = self._session.execute(
            select(table.c.id).where(table.c.id > after, old).order_by(table.c.id).limit(batch)
        )
        return found.scalars().all()

    def delete_ids(self, table: Table, ids: Sequence[int]) -> int:
        self._session.execute(delete(table).where(table.c.id.in_(ids)))
        return len(ids)

    def clear_personal_data(self, ids: Sequence[int]) -> int:
        self._session.execute(
            update(orders)
            .where(orders.c.id.in_(ids))
            .values(customer_name=None, customer_phone=None, comment=None, customer={}, address={})
        )
        return len(ids)


def finished_with_personal_data(before: datetime) -> ColumnElement[bool]:
    """Orders delivered or cancelled before ``before`` that still name their customer."""
    finished = func.coalesce(orders.c.delivered_at, orders.c.cancelled_at, orders.c.received_at)
    return and_(
        orders.c.status.in_(sorted(FINAL)),
        finished < before,
        or_(
            orders.c.customer_name.is_not(None),
            orders.c.customer_phone.is_not(None),
            orders.c.comment.is_not(None),
            # an address or customer document without a name or phone at the top
            cast(orders.c.address, Text) != "{}",
            cast(orders.c.customer, Text) != "{}",
        ),
    )
