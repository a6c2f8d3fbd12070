"""Sales documents for delivered orders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Column, bindparam, select, update

from smbridge.domain.sales import SalesDocument
from smbridge.domain.status import OrderStatus
from smbridge.kernel.database.errors import translating_errors
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import orders, sales_documents


class SalesDocuments(SessionRepository):
    def add(self, document: SalesDocument) -> None:
        self._session.add(document)

    def add_batch(self, documents: list[SalesDocument]) -> None:
        """Write a batch now, in one flush: a duplicate fails the whole batch here, with
        ``AlreadyExists``."""
        self._session.add_all(documents)
        with translating_errors():
            self._session.flush()

    def link_orders(self, documents: list[SalesDocument]) -> None:
        """Point each document's order at it (the documents are written already)."""
        if not documents:
            return
        # One statement for the batch: through the ORM each order would be its own
        # versioned UPDATE, a round trip apiece on PostgreSQL.
        self._session.execute(
            update(orders)
            .where(orders.c.id == bindparam("order"))
            .values(sales_document_id=bindparam("document")),
            [{"order": document.order_id, "document": document.id} for document in documents],
        )

    def orders_without_document(self, limit: int) -> list[int]:
        """Reads a partial index of undocumented deliveries: the backlog, never the history."""
        return list(
            self._session.execute(
                select(orders.c.id)
                .where(
                    orders.c.status == OrderStatus.DELIVERED.value,
                    orders.c.sales_document_id.is_(None),
                )
                .order_by(  # the index's own order (status and link are fixed): PostgreSQL then
                    # reads the index instead of walking all ids and filtering history out
                    orders.c.status,
                    orders.c.sales_document_id,
                    orders.c.id,
                )
                .limit(limit)
            ).scalars()
        )

    def not_exported(self, limit: int) -> Sequence[SalesDocument]:
        return self._oldest_without(sales_documents.c.exported_at, limit)

    def acknowledge(self, ids: list[int], now: datetime) -> int:
        result = self._session.execute(
            update(sales_documents)
            .where(sales_documents.c.id.in_(ids), sales_documents.c.exported_at.is_(None))
            .values(exported_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def without_files(self, limit: int) -> Sequence[SalesDocument]:
        return self._oldest_without(sales_documents.c.files_written_at, limit)

    def by_order(self, order_id: int) -> SalesDocument | None:
        return self._session.scalars(
            select(SalesDocument).where(sales_documents.c.order_id == order_id)
        ).one_or_none()

    def _oldest_without(self, mark: Column[datetime], limit: int) -> Sequence[SalesDocument]:
        """The first documents (by id) that a step has not marked done yet."""
        return self._session.scalars(
            select(SalesDocument).where(mark.is_(None)).order_by(sales_documents.c.id).limit(limit)
        ).all()
