"""Operations' side of the outbox: dead letters listed, inspected, corrected and sent again.

Every change is audited in its own transaction (accounts.service.audit). Correcting a
payload keeps the notification's type and order: only the body SM refused changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select

from smbridge.accounts.service import audit
from smbridge.domain.admin import AdminRefused, required_reason
from smbridge.domain.notification import DeliveryState, Notification
from smbridge.kernel.bounds import unfit_texts
from smbridge.kernel.database.paging import keyset_page
from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import sm_notifications
from smbridge.kernel.database.unit_of_work import Database
from smbridge.notifications.dispatcher import requeue, resend_in
from smbridge.notifications.outbox import NotificationOutbox

PAGE = 50
MAX_PAYLOAD_BYTES = 256 * 1024  # SM's largest final contents are a few kilobytes


@dataclass(frozen=True)
class LetterLine:
    """One dead letter as the list shows it."""

    id: int
    sm_order_id: str
    type: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime


class DeadLetters(SessionRepository):
    """Reads of the outbox by state, by id pages (never a count of the table)."""

    def page(
        self, state: DeliveryState, after_id: int | None, limit: int = PAGE
    ) -> list[LetterLine]:
        c = sm_notifications.c
        query = select(
            c.id, c.sm_order_id, c.type, c.attempts, c.last_status, c.last_error, c.created_at
        ).where(c.state == state.value)
        query = keyset_page(query, c.id, after_id, limit)
        return [
            LetterLine(
                row.id,
                row.sm_order_id,
                row.type,
                row.attempts,
                row.last_status,
                (row.last_error or "")[:200] or None,
                row.created_at,
            )
            for row in self._session.execute(query)
        ]


def dead_letter(db: Database, notification_id: int) -> Notification:
    with db.unit_of_work(read_only=True) as uow:
        row = uow.repo(NotificationOutbox).get(notification_id)
        if row is None:
            raise AdminRefused(404, "Уведомление не найдено.")
        uow.session.expunge(row)  # read as it is: the read-only transaction's end keeps it
        return row


def resend_rebuilt(
    db: Database, notification_id: int, *, user_id: int, reason: str | None, now: datetime
) -> None:
    """Send a dead letter again with its body rebuilt from the order as it is now (what
    ``smbridge notifications resend`` does), audited."""
    why = (reason or "").strip() or "повторная отправка"
    with db.unit_of_work() as uow:
        _dead(uow.repo(NotificationOutbox).get(notification_id))
        resend_in(uow, [notification_id])
        audit(
            uow,
            user_id=user_id,
            action="notification.resend",
            target=f"notification:{notification_id}",
            reason=why[:1000],
            now=now,
        )
        uow.commit()


def correct_and_resend(
    db: Database,
    notification_id: int,
    payload_json: str,
    *,
    user_id: int,
    reason: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Replace a dead letter's payload with the operator's corrected one and queue it again.

    The payload must be a JSON object within the bounds, of the same order (its
    ``order_id``). The body is sent as given, not rebuilt from the order.
    """
    why = required_reason(reason)
    payload = parse_payload(payload_json)
    with db.unit_of_work() as uow:
        row = _dead(uow.repo(NotificationOutbox).get(notification_id))
        if payload.get("order_id") != row.sm_order_id:
            raise AdminRefused(
                422, f'В уведомлении должен остаться заказ: "order_id": "{row.sm_order_id}".'
            )
        row.payload = payload
        requeue(row)
        audit(
            uow,
            user_id=user_id,
            action="notification.correct_resend",
            target=f"notification:{notification_id}",
            reason=why,
            now=now,
        )
        uow.commit()
    return payload


def parse_payload(text: str) -> dict[str, Any]:
    raw = text.encode()
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise AdminRefused(422, f"Слишком длинное уведомление: до {MAX_PAYLOAD_BYTES // 1024} КБ.")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AdminRefused(422, "Это не JSON: проверьте кавычки, запятые и скобки.") from None
    if not isinstance(payload, dict):
        raise AdminRefused(422, "Уведомление — JSON-объект в фигурных скобках.")
    unfit = next(iter(unfit_texts(payload)), None)
    if unfit is not None:
        where, _ = unfit
        raise AdminRefused(422, f"Недопустимое значение в JSON ({where or 'корень'}).")
    return payload


def _dead(row: Notification | None) -> Notification:
    if row is None:
        raise AdminRefused(404, "Уведомление не найдено.")
    if row.state != DeliveryState.DEAD.value:
        raise AdminRefused(409, "Уведомление уже не в «мёртвых»: его не отправить повторно.")
    return row
