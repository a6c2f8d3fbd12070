"""Delivering the outbox: claim due rows under a lease, send them, record what SM said.

The send happens outside any transaction; the lease (not a held lock) keeps two dispatchers
off the same row, and a dispatcher that dies mid-send leaves a lease that runs out, after
which the row is claimed again. SM answers a repeat with 202, so such a re-send is harmless.
While SM is down only a probe goes out now and then; when SM answers again the rows waiting
out their backoff are made due at once (link.py).

An order's queue leaves as a run: the claim takes its head and the due rows behind it
together, each under its own lease; they are sent one after another as soon as SM answers
the one before (SM's answer, not our record of it, is what keeps an order's notifications in
order), and one transaction records every answer of the run and claims what queued up
behind it meanwhile. So finishAssembly's order.assembled and order.ready_for_delivery cost
one claim and one record, with no commit between the two sends (issue 11). A retry stops
the run: the rows after it go back to the queue unsent. A dispatcher that dies mid-run
leaves leases that run out; the head is then claimed again first (SM answers a repeat with
202). The prompt send after a use case's commit (prompt.py) claims without looking first:
that commit has just queued it.
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
from smbridge.notifications import metrics
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


#: One order's claimed notifications, in the order they must leave.
_Run = list[_Claim]


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
        """Claim a batch (runs of their orders' queues), send the runs in parallel, record;
        each order's notifications leave in order in one thread."""
        claims = self._claim(order_id)
        return self._deliver(claims, executor)

    def drain_order(self, order_id: int) -> DispatchCounts:
        """Send an order's notifications now, in order, until none is due (after a change).

        No look before the claim: the commit that calls this has just queued one (if another
        dispatcher got there first, the claim finds nothing and that is all)."""
        return self._deliver(self._claim(order_id, look_first=False), None)

    def _deliver(self, claims: list[_Run], executor: Executor | None) -> DispatchCounts:
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

    def _claim(self, order_id: int | None, *, look_first: bool = True) -> list[_Run]:
        now = self._clock()
        if look_first and not self._anything_due(now, order_id):
            return []  # most polls find nothing: don't take SQLite's write lock for them
        allowed = self._link.allowance(self._policy.batch)
        if not allowed:
            return []  # SM is down and it is not time for a probe, or the pace is used up
        with self._db.unit_of_work() as uow:
            claims = self._take(uow, now, allowed, order_id)
            uow.commit()
        self._link.give_back(allowed - sum(map(len, claims)))
        return claims

    def _take(self, uow: UnitOfWork, now: datetime, limit: int, order_id: int | None) -> list[_Run]:
        """Lease up to ``limit`` due rows to this dispatcher: heads of their orders' queues
        (of one order), each with the rows behind it that may follow at once."""
        outbox = uow.repo(NotificationOutbox)
        heads = outbox.due(now, limit, order_id)
        spare = limit - len(heads)
        runs = []
        for head in heads:
            rows = [head, *outbox.run_after(head, now, spare)]
            spare -= len(rows) - 1
            runs.append([self._lease(row, now) for row in rows])
        return runs

    def _lease(self, row: Notification, now: datetime) -> _Claim:
        row.state = DeliveryState.SENDING
        row.lease_owner = self.owner
        row.lease_until = now + self._policy.lease
        row.attempts += 1
        return _Claim(_id(row), row.order_id, row.body())

    def _anything_due(self, now: datetime, order_id: int | None) -> bool:
        with self._db.unit_of_work(read_only=True) as uow:
            return uow.repo(NotificationOutbox).any_due(now, order_id)

    def _send_order(self, run: _Run) -> list[SmAnswerKind]:
        """Send ``run``, then each next run of its order that the record claimed."""
        kinds: list[SmAnswerKind] = []
        while run:
            answers = self._send_run(run)
            kinds.extend(answer.kind for answer in answers)
            run = self._record_run(run, answers)
        return kinds

    def _send_run(self, run: _Run) -> list[SmAnswer]:
        """Send each in turn until a retry; stop early while the leases still have half
        their time left (a slow SM must not outlast them: the rest is claimed anew)."""
        answers = []
        deadline = self._clock() + self._policy.lease / 2
        for claim in run:
            answers.append(self._sender.send(claim.body))
            if answers[-1].kind is SmAnswerKind.RETRY or self._clock() >= deadline:
                break
        return answers

    def _record_run(self, run: _Run, answers: list[SmAnswer]) -> _Run:
        """In one transaction: record SM's answers, put the unsent rows back in the queue,
        and (unless SM asked for a retry) claim the order's next run."""
        failures = [0] * len(answers)  # per answer: the row's failed attempts before it
        next_run: _Run = []
        with self._db.unit_of_work() as uow:
            outbox = uow.repo(NotificationOutbox)
            ours = [row for claim in run if (row := self._still_ours(outbox, claim)) is not None]
            if len(ours) == len(run):  # else a lease ran out and another took over: it records
                probe = self._link.is_down()
                for n, (row, answer) in enumerate(zip(ours, answers, strict=False)):
                    # Its earlier attempts all failed, unless a lease ran out (leaves no error).
                    failures[n] = row.attempts - 1 if row.last_error is not None else 0
                    self._record(row, answer, probe=probe)
                for row in ours[len(answers) :]:
                    _release(row)
                if answers[-1].kind is not SmAnswerKind.RETRY:
                    next_run = self._claim_next(uow, run[0].order_id)
                waits = [
                    (row.created_at, row.delivered_at)
                    for row in ours[: len(answers)]
                    if row.state is DeliveryState.DELIVERED and row.delivered_at is not None
                ]
                uow.commit()
                for created_at, delivered_at in waits:  # counted once their record is kept
                    metrics.delivered(created_at, delivered_at)
        for answer, row_failures in zip(answers, failures, strict=True):
            self._learn(answer.kind, row_failures)
        return next_run

    def _still_ours(self, outbox: NotificationOutbox, claim: _Claim) -> Notification | None:
        row = outbox.get(claim.id)
        return row if row is not None and row.lease_owner == self.owner else None

    def _claim_next(self, uow: UnitOfWork, order_id: int) -> _Run:
        allowed = self._link.allowance(self._policy.batch)
        taken = self._take(uow, self._clock(), allowed, order_id) if allowed else []
        run = taken[0] if taken else []
        self._link.give_back(allowed - len(run))
        return run

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

    def _record(self, row: Notification, result: SmAnswer, *, probe: bool = False) -> None:
        now = self._clock()
        row.lease_owner = row.lease_until = None
        row.last_status, row.last_response = result.status, result.detail
        if result.kind is SmAnswerKind.DELIVERED:
            row.state, row.delivered_at, row.last_error = DeliveryState.DELIVERED, now, None
            log.info("sm_notification.delivered", **_logged(row, result))
            return
        row.last_error = result.detail
        retry = self._policy.retry
        retry_at = None
        if result.kind is SmAnswerKind.RETRY:
            retry_at = retry.next_attempt(row.attempts, now, result.retry_after)
            if retry_at is None and probe:  # SM is down, not this row: it must not die of it
                retry_at = now + retry.max_delay
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
    with db.unit_of_work() as uow:
        moved = resend_in(uow, ids)
        uow.commit()
    return moved


def resend_in(uow: UnitOfWork, ids: Iterable[int]) -> list[int]:
    """``resend`` in the caller's transaction (the operations UI audits it there too)."""
    moved = []
    for notification_id in ids:
        row = uow.repo(NotificationOutbox).get(notification_id)
        if row is not None and row.state == DeliveryState.DEAD.value:
            _rebuild(uow, row)
            requeue(row)
            moved.append(notification_id)
    return moved


def requeue(row: Notification) -> None:
    """A dead letter back in its order's queue, as if new."""
    row.state, row.attempts, row.next_attempt_at = DeliveryState.PENDING, 0, None


def _rebuild(uow: UnitOfWork, row: Notification) -> None:
    order = uow.repo(OrderRepository).get(row.order_id)
    if order is None:
        return
    store = uow.repo(StoreRepository).get(order.store_id) if order.store_id is not None else None
    payload = notification.payload_for(row.type, order, store.timezone if store else "UTC")
    if payload is not None and payload != row.payload:
        row.payload = payload
        log.info("sm_notification.rebuilt", id=row.id, type=row.type, sm_order_id=row.sm_order_id)


def _release(row: Notification) -> None:
    """Back in the queue unsent, as if never claimed (a retry of the row before it)."""
    row.state, row.lease_owner, row.lease_until = DeliveryState.PENDING, None, None
    row.attempts -= 1


def _id(row: Notification) -> int:
    if row.id is None:
        raise RuntimeError("notification without id")
    return row.id
