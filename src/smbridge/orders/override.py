"""Operations force an order's status, with a reason, audited (domain/order_override.py
says what is allowed and what SM is told)."""

from __future__ import annotations

from datetime import datetime

import structlog

from smbridge.accounts.service import audit
from smbridge.domain.admin import AdminRefused, required_reason
from smbridge.domain.notification import Notification
from smbridge.domain.order_override import force_status
from smbridge.domain.status import OrderStatus, TransitionRefused
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository

log = structlog.get_logger(__name__)


def force_order_status(
    db: Database,
    sm_order_id: str,
    target: OrderStatus,
    *,
    user_id: int,
    reason: str | None,
    now: datetime,
) -> OrderStatus:
    """Returns the status the order had before."""
    why = required_reason(reason)
    with db.unit_of_work() as uow:
        uow.lock_order_key(sm_order_id)  # as SM's webhooks for this order do
        order = uow.repo(OrderRepository).by_sm_id(sm_order_id, for_update=True)
        if order is None or order.id is None:
            raise AdminRefused(404, "Заказ не найден.")
        was = order.status
        try:
            told = force_status(order, target, now)
        except TransitionRefused:
            raise AdminRefused(
                409, f"Из статуса «{was.value}» нельзя перейти в «{target.value}»."
            ) from None
        if told is not None:
            kind, payload = told
            uow.repo(NotificationOutbox).add(
                Notification(
                    order_id=order.id,
                    sm_order_id=order.sm_order_id,
                    type=kind.value,
                    payload=payload,
                    created_at=now,
                )
            )
        audit(
            uow,
            user_id=user_id,
            action="order.force_status",
            target=f"order:{sm_order_id}",
            reason=f"{was.value} -> {target.value}: {why}",
            now=now,
        )
        uow.commit()
    log.info("order.status_forced", sm_order_id=sm_order_id, was=was, status=target)
    return was
