"""Delivering the outbox: claim due rows under a lease, send them, record what SM said.

The send happens outside any transaction; the lease (not a held lock) keeps two dispatchers
off the same row, and a dispatcher that dies mid-send leaves a lease that runs out, after
which the row is claimed again. SM answers a repeat with 202, so such a re-send is harmless.
While SM is down only a probe goes out now and then; when SM answers again the rows waiting
out their backoff are made due at once (link.py).

One transaction per send: the transaction that records SM's answer to an order's
notification also claims that order's next one (now the head of its queue), which then
leaves at once; only the first of a run is claimed on its own. The prompt send after a
use case's commit (prompt.py) claims without looking first: that commit has just queued it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from smbridge.domain import notification
from smbridge.domain.notification import DeliveryState, Notification, RetryPolicy
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.notifications.link import LinkPolicy, SmLink
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.notifications.sm_client import NotificationSender, SmAnswer, SmAnswerKind
from smbridge.orders.repository import OrderRepository, StoreRepository

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DispatchPolicy:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    lease: timedelta = timedelta(seconds=60)
    batch: int = 32
    link: LinkPolicy = field(default_factory=LinkPolicy)
    catch_up_limit: int = 10_000  # rows one recovery makes due; the next one takes the rest


@dataclass(frozen=True)
class _Claim:
    id: int
    order_id: int
    body: dict[str, object]


@dataclass
class DispatchCounts:
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.retried + self.dead


class Dispatcher:
    """Sends due notifications; one per process, safe to run in many processes at once."""

    def __init__(
        self,
        db: Database,
        sender: NotificationSender,
        policy: DispatchPolicy,
        clock: Clock,
    ) -> None:
        self._db = db
        self._sender = sender
        self._policy = policy
        self._clock = clock
        self._link = SmLink(policy.link, clock)
        self.owner = f"dispatcher-{uuid.uuid4().hex[:12]}"

    def run_once(
        self, executor: Executor | None = None, order_id: int | None = None
    ) -> DispatchCounts:
        """Claim a batch (heads of their orders' queues), send them in parallel, record;
        each order's next notifications follow its first in the same thread, in order."""
        claims = self._claim(order_id)
        return self._deliver(claims, executor)

    def drain_order(self, order_id: int) -> DispatchCounts:
        """Send an order's notifications now, in order, until none is due (after a change).

        No look before the claim: the commit that calls this has just queued one (if another
        dispatcher got there first, the claim finds nothing and that is all)."""
        return self._deliver(self._claim(order_id, look_first=False), None)

    def _deliver(self, claims: list[_Claim], executor: Executor | None) -> DispatchCounts:
        send = self._send_order
        runs = list(executor.map(send, claims) if executor else map(send, claims))
        counts = DispatchCounts()
        for kinds in runs:
            for kind in kinds:
                if kind is SmAnswerKind.DELIVERED:
                    counts.delivered += 1
                elif kind is SmAnswerKind.RETRY:
                    counts.retried += 1
                else:
                    counts.dead += 1
        return counts

    def _claim(self, order_id: int | None, *, look_first: bool = True) -> list[_Claim]:
        now = self._clock()
        if look_first and not self._anything_due(now, order_id):
            return []  # most polls find nothing: don't take SQLite's write lock for them
        allowed = self._link.allowance(self._policy.batch)
        if not allowed:
            return []  # SM is down and it is not time for a probe, or the pace is used up
        with self._db.unit_of_work() as uow:
            claims = self._take(uow, now, allowed, order_id)
            uow.commit()
        self._link.give_back(allowed - len(claims))
        return claims

    def _take(
        self, uow: UnitOfWork, now: datetime, limit: int, order_id: int | None
    ) -> list[_Claim]:
        """Lease up to ``limit`` due heads (of one order) to this dispatcher."""
        claims = []
        for row in uow.repo(NotificationOutbox).due(now, limit, order_id):
            row.state = DeliveryState.SENDING
            row.lease_owner = self.owner
            row.lease_until = now + self._policy.lease
            row.attempts += 1
            claims.append(_Claim(_id(row), row.order_id, row.body()))
        return claims

    def _anything_due(self, now: datetime, order_id: int | None) -> bool:
        with self._db.unit_of_work(read_only=True) as uow:
            return uow.repo(NotificationOutbox).any_due(now, order_id)

    def _send_order(self, claim: _Claim) -> list[SmAnswerKind]:
        """Send ``claim``, then each next notification of its order the record claimed."""
        kinds = []
        next_claim: _Claim | None = claim
        while next_claim is not None:
            kind, next_claim = self._send_and_record(next_claim)
            kinds.append(kind)
        return kinds

    def _send_and_record(self, claim: _Claim) -> tuple[SmAnswerKind, _Claim | None]:
        """Send, then in one transaction record SM's answer and claim the order's next
        notification when SM answered (a retry holds the order back: nothing is next)."""
        result = self._sender.send(claim.body)
        failures = 0
        next_claim: _Claim | None = None
        with self._db.unit_of_work() as uow:
            row = uow.repo(NotificationOutbox).get(claim.id)
            if row is not None and row.lease_owner == self.owner:
                # Its earlier attempts all failed, unless a lease ran out (that leaves no error).
                failures = row.attempts - 1 if row.last_error is not None else 0
                self._record(row, result)
                if result.kind is not SmAnswerKind.RETRY and self._link.allowance(1):
                    taken = self._take(uow, self._clock(), 1, claim.order_id)
                    next_claim = taken[0] if taken else None
                    if next_claim is None:
                        self._link.give_back(1)
                uow.commit()
            # else our lease ran out and another dispatcher took over: it records
        self._learn(result.kind, failures)
        return result.kind, next_claim

    def _learn(self, kind: SmAnswerKind, row_failures: int) -> None:
        """Tell the link what SM did; when SM is back, make the waiting rows due now."""
        if kind is SmAnswerKind.RETRY:
            self._link.failed()
        elif self._link.answered(row_failures):
            self._pull_forward()

    def _pull_forward(self) -> None:
        # In the database, so every dispatcher (other processes too) sends them right away.
        with self._db.unit_of_work() as uow:
            moved = uow.repo(NotificationOutbox).pull_forward(
                self._clock(), self._policy.catch_up_limit
            )
            uow.commit()
        log.info("sm_notification.catch_up", moved=moved)

    def _record(self, row: Notification, result: SmAnswer) -> None:
        now = self._clock()
        row.lease_owner = row.lease_until = None
        row.last_status, row.last_response = result.status, result.detail
        if result.kind is SmAnswerKind.DELIVERED:
            row.state, row.delivered_at, row.last_error = DeliveryState.DELIVERED, now, None
            log.info("sm_notification.delivered", **_logged(row, result))
            return
        row.last_error = result.detail
        retry_at = (
            self._policy.retry.next_attempt(row.attempts, now)
            if result.kind is SmAnswerKind.RETRY
            else None
        )
        if retry_at is not None:
            row.state, row.next_attempt_at = DeliveryState.PENDING, retry_at
            log.warning("sm_notification.retry", **_logged(row, result))
            return
        row.state = DeliveryState.DEAD  # monitoring alerts operations about it, once
        log.error("sm_notification.dead", **_logged(row, result))


def _logged(row: Notification, result: SmAnswer) -> dict[str, object]:
    """What names a notification and SM's answer to it in the logs (no customer data)."""
    return {
        "id": row.id,
        "type": row.type,
        "sm_order_id": row.sm_order_id,
        "attempts": row.attempts,
        "status": result.status,
    }


def resend(db: Database, ids: Iterable[int]) -> list[int]:
    """Put dead letters back in the queue (after the cause was fixed); returns those moved.

    Each body is built again from its order as it is now: SM refused the stored one, so
    sending it again could only be refused again, whatever was corrected since.
    """
    moved = []
    with db.unit_of_work() as uow:
        for notification_id in ids:
            row = uow.repo(NotificationOutbox).get(notification_id)
            if row is not None and row.state == DeliveryState.DEAD.value:
                _rebuild(uow, row)
                row.state, row.attempts, row.next_attempt_at = DeliveryState.PENDING, 0, None
                moved.append(notification_id)
        uow.commit()
    return moved


def _rebuild(uow: UnitOfWork, row: Notification) -> None:
    order = uow.repo(OrderRepository).get(row.order_id)
    if order is None:
        return
    store = uow.repo(StoreRepository).get(order.store_id) if order.store_id is not None else None
    payload = notification.payload_for(row.type, order, store.timezone if store else "UTC")
    if payload is not None and payload != row.payload:
        row.payload = payload
        log.info("sm_notification.rebuilt", id=row.id, type=row.type, sm_order_id=row.sm_order_id)


def _id(row: Notification) -> int:
    if row.id is None:
        raise RuntimeError("notification without id")
    return row.id
