"""The hook's use case: take in an SM webhook, apply it to its order, say what to answer.

Every webhook is journaled in the same transaction as its effect, and the caller answers
SM only after that commit: a 2xx means "we have it". A webhook that fails to apply is
journaled as failed in a second transaction, so it is never lost; failures.py applies such
events again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from smbridge.domain.order import NewOrder, Order
from smbridge.domain.order_change import Effect, OrderChange
from smbridge.domain.sm_order import SmOrder
from smbridge.domain.store import Store
from smbridge.domain.telegram import OutgoingMessage
from smbridge.domain.webhook import EventType, JournalEntry, JournalStatus
from smbridge.intake import acceptance
from smbridge.intake.events import InboundWebhook, parse_webhook
from smbridge.intake.repository import JournalRepository
from smbridge.intake.settings import IntakeSettings
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.errors import (
    DatabaseUnavailable,
    WriteConflict,
    retrying_conflicts,
)
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository, StoreRepository
from smbridge.telegram import messages
from smbridge.telegram.outbox import TelegramOutbox

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IntakePolicy:
    """The settings that shape how orders are taken in."""

    order_number_prefix: str = "SM"
    default_lead: timedelta = timedelta(minutes=30)
    handover_buffer: timedelta = timedelta(minutes=15)
    operations_chat_id: str | None = None
    notify_accepted: bool = True  # send SM order.accepted with our number
    default_timezone: str = "Europe/Moscow"  # of the promised time of an order without a store
    store_wait: timedelta = timedelta(minutes=30)  # an unmapped store's order waits this long


def intake_policy(settings: IntakeSettings) -> IntakePolicy:
    return IntakePolicy(
        order_number_prefix=settings.order_number_prefix,
        default_lead=timedelta(minutes=settings.default_assembly_lead_minutes),
        handover_buffer=timedelta(minutes=settings.handover_buffer_minutes),
        operations_chat_id=settings.operations_chat_id or None,
        notify_accepted=settings.notify_accepted,
        default_timezone=settings.default_timezone,
        store_wait=timedelta(minutes=settings.store_wait_minutes),
    )


@dataclass(frozen=True)
class WebhookResponse:
    """What the hook answers SM: an HTTP status and a JSON body (stored with the event)."""

    status_code: int
    body: dict[str, Any]


ACCEPTED = WebhookResponse(202, {"status": "accepted"})
OK = WebhookResponse(200, {"status": "ok"})


def ingest_webhook(
    db: Database, hook: InboundWebhook, policy: IntakePolicy, clock: Clock
) -> WebhookResponse:
    """Store one webhook and apply it; return what to answer SM.

    Raises ``DatabaseUnavailable`` when the database cannot take it now: nothing was
    stored, and the caller answers 503 so that SM delivers it again.

    The database may commit it together with webhooks that arrive meanwhile
    (``Database.batched``): each is answered only after the commit that holds it.
    """
    now = clock()
    return db.batched(
        lambda uow: ingest_in(uow, hook, policy, now),
        lambda uow, exc: journal_failure_in(uow, hook, exc, now),
        lambda: ingest_alone(db, hook, policy, now),
    )


def ingest_alone(
    db: Database, hook: InboundWebhook, policy: IntakePolicy, now: datetime
) -> WebhookResponse:
    """One webhook in its own transaction."""
    # Another writer may change the order meanwhile, or the database break a deadlock: the
    # whole transaction is rolled back, so running it again is safe.
    return retrying_conflicts(lambda: _ingest_once(db, hook, policy, now), "webhook")


def _ingest_once(
    db: Database, hook: InboundWebhook, policy: IntakePolicy, now: datetime
) -> WebhookResponse:
    try:
        with db.unit_of_work() as uow:
            reply, logged = ingest_in(uow, hook, policy, now)
            uow.commit()
    except (WriteConflict, DatabaseUnavailable):
        raise  # not the event's fault: never journaled as failed
    except Exception as exc:
        return _journal_failure(db, hook, exc, now)
    logged()
    return reply


def ingest_in(
    uow: UnitOfWork, hook: InboundWebhook, policy: IntakePolicy, now: datetime
) -> tuple[WebhookResponse, Callable[[], None]]:
    """Journal and apply one webhook in ``uow``; the caller commits, then calls the second
    value (it logs what became of the webhook)."""
    uow.lock_order_key(hook.sm_order_id or hook.key)
    journal = uow.repo(JournalRepository)
    known = journal.by_key(hook.key)
    if known is not None:
        return _redelivery(known, now)
    entry = _new_entry(hook, now)
    reply = apply_event(uow, entry, hook, policy)
    journal.insert(entry)  # settled before it is written: one INSERT, no UPDATE after it
    return reply, partial(log_outcome, entry)


def journal_failure_in(
    uow: UnitOfWork, hook: InboundWebhook, exc: Exception, now: datetime
) -> tuple[WebhookResponse, Callable[[], None]]:
    """Journal a webhook that failed to apply as failed (its effects were rolled back); the
    caller commits, then calls the second value."""
    uow.lock_order_key(hook.sm_order_id or hook.key)
    known = uow.repo(JournalRepository).by_key(hook.key)
    if known is not None:  # a concurrent delivery of the same event got there first
        return _redelivery(known, now)
    entry = _new_entry(hook, now)
    entry.reply_status, entry.reply_body = ACCEPTED.status_code, ACCEPTED.body
    uow.repo(JournalRepository).add(entry)
    entry.settle(JournalStatus.FAILED, now, failure_reason(exc))
    return ACCEPTED, partial(_log_failure, entry, exc)


def apply_event(
    uow: UnitOfWork, entry: JournalEntry, hook: InboundWebhook, policy: IntakePolicy
) -> WebhookResponse:
    """Apply a journaled event to its order (or park it, or only keep it); records and
    returns the answer SM gets. The caller commits."""
    now = entry.received_at
    if hook.kind is None or hook.data is None:
        entry.settle(JournalStatus.IGNORED, now, "unknown event type: stored only")
        reply = OK
    elif hook.kind is EventType.ORDER_CREATED:
        reply = _create_order(uow, entry, hook.data, policy)
    else:
        order = uow.repo(OrderRepository).by_sm_id(hook.data.sm_order_id, for_update=True)
        if order is None:
            entry.settle(JournalStatus.PARKED, now, "order not received yet")
            reply = ACCEPTED
        else:
            _apply_to_order(uow, entry, hook.kind, hook.data, order)
            reply = OK
    entry.reply_status, entry.reply_body = reply.status_code, reply.body
    return reply


def adopt_parked(db: Database, sm_order_id: str, policy: IntakePolicy, now: datetime) -> str | None:
    """Create an order we lost (a restore from a backup older than it) from the events SM
    keeps sending for it, which wait parked: built from the first one's order as SM sent
    it, then every parked event applied in the order they arrived, as if the order had
    come first. Returns our new number (SM is told it as for any new order), or None when
    nothing is parked for that order; refuses an order we have.
    """
    with db.unit_of_work() as uow:
        uow.lock_order_key(sm_order_id)
        if uow.repo(OrderRepository).by_sm_id(sm_order_id) is not None:
            raise ValueError(f"order {sm_order_id} exists: its parked events apply by replay")
        parked = uow.repo(JournalRepository).parked_for(sm_order_id)
        if not parked:
            return None
        first = parse_webhook(parked[0].body.encode())
        if first.data is None:  # only known kinds are ever parked
            raise RuntimeError(f"journal entry {parked[0].id} parked with an unknown type")
        opened = acceptance.open_order(uow, first.data, policy, now)
        if opened is None:
            raise RuntimeError(f"order {sm_order_id} appeared while being adopted")
        number = _apply_parked(uow, opened.order).number
        uow.commit()
    log.warning("webhook.parked_adopted", sm_order_id=sm_order_id, events=len(parked))
    return number


def log_outcome(entry: JournalEntry) -> None:
    log.info("webhook.stored", **_logged(entry), status=entry.status, detail=entry.detail)


def failure_reason(exc: Exception) -> str:
    # hide_parameters on the engine keeps customer data out of database error texts.
    return f"{type(exc).__name__}: {exc}"[:2000]


# --- internals ----------------------------------------------------------------------------


def _logged(entry: JournalEntry) -> dict[str, object]:
    """What names a journal entry in the logs (no customer data)."""
    return {
        "journal_id": entry.id,
        "event_type": entry.event_type,
        "sm_order_id": entry.sm_order_id,
    }


def _new_entry(hook: InboundWebhook, now: datetime) -> JournalEntry:
    return JournalEntry(
        event_key=hook.key,
        event_type=hook.raw_type,
        received_at=now,
        last_received_at=now,
        body=hook.body,
        headers={},
        sm_order_id=hook.sm_order_id,
        attempts=1,
    )


def _redelivery(known: JournalEntry, now: datetime) -> tuple[WebhookResponse, Callable[[], None]]:
    """SM sent this event again: count it, change nothing, answer as the first time."""
    known.deliveries += 1
    known.last_received_at = now
    logged = partial(log.info, "webhook.redelivered", **_logged(known), deliveries=known.deliveries)
    return WebhookResponse(known.reply_status, known.reply_body), logged


def _create_order(
    uow: UnitOfWork, entry: JournalEntry, data: SmOrder, policy: IntakePolicy
) -> WebhookResponse:
    at = entry.received_at
    # SM gets "created" and our number whatever follows (SM-API.md §1): an order for a
    # store not mapped yet waits for it, one that cannot be fulfilled is cancelled.
    opened = acceptance.open_order(uow, data, policy, at)
    order: NewOrder | Order
    if opened is None:  # the same order created again, with a different body
        found = uow.repo(OrderRepository).by_sm_id(data.sm_order_id, for_update=True)
        if found is None:
            raise RuntimeError(f"order {data.sm_order_id} exists and cannot be found")
        order, store = found, _store_of(uow, found)
        entry.settle(JournalStatus.APPLIED, at, "order already exists")
    else:
        store = opened.store
        entry.settle(JournalStatus.APPLIED, at, opened.detail)
        # After the notifications it queued, so that a parked cancellation supersedes them.
        order = _apply_parked(uow, opened.order)
    entry.order_id = order.id
    zone = ZoneInfo(acceptance.store_timezone(store, policy))
    expected = order.expected_assembly_at.astimezone(zone)
    return WebhookResponse(
        200,
        {"status": "created", "number": order.number, "expectedAssemblyTime": expected.isoformat()},
    )


def _apply_parked(uow: UnitOfWork, order: NewOrder | Order) -> NewOrder | Order:
    """Events that came before their order now take effect, in the order they arrived;
    returns the order as they left it (loaded into the session if there were any)."""
    parked = uow.repo(JournalRepository).parked_for(order.sm_order_id)
    if not parked:  # nearly always
        return order
    loaded = uow.repo(OrderRepository).get(_id(order.id), for_update=True)
    if loaded is None:
        raise RuntimeError(f"order {order.id} vanished in its own transaction")
    _apply_each_parked(uow, parked, loaded)
    return loaded


def _apply_each_parked(
    uow: UnitOfWork, parked_entries: Sequence[JournalEntry], order: Order
) -> None:
    for parked in parked_entries:
        hook = parse_webhook(parked.body.encode())
        if hook.kind is None or hook.data is None:  # only known kinds are ever parked
            raise RuntimeError(f"journal entry {parked.id} parked with an unknown type")
        # Its stored reply stays the 202 SM got, so a redelivery is answered the same way.
        _apply_to_order(uow, parked, hook.kind, hook.data, order)


def _apply_to_order(
    uow: UnitOfWork, entry: JournalEntry, kind: EventType, data: SmOrder, order: Order
) -> None:
    at = entry.received_at  # the fact happened when SM told us, even if applied later
    change = _effect_of(kind, data, order, at)
    entry.order_id = order.id
    if change.effect in (Effect.APPLIED, Effect.NO_CHANGE):
        entry.settle(JournalStatus.APPLIED, at, change.detail or None)
    else:
        entry.settle(JournalStatus.IGNORED, at, f"{change.effect.value}: {change.detail}")
    if kind is EventType.ORDER_CANCELED and change.effect is Effect.APPLIED:
        uow.repo(NotificationOutbox).supersede_pending(_id(order.id), "order cancelled by SM")
    for notice in change.notices:
        _queue_for_store(uow, order, messages.for_notice(notice, order), at)


def _effect_of(kind: EventType, data: SmOrder, order: Order, at: datetime) -> OrderChange:
    match kind:
        case EventType.ORDER_UPDATED:
            return order.apply_update(data, at)
        case EventType.ORDER_PAID:
            return order.record_payment(_paid_amount(data), data.header.payment_state, at)
        case EventType.ORDER_RECEIVED | EventType.ORDER_DELIVERING:
            return order.hand_over(at)
        case EventType.ORDER_DELIVERED:
            return order.deliver(at)
        case EventType.ORDER_CANCELED:
            return order.cancel(data.cancellation_reason, "sm", at)
        case EventType.COURIER_ASSIGNED:
            return order.record_courier_assigned(at)
        case EventType.COURIER_ARRIVED:
            return order.record_courier_arrived(at)
        case EventType.ORDER_CREATED:
            return OrderChange(Effect.NO_CHANGE, "order already exists")


def _paid_amount(data: SmOrder) -> Decimal | None:
    """SM charges the discounted total of the final contents."""
    if data.header.discount_total_price is not None:
        return data.header.discount_total_price
    return data.header.total_price


def _store_of(uow: UnitOfWork, order: Order) -> Store | None:
    return None if order.store_id is None else uow.repo(StoreRepository).get(order.store_id)


def _queue_for_store(uow: UnitOfWork, order: Order, text: str, now: datetime) -> None:
    store = _store_of(uow, order)
    chat = None if store is None else store.telegram_chat_id  # None: operations get it
    uow.repo(TelegramOutbox).add(
        OutgoingMessage(
            text=text, created_at=now, chat_id=chat, store_id=order.store_id, order_id=order.id
        )
    )


def _journal_failure(
    db: Database, hook: InboundWebhook, exc: Exception, now: datetime
) -> WebhookResponse:
    with db.unit_of_work() as uow:
        reply, logged = journal_failure_in(uow, hook, exc, now)
        uow.commit()
    logged()
    return reply


def _log_failure(entry: JournalEntry, exc: Exception) -> None:
    log.error(
        "webhook.apply_failed",
        journal_id=entry.id,
        event_type=entry.event_type,
        sm_order_id=entry.sm_order_id,
        error=failure_reason(exc),
    )


def _id(value: int | None) -> int:
    if value is None:
        raise RuntimeError("object has no id yet (not flushed)")
    return value
