"""What the metrics, the overview screen and monitoring read: counts, never rows.

``StatusCounts`` is the one place that counts rows by their status; the scrape, the
``run --demo`` overview and monitoring's snapshot all ask it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, case, func, select

from smbridge.domain.notification import DeliveryState
from smbridge.domain.status import OrderStatus
from smbridge.domain.telegram import MessageStatus
from smbridge.domain.webhook import JournalStatus
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import (
    job_runs,
    orders,
    sales_documents,
    sm_notifications,
    telegram_archive,
    telegram_outbox,
    webhook_journal,
)


class StatusCounts(SessionRepository):
    """Rows per status of each table that has one (statuses without rows are absent)."""

    def orders(self, *, excluding: Iterable[OrderStatus] = ()) -> dict[str, int]:
        left_out = [status.value for status in excluding]
        where = orders.c.status.not_in(left_out) if left_out else None
        return self._count(orders.c.status, where)

    def webhooks(self, *, only: Iterable[JournalStatus] | None = None) -> dict[str, int]:
        return self._count(webhook_journal.c.status, _among(webhook_journal.c.status, only))

    def notifications(self, *, only: Iterable[DeliveryState] | None = None) -> dict[str, int]:
        return self._count(sm_notifications.c.state, _among(sm_notifications.c.state, only))

    def telegram_queue(self) -> dict[str, int]:
        return self._count(telegram_outbox.c.status)

    def telegram_archive(self) -> dict[str, int]:
        return self._count(telegram_archive.c.status)

    def _count(
        self, status: ColumnElement[str], where: ColumnElement[bool] | None = None
    ) -> dict[str, int]:
        query = select(status, func.count()).group_by(status)
        if where is not None:
            query = query.where(where)
        return {str(key): int(count) for key, count in self._session.execute(query)}


def _among(
    column: ColumnElement[str], statuses: Iterable[StrEnum] | None
) -> ColumnElement[bool] | None:
    return None if statuses is None else column.in_([status.value for status in statuses])


@dataclass(frozen=True)
class JobRunCount:
    """How many runs of a job ended one way, and when the last of them finished."""

    job: str
    outcome: str  # ok | failed | unfinished
    count: int
    last_finished_at: datetime | None


class MetricsQueries(SessionRepository):
    """The other figures of the scrape and the overview."""

    def job_runs(self) -> list[JobRunCount]:
        outcome = case(
            (job_runs.c.finished_at.is_(None), "unfinished"),
            (job_runs.c.error.is_(None), "ok"),
            else_="failed",
        ).label("outcome")
        rows = self._session.execute(
            select(job_runs.c.job, outcome, func.count(), func.max(job_runs.c.finished_at))
            .group_by(job_runs.c.job, outcome)
            .order_by(job_runs.c.job)
        )
        return [JobRunCount(job, result, count, last) for job, result, count, last in rows]

    def oldest_waiting_notification(self, waiting: Iterable[DeliveryState]) -> datetime | None:
        """When the oldest notification in one of the ``waiting`` states was made (bounded
        by the outbox's waiting rows: the state index)."""
        oldest: datetime | None = self._session.execute(
            select(func.min(sm_notifications.c.created_at)).where(
                sm_notifications.c.state.in_([state.value for state in waiting])
            )
        ).scalar_one()
        return oldest

    def oldest_queued_telegram(self) -> datetime | None:
        """When the oldest message still waiting to be sent was queued."""
        oldest: datetime | None = self._session.execute(
            select(func.min(telegram_outbox.c.created_at)).where(
                telegram_outbox.c.status == MessageStatus.QUEUED.value
            )
        ).scalar_one()
        return oldest

    def webhook_deliveries(self) -> int:
        """Every delivery of every journaled webhook, redeliveries included."""
        return int(
            self._session.execute(
                select(func.coalesce(func.sum(webhook_journal.c.deliveries), 0))
            ).scalar_one()
        )

    def sales_documents(self) -> int:
        return int(
            self._session.execute(select(func.count()).select_from(sales_documents)).scalar_one()
        )
