"""What the monitoring rules read: active orders, queues and recent windows, never history.

Every method answers one question of one rule with plain data, so a run costs the same on
the first day and after a million orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from smbridge.domain.notification import DeliveryState
from smbridge.domain.pickup import PICKUP_METHOD
from smbridge.domain.status import OrderStatus
from smbridge.domain.telegram import MessageStatus
from smbridge.domain.webhook import JournalStatus
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import (
    orders,
    pickers,
    sales_documents,
    sm_notifications,
    stores,
    telegram_outbox,
    webhook_journal,
)

NOT_READY = [OrderStatus.NEW.value, OrderStatus.IN_ASSEMBLY.value, OrderStatus.ASSEMBLED.value]
UNDELIVERED = [DeliveryState.PENDING.value, DeliveryState.SENDING.value]


@dataclass(frozen=True)
class Incident:
    """Rows with one cause: how many, for how many orders, and the oldest few labels."""

    count: int
    orders: int
    oldest: list[str]


@dataclass(frozen=True)
class OrderAtRisk:
    id: int
    number: str | None
    store_id: int | None
    picker_id: int | None
    due: datetime | None  # the moment that is missed or near: a deadline, a window


@dataclass(frozen=True)
class DeadNotification:
    id: int
    type: str
    sm_order_id: str
    last_status: int | None  # SM's last answer; none when it never answered
    attempts: int


@dataclass(frozen=True)
class PaidDifference:
    document_id: int
    order_number: str
    difference: Decimal | None


@dataclass(frozen=True)
class Chats:
    """The Telegram chat of every store and picker (None: not set)."""

    stores: dict[int, str | None]
    pickers: dict[int, str | None]


class MonitoringQueries(SessionRepository):
    def chats(self) -> Chats:
        store_rows = self._session.execute(select(stores.c.id, stores.c.telegram_chat_id))
        picker_rows = self._session.execute(select(pickers.c.id, pickers.c.telegram_chat_id))
        return Chats(
            {int(id_): chat for id_, chat in store_rows},
            {int(id_): chat for id_, chat in picker_rows},
        )

    def new_not_taken(self, received_before: datetime, examples: int) -> dict[int, Incident]:
        """New orders of a known store waiting since before a moment, by store."""
        by_store = self._session.execute(
            select(orders.c.store_id, func.count())
            .where(_new_waiting(received_before))
            .group_by(orders.c.store_id)
        ).all()
        found = {}
        for store_id, count in by_store:
            oldest = self._labels(
                select(func.coalesce(orders.c.number, orders.c.sm_order_id))
                .where(_new_waiting(received_before), orders.c.store_id == store_id)
                .order_by(orders.c.received_at, orders.c.id),
                examples,
            )
            found[int(store_id)] = Incident(count, count, oldest)
        return found

    def assembly_overdue(self, now: datetime) -> list[OrderAtRisk]:
        rows = self._session.execute(
            select(
                orders.c.id,
                orders.c.number,
                orders.c.store_id,
                orders.c.picker_id,
                orders.c.expected_assembly_at,
            ).where(_assembly_late(now))
        )
        return [OrderAtRisk(*row) for row in rows]

    def late_assemblies(self, now: datetime) -> int:
        return self._count(select(func.count()).select_from(orders).where(_assembly_late(now)))

    def not_ready_by(self, delivery_before: datetime) -> list[OrderAtRisk]:
        """Orders not ready whose delivery window opens before a moment."""
        rows = self._session.execute(
            select(orders.c.id, orders.c.number, orders.c.store_id, orders.c.delivery_from).where(
                orders.c.status.in_(NOT_READY),
                orders.c.delivery_from < delivery_before,
                orders.c.store_id.is_not(None),
            )
        )
        return [OrderAtRisk(id_, number, store, None, due) for id_, number, store, due in rows]

    def courier_waiting(self) -> list[OrderAtRisk]:
        rows = self._session.execute(
            select(orders.c.id, orders.c.number, orders.c.store_id).where(
                orders.c.status.in_(NOT_READY), orders.c.courier_arrived_at.is_not(None)
            )
        )
        return [OrderAtRisk(id_, number, store, None, None) for id_, number, store in rows]

    def pickup_uncollected(self, window_ended_before: datetime) -> list[OrderAtRisk]:
        """Ready pickup orders whose pickup window (or, without one, readiness) ended
        before a moment: the customer has not come."""
        window_end = func.coalesce(orders.c.delivery_to, orders.c.ready_at)
        rows = self._session.execute(
            select(orders.c.id, orders.c.number, orders.c.store_id, window_end).where(
                orders.c.status == OrderStatus.READY.value,
                func.lower(func.trim(orders.c.shipment_method)) == PICKUP_METHOD,
                window_end < window_ended_before,
            )
        )
        return [OrderAtRisk(id_, number, store, None, due) for id_, number, store, due in rows]

    def dead_notifications(self) -> list[DeadNotification]:
        rows = self._session.execute(
            select(
                sm_notifications.c.id,
                sm_notifications.c.type,
                sm_notifications.c.sm_order_id,
                sm_notifications.c.last_status,
                sm_notifications.c.attempts,
            ).where(sm_notifications.c.state == DeliveryState.DEAD.value)
        )
        return [DeadNotification(*row) for row in rows]

    def stuck_notifications(
        self, created_before: datetime, attempts: int, examples: int
    ) -> Incident:
        """Notifications not delivered yet that are old or have been tried many times."""
        stuck = and_(
            sm_notifications.c.state.in_(UNDELIVERED),
            or_(
                sm_notifications.c.created_at < created_before,
                sm_notifications.c.attempts >= attempts,
            ),
        )
        return self._incident(
            select(func.count(), func.count(sm_notifications.c.order_id.distinct())).where(stuck),
            select(sm_notifications.c.sm_order_id)
            .where(stuck)
            .group_by(sm_notifications.c.sm_order_id)
            .order_by(func.min(sm_notifications.c.created_at), sm_notifications.c.sm_order_id),
            examples,
        )

    def notification_backlog(self) -> int:
        return self._count(
            select(func.count())
            .select_from(sm_notifications)
            .where(sm_notifications.c.state.in_(UNDELIVERED))
        )

    def failed_webhooks(self, attempts: int, examples: int) -> Incident:
        """Events that failed and have had their automatic replays."""
        return self._journal_incident(
            and_(
                webhook_journal.c.status == JournalStatus.FAILED.value,
                webhook_journal.c.attempts >= attempts,
            ),
            examples,
        )

    def parked_webhooks(self, received_before: datetime, examples: int) -> Incident:
        """Events still waiting for their order since before a moment."""
        return self._journal_incident(
            and_(
                webhook_journal.c.status == JournalStatus.PARKED.value,
                webhook_journal.c.received_at < received_before,
            ),
            examples,
        )

    def last_webhook_at(self) -> datetime | None:
        last: datetime | None = self._session.execute(
            select(func.max(webhook_journal.c.received_at))
        ).scalar_one()
        return last

    def telegram_queue(self) -> tuple[int, datetime | None]:
        """How many messages wait to be sent, and since when the oldest of them waits."""
        count, oldest = self._session.execute(
            select(func.count(), func.min(telegram_outbox.c.created_at)).where(
                telegram_outbox.c.status == MessageStatus.QUEUED.value
            )
        ).one()
        return int(count), oldest

    def telegram_queue_size(self) -> int:
        """Every message in the queue, whatever its state."""
        return self._count(select(func.count()).select_from(telegram_outbox))

    def delivered_without_document(self, delivered_before: datetime) -> int:
        return self._count(
            select(func.count())
            .select_from(orders)
            .where(
                orders.c.status == OrderStatus.DELIVERED.value,
                orders.c.sales_document_id.is_(None),
                orders.c.delivered_at < delivered_before,
            )
        )

    def paid_differences(self, since: datetime) -> list[PaidDifference]:
        """Documents since a moment whose payment may differ from the assembled sum."""
        rows = self._session.execute(
            select(
                sales_documents.c.id, sales_documents.c.order_number, sales_documents.c.difference
            ).where(
                sales_documents.c.created_at >= since, sales_documents.c.difference.is_not(None)
            )
        )
        return [PaidDifference(*row) for row in rows]

    def _journal_incident(self, condition: ColumnElement[bool], examples: int) -> Incident:
        return self._incident(
            select(func.count(), func.count(webhook_journal.c.sm_order_id.distinct())).where(
                condition
            ),
            select(webhook_journal.c.sm_order_id)
            .where(condition, webhook_journal.c.sm_order_id.is_not(None))
            .group_by(webhook_journal.c.sm_order_id)
            .order_by(func.min(webhook_journal.c.received_at), webhook_journal.c.sm_order_id),
            examples,
        )

    def _incident(
        self,
        sizes: Select[int, int],
        oldest: Select[str | None],
        examples: int,
    ) -> Incident:
        count, order_count = self._session.execute(sizes).one()
        if not count:
            return Incident(0, 0, [])
        return Incident(int(count), int(order_count), self._labels(oldest, examples))

    def _labels(self, query: Select[str | None], limit: int) -> list[str]:
        """The first few labels of an ordered query: an incident's worst examples."""
        rows = self._session.execute(query.limit(limit)).scalars()
        return [str(label) for label in rows if label is not None]

    def _count(self, query: Select[int]) -> int:
        return int(self._session.execute(query).scalar_one())


def _new_waiting(received_before: datetime) -> ColumnElement[bool]:
    return and_(
        orders.c.status == OrderStatus.NEW.value,
        orders.c.received_at < received_before,
        orders.c.store_id.is_not(None),  # waiting for its store: operations know already
    )


def _assembly_late(now: datetime) -> ColumnElement[bool]:
    return and_(
        orders.c.status == OrderStatus.IN_ASSEMBLY.value, orders.c.expected_assembly_at < now
    )
