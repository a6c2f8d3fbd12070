"""What the operations tests share: an order with a dead letter, a failed webhook, the audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text

from smbridge.intake.events import parse_webhook
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import sm_notifications
from smbridge.kernel.database.unit_of_work import Database
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 15:00 in Moscow: store hours


def an_order(db: Database, sm_order_id: str = "H1") -> None:
    """A store (if none yet) and a new order in it."""
    with db.engine.connect() as c:
        no_store = c.execute(text("SELECT count(*) FROM stores")).scalar_one() == 0
    if no_store:
        add_store(db, telegram_chat_id="-100")
    ingest_webhook(
        db,
        parse_webhook(envelope("order.created", order_payload(sm_order_id))),
        IntakePolicy(notify_accepted=False),
        FrozenClock(NOW),
    )


def a_dead_letter(db: Database, payload: dict[str, Any] | None = None) -> int:
    """An order H1 whose order.in_work SM refused: the notification's id."""
    an_order(db)
    with db.engine.begin() as c:
        return int(
            c.execute(
                insert(sm_notifications)
                .values(
                    order_id=1,
                    sm_order_id="H1",
                    type="order.in_work",
                    payload=payload if payload is not None else {"order_id": "H1", "x": 1},
                    created_at=NOW,
                    state="dead",
                    attempts=3,
                    last_status=422,
                    last_error="SM: bad payload",
                )
                .returning(sm_notifications.c.id)
            ).scalar_one()
        )


def a_failed_webhook(db: Database) -> int:
    """order.created for a store with a misspelt time zone: the journal entry's id."""
    add_store(db, timezone="Europe/Moskow")
    ingest_webhook(
        db,
        parse_webhook(envelope("order.created", order_payload("H9"))),
        IntakePolicy(),
        FrozenClock(NOW),
    )
    with db.engine.connect() as c:
        return int(c.execute(text("SELECT id FROM webhook_journal")).scalar_one())


def audit_rows(db: Database) -> list[tuple[Any, ...]]:
    """(user_id, action, target, reason) of every audit row, oldest first."""
    with db.engine.connect() as c:
        rows = c.execute(text("SELECT user_id, action, target, reason FROM audit_log ORDER BY id"))
        return [tuple(row) for row in rows]
