"""Counts for a one-screen overview (``smbridge run --demo``, later the reports)."""

from __future__ import annotations

from dataclasses import dataclass

from smbridge.kernel.database.unit_of_work import Database
from smbridge.metrics.queries import MetricsQueries, StatusCounts


@dataclass(frozen=True)
class Overview:
    orders_by_status: dict[str, int]
    webhooks_by_status: dict[str, int]
    webhook_deliveries: int
    notifications_by_state: dict[str, int]
    telegram_by_status: dict[str, int]  # queued, and the archive's sent / failed
    sales_documents: int


def overview(db: Database) -> Overview:
    with db.unit_of_work(read_only=True) as uow:
        statuses, figures = uow.repo(StatusCounts), uow.repo(MetricsQueries)
        return Overview(
            orders_by_status=statuses.orders(),
            webhooks_by_status=statuses.webhooks(),
            webhook_deliveries=figures.webhook_deliveries(),
            notifications_by_state=statuses.notifications(),
            telegram_by_status=statuses.telegram_queue() | statuses.telegram_archive(),
            sales_documents=figures.sales_documents(),
        )
