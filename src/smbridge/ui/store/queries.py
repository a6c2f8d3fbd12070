"""What the store workstation reads beside the assembly use cases: the board with its
filters and flags, the store's pickers, an order's contact and timeline.

Read-only query objects on the unit of work (``uow.repo(StoreBoard)``). Every statement is
bounded by the store's active orders (``ix_orders_store_status``) or by one order (its id or
SM id, each indexed), and by a limit: the cost follows the store's work in hand, never the
history (100,000 orders stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    or_,
    select,
)

from smbridge.assembly.cards import BoardLine
from smbridge.assembly.repository import beside_line, board_line, board_select
from smbridge.domain.notification import DeliveryState
from smbridge.domain.status import OrderStatus
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import (
    audit_log,
    orders,
    picker_shifts,
    pickers,
    sm_notifications,
    staff_users,
    telegram_archive,
    telegram_outbox,
    webhook_journal,
)
from smbridge.orders.repository import active_of_store
from smbridge.ui.store.lateness import NEARING

PAGE = 100  # board rows a page
TIMELINE_LIMIT = 200  # entries of each source on a card


class BoardRow(NamedTuple):
    """One row of the store's board: the line ``getActiveOrders`` shows, and what it does
    not (the same statement, extended: ``assembly.repository.board_select``)."""

    line: BoardLine
    id: int
    picker_name: str | None
    notification_failing: bool


@dataclass(frozen=True)
class BoardFilter:
    status: OrderStatus | None = None
    picker_id: int | None = None
    late_only: bool = False
    after: tuple[datetime, int] | None = None  # keyset: the last row's (deadline, id)


class BoardCounts(NamedTuple):
    active: int
    late: int
    nearing: int


class PickerOption(NamedTuple):
    id: int
    name: str


class OrderContact(NamedTuple):
    """The card's header beyond the use case's card; the customer's contact is for the
    store's staff only (never logged)."""

    id: int
    number: str
    sm_order_id: str
    customer_name: str | None
    customer_phone: str | None
    address: dict[str, Any]
    payment_state: str | None
    total_price: Decimal | None
    discount_total_price: Decimal | None
    picker_name: str | None
    ready_at: datetime | None
    handed_over_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    cancelled_by: str | None
    courier_assigned_at: datetime | None
    courier_arrived_at: datetime | None
    changed_at: datetime | None
    paid_at: datetime | None
    paid_amount: Decimal | None
    received_at: datetime
    taken_at: datetime | None
    assembled_at: datetime | None


class TimelineEntry(NamedTuple):
    at: datetime
    source: str  # "order" | "webhook" | "notification" | "telegram"
    title: str
    state: str | None
    detail: str | None


def _failing() -> ColumnElement[bool]:
    """The order has a notification to SM that SM refused, or that waits after a failure."""
    state = sm_notifications.c.state
    return exists().where(
        sm_notifications.c.order_id == orders.c.id,
        or_(
            state == DeliveryState.DEAD.value,
            and_(
                state.in_((DeliveryState.PENDING.value, DeliveryState.SENDING.value)),
                sm_notifications.c.attempts > 0,
            ),
        ),
    )


def _late(now: datetime) -> ColumnElement[bool]:
    deadline = orders.c.expected_assembly_at
    return or_(
        and_(orders.c.assembled_at.is_(None), deadline < now),
        orders.c.assembled_at > deadline,
    )


class StoreBoard(SessionRepository):
    def board(
        self, store_id: int, now: datetime, filters: BoardFilter, limit: int = PAGE
    ) -> list[BoardRow]:
        """The store's active orders, deadline first, one page after ``filters.after``."""
        query = board_select(
            store_id, orders.c.id, pickers.c.name, _failing().label("failing")
        ).outerjoin(pickers, pickers.c.id == orders.c.picker_id)
        if filters.status is not None:
            query = query.where(orders.c.status == filters.status)
        if filters.picker_id is not None:
            query = query.where(orders.c.picker_id == filters.picker_id)
        if filters.late_only:
            query = query.where(_late(now))
        if filters.after is not None:
            deadline, order_id = filters.after
            query = query.where(
                or_(
                    orders.c.expected_assembly_at > deadline,
                    and_(orders.c.expected_assembly_at == deadline, orders.c.id > order_id),
                )
            )
        rows = self._session.execute(query.limit(limit)).all()
        board = []
        for row in rows:
            order_id, picker_name, failing = beside_line(row)
            board.append(BoardRow(board_line(row), order_id, picker_name, bool(failing)))
        return board

    def counts(self, store_id: int, now: datetime) -> BoardCounts:
        """How many active orders the store has, how many are late, how many near their
        deadline (not assembled yet)."""
        deadline = orders.c.expected_assembly_at
        open_ = orders.c.assembled_at.is_(None)
        query = active_of_store(
            select(
                func.count(),
                func.coalesce(func.sum(case((_late(now), 1), else_=0)), 0),
                func.coalesce(
                    func.sum(
                        case((and_(open_, deadline >= now, deadline < now + NEARING), 1), else_=0)
                    ),
                    0,
                ),
            ),
            store_id,
        ).order_by(None)
        total, late, nearing = self._session.execute(query).one()
        return BoardCounts(int(total), int(late), int(nearing))

    def pickers(self, store_id: int) -> list[PickerOption]:
        """The store's active pickers, by name (a store has tens, not thousands)."""
        rows = self._session.execute(
            select(pickers.c.id, pickers.c.name)
            .where(pickers.c.store_id == store_id, pickers.c.active.is_(True))
            .order_by(pickers.c.name, pickers.c.id)
            .limit(500)
        )
        return [PickerOption(*row) for row in rows]

    def pickers_on_shift(self, store_id: int) -> list[PickerOption]:
        """The store's active pickers with a shift open in this store: who may take an order."""
        rows = self._session.execute(
            select(pickers.c.id, pickers.c.name)
            .join(
                picker_shifts,
                and_(
                    picker_shifts.c.picker_id == pickers.c.id,
                    picker_shifts.c.closed_at.is_(None),
                    picker_shifts.c.store_id == store_id,
                ),
            )
            .where(pickers.c.store_id == store_id, pickers.c.active.is_(True))
            .order_by(pickers.c.name, pickers.c.id)
            .limit(500)
        )
        return [PickerOption(*row) for row in rows]

    def contact(self, store_id: int, number: str) -> OrderContact | None:
        """The order's header and customer contact, only if it is this store's."""
        row = self._session.execute(
            select(
                orders.c.id,
                orders.c.number,
                orders.c.sm_order_id,
                orders.c.customer_name,
                orders.c.customer_phone,
                orders.c.address,
                orders.c.payment_state,
                orders.c.total_price,
                orders.c.discount_total_price,
                pickers.c.name,
                orders.c.ready_at,
                orders.c.handed_over_at,
                orders.c.delivered_at,
                orders.c.cancelled_at,
                orders.c.cancel_reason,
                orders.c.cancelled_by,
                orders.c.courier_assigned_at,
                orders.c.courier_arrived_at,
                orders.c.changed_at,
                orders.c.paid_at,
                orders.c.paid_amount,
                orders.c.received_at,
                orders.c.taken_at,
                orders.c.assembled_at,
            )
            .select_from(orders)
            .outerjoin(pickers, pickers.c.id == orders.c.picker_id)
            .where(orders.c.store_id == store_id, orders.c.number == number)
        ).one_or_none()
        return None if row is None else OrderContact._make(row)

    def timeline(self, order: OrderContact) -> list[TimelineEntry]:
        """Everything that happened to the order, oldest first: its own times, SM's
        webhooks, our notifications to SM with their delivery state, Telegram messages."""
        entries = list(_order_times(order))
        entries.extend(self._webhooks(order.sm_order_id))
        entries.extend(self._notifications(order.id))
        entries.extend(self._telegram(order.id))
        entries.extend(self._actions(order_target(order.number)))
        entries.sort(key=lambda entry: (entry.at, _SOURCE_RANK[entry.source]))
        return entries

    def _actions(self, target: str) -> list[TimelineEntry]:
        """What staff did to the order from the web UI (the audit log, by its target)."""
        rows = self._session.execute(
            select(
                audit_log.c.at, staff_users.c.display_name, staff_users.c.login, audit_log.c.reason
            )
            .join(staff_users, staff_users.c.id == audit_log.c.user_id)
            .where(audit_log.c.target == target)  # ix_audit_log_target
            .order_by(audit_log.c.id)
            .limit(TIMELINE_LIMIT)
        )
        return [
            TimelineEntry(at, "staff", f"{name} ({login})", None, reason)
            for at, name, login, reason in rows
        ]

    def _webhooks(self, sm_order_id: str) -> list[TimelineEntry]:
        journal = webhook_journal.c
        rows = self._session.execute(
            select(journal.event_type, journal.received_at, journal.status, journal.deliveries)
            .where(journal.sm_order_id == sm_order_id)  # ix_webhook_journal_order_status
            .order_by(journal.id)
            .limit(TIMELINE_LIMIT)
        )
        return [
            TimelineEntry(
                received_at,
                "webhook",
                f"Событие SM: {WEBHOOK_TEXT.get(event_type, event_type)}",
                str(status),
                f"доставлено {deliveries} раз(а)" if deliveries > 1 else None,
            )
            for event_type, received_at, status, deliveries in rows
        ]

    def _notifications(self, order_id: int) -> list[TimelineEntry]:
        note = sm_notifications.c
        rows = self._session.execute(
            select(
                note.type,
                note.created_at,
                note.state,
                note.attempts,
                note.delivered_at,
                note.last_status,
                note.last_error,
            )
            .where(note.order_id == order_id)  # ix_sm_notifications_order_id
            .order_by(note.id)
            .limit(TIMELINE_LIMIT)
        )
        entries = []
        for kind, created_at, state, attempts, delivered_at, last_status, last_error in rows:
            detail = [f"попыток: {attempts}"]
            if last_status is not None:
                detail.append(f"ответ SM: {last_status}")
            if last_error:
                detail.append(str(last_error)[:300])
            if delivered_at is not None:
                detail.append("доставлено")
            entries.append(
                TimelineEntry(
                    created_at,
                    "notification",
                    f"Уведомление в SM: {NOTIFICATION_TEXT.get(kind, kind)}",
                    str(state),
                    "; ".join(detail),
                )
            )
        return entries

    def _telegram(self, order_id: int) -> list[TimelineEntry]:
        queued = self._session.execute(
            select(
                telegram_outbox.c.created_at,
                telegram_outbox.c.status,
                telegram_outbox.c.text,
                telegram_outbox.c.error,
            )
            .where(telegram_outbox.c.order_id == order_id)  # ix_telegram_outbox_order_id
            .order_by(telegram_outbox.c.id)
            .limit(TIMELINE_LIMIT)
        ).all()
        archived = self._session.execute(
            select(
                telegram_archive.c.created_at,
                telegram_archive.c.status,
                telegram_archive.c.text,
                telegram_archive.c.error,
            )
            .where(telegram_archive.c.order_id == order_id)  # ix_telegram_archive_order_id
            .order_by(telegram_archive.c.id)
            .limit(TIMELINE_LIMIT)
        ).all()
        return [
            TimelineEntry(
                created_at,
                "telegram",
                "Сообщение в Telegram",
                str(status),
                (text[:500] + (f" — {error[:200]}" if error else "")),
            )
            for created_at, status, text, error in [*archived, *queued]
        ]


#: Of entries at the same instant: SM's word first, then what it did to the order, then ours.
_SOURCE_RANK = {"webhook": 0, "staff": 1, "order": 2, "notification": 3, "telegram": 4}


def order_target(number: str) -> str:
    """An order as the audit log names it."""
    return f"order:{number}"


def _order_times(order: OrderContact) -> list[TimelineEntry]:
    times: list[tuple[datetime | None, str, str | None]] = [
        (order.received_at, "Заказ получен", None),
        (order.taken_at, "Взят в сборку", None),
        (order.assembled_at, "Собран", None),
        (order.ready_at, "Готов к выдаче", None),
        (order.courier_assigned_at, "Курьер назначен", None),
        (order.courier_arrived_at, "Курьер прибыл", None),
        (order.handed_over_at, "Передан курьеру", None),
        (order.delivered_at, "Доставлен", None),
        (order.paid_at, "Оплачен", None),
        (order.changed_at, "Изменён покупателем", None),
        (
            order.cancelled_at,
            "Отменён",
            " ".join(filter(None, [order.cancelled_by, order.cancel_reason])) or None,
        ),
    ]
    return [TimelineEntry(at, "order", title, None, detail) for at, title, detail in times if at]


WEBHOOK_TEXT = {
    "order.created": "заказ создан",
    "order.updated": "заказ изменён",
    "order.changed": "заказ изменён",
    "order.paid": "заказ оплачен",
    "order.received": "заказ передан курьеру",
    "order.delivering": "заказ в доставке",
    "order.delivered": "заказ доставлен",
    "order.canceled": "заказ отменён",
    "order.cancelled": "заказ отменён",
    "courier.assigned": "курьер назначен",
    "courier.arrived": "курьер прибыл",
}
NOTIFICATION_TEXT = {
    "order.accepted": "заказ принят",
    "order.in_work": "заказ в сборке",
    "order.assembled": "заказ собран",
    "order.ready_for_delivery": "заказ готов к выдаче",
    "order.canceled": "заказ отменён магазином",
}
STATE_TEXT = {
    # webhooks
    "applied": "применено",
    "parked": "ожидает заказ",
    "failed": "ошибка",
    "ignored": "пропущено",
    # notifications to SM
    "pending": "в очереди",
    "sending": "отправляется",
    "delivered": "доставлено",
    "dead": "не доставлено",
    "superseded": "отменено",
    # Telegram
    "queued": "в очереди",
    "sent": "отправлено",
    "dropped": "снято",
}
FAILED_STATES = frozenset({"failed", "dead"})
#: SM's replacement policies and payment states as far as they are known (SM publishes no
#: list: an unknown value is shown as it came).
POLICY_TEXT = {
    "call_or_replace": "позвонить, если нет ответа — заменить",
    "call_or_remove": "позвонить, если нет ответа — убрать",
    "replace": "заменить без звонка",
    "call": "позвонить покупателю",
    "remove": "не заменять, убрать",
    "do_not_replace": "не заменять",
}
PAYMENT_TEXT = {
    "not_paid": "не оплачен",
    "paid": "оплачен",
    "authorized": "средства заблокированы",
    "hold": "средства заблокированы",
    "refunded": "возвращён",
    "partially_refunded": "частично возвращён",
}
