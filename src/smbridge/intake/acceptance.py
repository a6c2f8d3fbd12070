"""A new SM order: accepted into its store, waiting for its store, or cancelled by us.

SM's rule (SM-API.md §1): order.created is always answered "created" with our number; an
order the partner cannot fulfil is then cancelled through an ``order.canceled`` notification
with a reason SM knows. An order for a store not mapped yet waits, seen by no store, until
an admin maps it (``smbridge stores add`` adopts it at once; the ``waiting_orders`` job on
its next run) or until the wait runs out, when the job cancels it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from smbridge.domain import notification
from smbridge.domain.assembly_time import expected_assembly_time
from smbridge.domain.notification import NotificationType
from smbridge.domain.order import NewOrder, Order
from smbridge.domain.order_change import Effect
from smbridge.domain.sm_order import SmOrder
from smbridge.domain.store import Store
from smbridge.domain.telegram import OutgoingMessage
from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository, StoreRepository
from smbridge.telegram import messages
from smbridge.telegram.outbox import TelegramOutbox

if TYPE_CHECKING:  # the service imports this module
    from smbridge.intake.service import IntakePolicy

log = structlog.get_logger(__name__)

#: SM's reason slug (SM-API.md §2) for an order we cannot route or assemble: the fault is
#: in the integration, not the goods, the store's hours or the customer.
CANNOT_FULFIL = "technical_issues"
BY_US = "smbridge"  # cancelled_by: neither SM nor the store, the integration itself


@dataclass(frozen=True)
class OpenedOrder:
    """A new order as stored, its store (None: not mapped yet), what the journal says.

    The order is the NewOrder written in the common case, the loaded Order when one of the
    rare cases changed it.
    """

    order: NewOrder | Order
    store: Store | None
    detail: str | None


def open_order(
    uow: UnitOfWork, data: SmOrder, policy: IntakePolicy, at: datetime
) -> OpenedOrder | None:
    """Store a new order with our number, and accept it, let it wait for its store, or
    cancel it; None, with nothing written, when SM created it before (with another body).

    Always written with plain INSERTs (``OrderRepository.insert_new``, issue 11); the rare
    cases only decide what follows. The order returned is in the session only when one of
    them changed it: load it (``OrderRepository.get``) to change it in this transaction.
    """
    store = store_for(uow, data.sm_store_id, data.sm_import_key)
    order = new_order(data, store, policy, at)
    if uow.repo(OrderRepository).insert_new(order, policy.order_number_prefix) is None:
        return None
    if store is not None and order.lines:  # the common case
        accept(uow, order, store, policy, at)
        return OpenedOrder(order, store, None)
    return _not_accepted(uow, _stored(uow, order), store, policy, at)


def new_order(data: SmOrder, store: Store | None, policy: IntakePolicy, at: datetime) -> NewOrder:
    """The order SM created, not stored yet: for its store, with our promise."""
    return NewOrder.of(
        data,
        store_id=None if store is None else _id(store.id),
        received_at=at,
        expected_assembly_at=promise(store, policy, at, data.header.delivery_from),
    )


def accept(
    uow: UnitOfWork, order: NewOrder | Order, store: Store, policy: IntakePolicy, at: datetime
) -> None:
    """A stored order for a mapped store is accepted: SM hears so (order.accepted)."""
    if policy.notify_accepted:
        _queue_accepted(uow, order, store, at)


def adopt_waiting(uow: UnitOfWork, policy: IntakePolicy, now: datetime) -> int:
    """Give every waiting order whose store is now mapped to that store; how many."""
    adopted = 0
    for order in uow.repo(OrderRepository).awaiting_store(for_update=True):
        store = store_for(uow, order.sm_store_id, order.sm_store_import_key)
        if store is not None:
            _adopt(uow, order, store, policy, now)
            adopted += 1
    return adopted


def settle_waiting(db: Database, policy: IntakePolicy, now: datetime) -> dict[str, int]:
    """The scheduled job: adopt the waiting orders whose store is mapped now, cancel those
    that waited too long. One transaction per order, so one conflict costs one order."""
    with db.unit_of_work() as uow:
        ids = [_id(order.id) for order in uow.repo(OrderRepository).awaiting_store()]
    counts: Counter[str] = Counter()
    for order_id in ids:
        with db.unit_of_work() as uow:
            order = uow.repo(OrderRepository).get(order_id, for_update=True)
            if order is not None and order.awaits_store:  # else SM cancelled it meanwhile
                counts[_settle(uow, order, policy, now)] += 1
                uow.commit()
    return {outcome: counts[outcome] for outcome in ("adopted", "cancelled", "waiting")}


def store_for(uow: UnitOfWork, sm_store_id: str | None, import_key: str | None) -> Store | None:
    """Our active store for SM's storeID, else for its storeImportKey."""
    store = uow.repo(StoreRepository).by_sm_id(sm_store_id) if sm_store_id else None
    if store is None and import_key:
        store = uow.repo(StoreRepository).by_import_key(import_key)
    return store if store is not None and store.active else None


def store_timezone(store: Store | None, policy: IntakePolicy) -> str:
    return policy.default_timezone if store is None else store.timezone


def promise(
    store: Store | None, policy: IntakePolicy, now: datetime, delivery_from: datetime | None
) -> datetime:
    """The expected assembly time: a waiting order's is made again when its store is mapped."""
    lead = policy.default_lead
    if store is not None and store.assembly_lead_minutes is not None:
        lead = timedelta(minutes=store.assembly_lead_minutes)
    return expected_assembly_time(
        received_at=now,
        delivery_from=delivery_from,
        lead=lead,
        handover_buffer=policy.handover_buffer,
        timezone=store_timezone(store, policy),
    )


# --- internals ----------------------------------------------------------------------------


def _not_accepted(
    uow: UnitOfWork, order: Order, store: Store | None, policy: IntakePolicy, at: datetime
) -> OpenedOrder:
    """A new order that cannot be accepted now: cancelled, or waiting for its store."""
    if not order.positions:
        _cancel(uow, order, policy, at, messages.cancelled_without_positions(order, CANNOT_FULFIL))
        return OpenedOrder(order, store, f"no positions: cancelled ({CANNOT_FULFIL})")
    if store is None and not (order.sm_store_id or order.sm_store_import_key):
        _cancel(uow, order, policy, at, messages.cancelled_without_store(order, CANNOT_FULFIL))
        return OpenedOrder(order, store, f"no store reference: cancelled ({CANNOT_FULFIL})")
    _alert(uow, order, policy, at, messages.awaits_store(order, policy.store_wait))
    log.warning("order.awaits_store", sm_order_id=order.sm_order_id, number=order.number)
    return OpenedOrder(order, store, "store not mapped yet: waits for it")


def _stored(uow: UnitOfWork, order: NewOrder) -> Order:
    """The order just written, loaded into the session so that changes to it are saved."""
    loaded = uow.repo(OrderRepository).get(_id(order.id), for_update=True)
    if loaded is None:
        raise RuntimeError(f"order {order.id} vanished in its own transaction")
    return loaded


def _settle(uow: UnitOfWork, order: Order, policy: IntakePolicy, now: datetime) -> str:
    store = store_for(uow, order.sm_store_id, order.sm_store_import_key)
    if store is not None:
        _adopt(uow, order, store, policy, now)
        return "adopted"
    if now < order.received_at + policy.store_wait:
        return "waiting"
    text = messages.cancelled_store_not_mapped(order, policy.store_wait, CANNOT_FULFIL)
    _cancel(uow, order, policy, now, text)
    return "cancelled"


def _adopt(
    uow: UnitOfWork, order: Order, store: Store, policy: IntakePolicy, now: datetime
) -> None:
    order.adopt(_id(store.id), promise(store, policy, now, order.header.delivery_from), now)
    if policy.notify_accepted:
        _queue_accepted(uow, order, store, now)
    log.info("order.adopted", sm_order_id=order.sm_order_id, number=order.number, store_id=store.id)


def _cancel(uow: UnitOfWork, order: Order, policy: IntakePolicy, now: datetime, text: str) -> None:
    if order.cancel(CANNOT_FULFIL, BY_US, now).effect is not Effect.APPLIED:
        return
    _notify(uow, order, NotificationType.CANCELED, notification.canceled(order), now)
    _alert(uow, order, policy, now, text)
    log.warning(
        "order.cancelled_by_us",
        sm_order_id=order.sm_order_id,
        number=order.number,
        reason=CANNOT_FULFIL,
    )


def _queue_accepted(uow: UnitOfWork, order: NewOrder | Order, store: Store, now: datetime) -> None:
    payload = notification.accepted(order, store.timezone)
    _notify(uow, order, NotificationType.ACCEPTED, payload, now)


def _notify(
    uow: UnitOfWork,
    order: NewOrder | Order,
    kind: NotificationType,
    payload: dict[str, object],
    now: datetime,
) -> None:
    uow.repo(NotificationOutbox).insert(
        order_id=_id(order.id),
        sm_order_id=order.sm_order_id,
        kind=kind.value,
        payload=payload,
        created_at=now,
    )


def _alert(uow: UnitOfWork, order: Order, policy: IntakePolicy, now: datetime, text: str) -> None:
    uow.repo(TelegramOutbox).add(
        OutgoingMessage(
            text=text, created_at=now, chat_id=policy.operations_chat_id, order_id=order.id
        )
    )


def _id(value: int | None) -> int:
    if value is None:
        raise RuntimeError("object has no id yet (not flushed)")
    return value
