"""Repositories: how the service layer finds and adds domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from smbridge.adapters.tables import (
    api_tokens,
    idempotency_keys,
    orders,
    picker_shifts,
    pickers,
    sales_documents,
    sm_notifications,
    stores,
    telegram_outbox,
    webhook_journal,
)
from smbridge.domain.notification import DeliveryState, Notification
from smbridge.domain.order import Order
from smbridge.domain.picker import Picker, Shift
from smbridge.domain.sales import SalesDocument
from smbridge.domain.status import FINAL, OrderStatus
from smbridge.domain.store import Store
from smbridge.domain.telegram import MessageStatus, OutgoingMessage
from smbridge.domain.webhook import JournalEntry, JournalStatus

ACTIVE_STATUSES = [s.value for s in OrderStatus if s not in FINAL]


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
            .where(orders.c.store_id.is_(None), orders.c.status == OrderStatus.NEW.value)
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

    def get(self, message_id: int) -> OutgoingMessage | None:
        return self._session.get(OutgoingMessage, message_id)

    def queued(self, limit: int) -> Sequence[OutgoingMessage]:
        """Oldest first: the queue holds only what is not sent yet (the rest is archived)."""
        return self._session.scalars(
            select(OutgoingMessage)
            .where(telegram_outbox.c.status == MessageStatus.QUEUED.value)
            .order_by(telegram_outbox.c.id)
            .limit(limit)
        ).all()


def notifications_due(now: datetime) -> ColumnElement[bool]:
    """Pending with its next attempt come, or claimed by a dispatcher whose lease ran out."""
    n = sm_notifications
    return or_(
        and_(
            n.c.state == DeliveryState.PENDING.value,
            or_(n.c.next_attempt_at.is_(None), n.c.next_attempt_at <= now),
        ),
        and_(n.c.state == DeliveryState.SENDING.value, n.c.lease_until < now),
    )


def any_notification_due(connection: Connection, now: datetime, order_id: int | None) -> bool:
    query = select(sm_notifications.c.id).where(notifications_due(now)).limit(1)
    if order_id is not None:
        query = query.where(sm_notifications.c.order_id == order_id)
    return connection.execute(query).first() is not None


class NotificationOutbox:
    """The SM notification outbox: rows are claimed by dispatchers under a lease."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, notification: Notification) -> None:
        self._session.add(notification)

    def get(self, notification_id: int) -> Notification | None:
        return self._session.get(Notification, notification_id)

    def for_order(self, order_id: int) -> Sequence[Notification]:
        return self._session.scalars(
            select(Notification)
            .where(sm_notifications.c.order_id == order_id)
            .order_by(sm_notifications.c.id)
        ).all()

    def with_state(self, state: DeliveryState, limit: int) -> Sequence[Notification]:
        return self._session.scalars(
            select(Notification)
            .where(sm_notifications.c.state == state.value)
            .order_by(sm_notifications.c.id)
            .limit(limit)
        ).all()

    def supersede_pending(self, order_id: int, reason: str) -> int:
        result = self._session.execute(
            update(sm_notifications)
            .where(
                sm_notifications.c.order_id == order_id,
                sm_notifications.c.state == DeliveryState.PENDING.value,
            )
            .values(state=DeliveryState.SUPERSEDED.value, last_error=reason)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def due(self, now: datetime, limit: int, order_id: int | None = None) -> Sequence[Notification]:
        """Rows to send now: each the head of its order's queue (keeps per-order order).

        A row is due when it is pending and its next attempt has come, or when the
        dispatcher that claimed it let the lease run out (it crashed). PostgreSQL skips rows
        another dispatcher has locked; SQLite's write lock already serializes claims.
        """
        n = sm_notifications
        earlier = n.alias("earlier")
        unfinished = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
        is_head = ~exists().where(
            earlier.c.order_id == n.c.order_id,
            earlier.c.id < n.c.id,
            earlier.c.state.in_(unfinished),
        )
        is_due = notifications_due(now)
        query = select(Notification).where(is_due, is_head).order_by(n.c.id).limit(limit)
        if order_id is not None:
            query = query.where(n.c.order_id == order_id)
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=n)
        return self._session.scalars(query).all()

    def pull_forward(self, now: datetime, limit: int) -> int:
        """Make up to ``limit`` rows waiting out a backoff due now, oldest first (SM is back).

        Per-order order is safe: ``due`` still sends only the head of each order's queue.
        PostgreSQL skips rows another dispatcher holds (a claim, another pull-forward), so
        two recoveries seen at once never wait on each other.
        """
        n = sm_notifications
        waiting = and_(n.c.state == DeliveryState.PENDING.value, n.c.next_attempt_at > now)
        oldest = select(n.c.id).where(waiting).order_by(n.c.id).limit(limit)
        if self._session.get_bind().dialect.name == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        result = self._session.execute(
            update(n)
            .where(n.c.id.in_(oldest), waiting)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class PickerRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, picker_id: int) -> Picker | None:
        return self._session.get(Picker, picker_id)

    def add(self, picker: Picker) -> None:
        self._session.add(picker)
        self._session.flush()

    def of_store(self, store_id: int) -> Sequence[Picker]:
        return self._session.scalars(
            select(Picker).where(pickers.c.store_id == store_id).order_by(pickers.c.id)
        ).all()

    def open_shift(self, picker_id: int) -> Shift | None:
        return self._session.scalars(
            select(Shift).where(
                picker_shifts.c.picker_id == picker_id, picker_shifts.c.closed_at.is_(None)
            )
        ).one_or_none()

    def add_shift(self, shift: Shift) -> None:
        self._session.add(shift)
        self._session.flush()


class ApiTokenRepository:
    """Store-bound tokens of the assembly API; only their SHA-256 is kept."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def store_of(self, token_sha256: str) -> int | None:
        """The store of an unrevoked token, if that store is active (a closed store's
        devices lose access without revoking each token)."""
        return self._session.execute(
            select(api_tokens.c.store_id)
            .join(stores, stores.c.id == api_tokens.c.store_id)
            .where(
                api_tokens.c.token_sha256 == token_sha256,
                api_tokens.c.revoked_at.is_(None),
                stores.c.active.is_(True),
            )
        ).scalar_one_or_none()

    def add(self, store_id: int, token_sha256: str, label: str, now: datetime) -> int:
        statement = insert(api_tokens).values(
            store_id=store_id, token_sha256=token_sha256, label=label, created_at=now
        )
        return int(self._session.execute(statement.returning(api_tokens.c.id)).scalar_one())

    def revoke(self, token_id: int, now: datetime) -> bool:
        result = self._session.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_labelled(self, store_id: int, label: str, now: datetime) -> int:
        """Revoke the store's live tokens issued under ``label``; how many there were."""
        result = self._session.execute(
            update(api_tokens)
            .where(
                api_tokens.c.store_id == store_id,
                api_tokens.c.label == label,
                api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def all(self) -> Sequence[Row[Any, Any, Any, Any, Any]]:
        return self._session.execute(
            select(
                api_tokens.c.id,
                api_tokens.c.store_id,
                api_tokens.c.label,
                api_tokens.c.created_at,
                api_tokens.c.revoked_at,
            ).order_by(api_tokens.c.id)
        ).all()


@dataclass(frozen=True)
class StoredAnswer:
    method: str
    request_sha256: str
    status_code: int
    response: dict[str, Any]


class IdempotencyKeys:
    """The first answer to each (store, requestId), kept in the same transaction as its effect."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, store_id: int, request_id: str) -> StoredAnswer | None:
        k = idempotency_keys.c
        row = self._session.execute(
            select(k.method, k.request_sha256, k.status_code, k.response).where(
                k.store_id == store_id, k.request_id == request_id
            )
        ).one_or_none()
        return (
            None
            if row is None
            else StoredAnswer(row.method, row.request_sha256, row.status_code, row.response)
        )

    def purge(self, created_before: datetime) -> int:
        """Forget answers older than the retention; returns how many were removed."""
        removed = self._session.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < created_before)
        )
        return int(removed.rowcount)  # type: ignore[attr-defined]

    def add(self, store_id: int, request_id: str, answer: StoredAnswer, now: datetime) -> None:
        self._session.execute(
            insert(idempotency_keys).values(
                store_id=store_id,
                request_id=request_id,
                method=answer.method,
                request_sha256=answer.request_sha256,
                status_code=answer.status_code,
                response=answer.response,
                created_at=now,
            )
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
