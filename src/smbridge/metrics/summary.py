"""Counts for a one-screen overview (``smbridge run --demo``, later the reports)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from smbridge.kernel.database.engine import READ_ONLY
from smbridge.kernel.database.tables import (
    orders,
    sales_documents,
    sm_notifications,
    telegram_archive,
    telegram_outbox,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database


@dataclass(frozen=True)
class Overview:
    orders_by_status: dict[str, int]
    webhooks_by_status: dict[str, int]
    webhook_deliveries: int
    notifications_by_state: dict[str, int]
    telegram_by_status: dict[str, int]  # queued, and the archive's sent / failed
    sales_documents: int


def overview(db: Database) -> Overview:
    with db.engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})

        def by_status(status_column: object) -> dict[str, int]:
            rows = connection.execute(
                select(status_column, func.count()).group_by(status_column)  # type: ignore[call-overload]
            )
            return {str(status): int(n) for status, n in rows}

        deliveries = connection.execute(
            select(func.coalesce(func.sum(webhook_journal.c.deliveries), 0))
        ).scalar_one()
        return Overview(
            orders_by_status=by_status(orders.c.status),
            webhooks_by_status=by_status(webhook_journal.c.status),
            webhook_deliveries=int(deliveries),
            notifications_by_state=by_status(sm_notifications.c.state),
            telegram_by_status=by_status(telegram_outbox.c.status)
            | by_status(telegram_archive.c.status),
            sales_documents=int(
                connection.execute(select(func.count()).select_from(sales_documents)).scalar_one()
            ),
        )
