"""The outbox of notifications to SM.

It remembers which orders got new rows in its transaction, so that after the commit they
can be sent at once (prompt.py); the dispatcher's poll is the fallback. What a savepoint
queued is forgotten when that savepoint is rolled back (the group commit's failed webhook):
its rows were never written.

One listener, registered once for every session, forwards a rollback to the transaction's
outbox (kept in ``session.info``): registering one per outbox cost ~8 µs a use case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    event,
    exists,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, SessionTransaction

from smbridge.domain.notification import DeliveryState, Notification
from smbridge.kernel.database.repository import SessionRepository, defaults_of
from smbridge.kernel.database.tables import (
    sm_notifications,
)

#: A new row's values beside those the hook gives.
_GIVEN = ("order_id", "sm_order_id", "type", "payload", "created_at")  # insert's arguments
_DEFAULTS = defaults_of(Notification, *_GIVEN)
_INSERT = sm_notifications.insert()
_UNFINISHED = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)
_OUTBOX = "smbridge.notification_outbox"  # the session's outbox, in ``session.info``


class NotificationOutbox(SessionRepository):
    """The SM notification outbox: rows are claimed by dispatchers under a lease."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        #: Each order queued, with the innermost transaction (savepoint) it was queued in.
        self._queued: list[tuple[SessionTransaction | None, int]] = []
        session.info[_OUTBOX] = self  # _forget_rolled_back finds it there

    def add(self, notification: Notification) -> None:
        self._session.add(notification)
        self._queue(notification.order_id)

    def insert(
        self,
        order_id: int,
        sm_order_id: str,
        kind: str,
        payload: dict[str, Any],
        created_at: datetime,
    ) -> None:
        """Write a new notification (the others fields take the Notification's defaults) with
        one INSERT, not through the session: the hook's hot path queues one per order and
        needs neither a flush nor the mapped object (both cost CPU, issue 11). Several in one
        transaction are cheaper with ``add`` (the flush sends them in one statement).
        """
        given = zip(_GIVEN, (order_id, sm_order_id, kind, payload, created_at), strict=True)
        self._session.connection().execute(_INSERT, {**_DEFAULTS, **dict(given)})
        self._queue(order_id)

    def _queue(self, order_id: int) -> None:
        innermost = self._session.get_nested_transaction() or self._session.get_transaction()
        self._queued.append((innermost, order_id))

    def take_orders_with_new(self) -> list[int]:
        """The orders this transaction queued notifications for (each told once)."""
        taken, self._queued = sorted({order_id for _, order_id in self._queued}), []
        return taken

    def forget_rolled_back(self, rolled_back: SessionTransaction) -> None:
        """Forget what ``rolled_back`` (or a savepoint inside it) queued."""
        self._queued = [
            (queued_in, order_id)
            for queued_in, order_id in self._queued
            if not _within(queued_in, rolled_back)
        ]

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
        earlier = sm_notifications.alias("earlier")
        is_head = ~exists().where(
            earlier.c.order_id == sm_notifications.c.order_id,
            earlier.c.id < sm_notifications.c.id,
            earlier.c.state.in_(_UNFINISHED),
        )
        is_due = notifications_due(now)
        query = (
            select(Notification).where(is_due, is_head).order_by(sm_notifications.c.id).limit(limit)
        )
        if order_id is not None:
            query = query.where(sm_notifications.c.order_id == order_id)
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=sm_notifications)
        return self._session.scalars(query).all()

    def run_after(self, head: Notification, now: datetime, limit: int) -> list[Notification]:
        """The rows queued behind ``head`` that may leave right after it, in order: the
        unfinished rows of its order that follow it, up to the first one not due.

        PostgreSQL skips a row another transaction holds: only SM's cancellation
        (``supersede_pending``) touches rows behind a head, and it takes them out of the queue.
        """
        if limit <= 0:
            return []
        query = (
            select(Notification, notifications_due(now))
            .where(
                sm_notifications.c.order_id == head.order_id,
                sm_notifications.c.id > _id(head),
                sm_notifications.c.state.in_(_UNFINISHED),
            )
            .order_by(sm_notifications.c.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=sm_notifications)
        run = []
        for row, due in self._session.execute(query):
            if not due:
                break
            run.append(row)
        return run

    def any_due(self, now: datetime, order_id: int | None = None) -> bool:
        """Whether anything is due (of one order): a cheap look before claiming."""
        query = select(sm_notifications.c.id).where(notifications_due(now)).limit(1)
        if order_id is not None:
            query = query.where(sm_notifications.c.order_id == order_id)
        return self._session.execute(query).first() is not None

    def pull_forward(self, now: datetime, limit: int) -> int:
        """Make up to ``limit`` rows waiting out a backoff due now, oldest first (SM is back).

        Per-order order is safe: ``due`` still sends only the head of each order's queue.
        PostgreSQL skips rows another dispatcher holds (a claim, another pull-forward), so
        two recoveries seen at once never wait on each other.
        """
        waiting = and_(
            sm_notifications.c.state == DeliveryState.PENDING.value,
            sm_notifications.c.next_attempt_at > now,
        )
        oldest = (
            select(sm_notifications.c.id)
            .where(waiting)
            .order_by(sm_notifications.c.id)
            .limit(limit)
        )
        if self._session.get_bind().dialect.name == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        result = self._session.execute(
            update(sm_notifications)
            .where(sm_notifications.c.id.in_(oldest), waiting)
            .values(next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    outbox = session.info.get(_OUTBOX)
    if outbox is not None:
        outbox.forget_rolled_back(rolled_back)


def _id(row: Notification) -> int:
    if row.id is None:
        raise RuntimeError("notification without id")
    return row.id


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    """Whether ``transaction`` is ``outer`` or a savepoint inside it."""
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def notifications_due(now: datetime) -> ColumnElement[bool]:
    """Pending with its next attempt come, or claimed by a dispatcher whose lease ran out."""
    return or_(
        and_(
            sm_notifications.c.state == DeliveryState.PENDING.value,
            or_(
                sm_notifications.c.next_attempt_at.is_(None),
                sm_notifications.c.next_attempt_at <= now,
            ),
        ),
        and_(
            sm_notifications.c.state == DeliveryState.SENDING.value,
            sm_notifications.c.lease_until < now,
        ),
    )
