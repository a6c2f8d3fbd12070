"""Sales documents for delivered orders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.orm import Session

from smbridge.domain.sales import SalesDocument
from smbridge.kernel.database.tables import (
    sales_documents,
)


class SalesDocuments:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, document: SalesDocument) -> None:
        self._session.add(document)

    def not_exported(self, limit: int) -> Sequence[SalesDocument]:
        return self._session.scalars(
            select(SalesDocument)
            .where(sales_documents.c.exported_at.is_(None))
            .order_by(sales_documents.c.id)
            .limit(limit)
        ).all()

    def acknowledge(self, ids: list[int], now: datetime) -> int:
        result = self._session.execute(
            update(sales_documents)
            .where(sales_documents.c.id.in_(ids), sales_documents.c.exported_at.is_(None))
            .values(exported_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def without_files(self, limit: int) -> Sequence[SalesDocument]:
        return self._session.scalars(
            select(SalesDocument)
            .where(sales_documents.c.files_written_at.is_(None))
            .order_by(sales_documents.c.id)
            .limit(limit)
        ).all()

    def by_order(self, order_id: int) -> SalesDocument | None:
        return self._session.scalars(
            select(SalesDocument).where(sales_documents.c.order_id == order_id)
        ).one_or_none()
