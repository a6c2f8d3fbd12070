"""Every monitoring rule fires, reminds and resolves, on real databases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, select, update

from smbridge.assembly.repository import PickerRepository
from smbridge.domain.picker import Picker
from smbridge.intake.events import parse_webhook
from smbridge.intake.failures import AutoReplay
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.kernel.database.tables import (
    monitoring_problems,
    monitoring_snapshots,
    orders,
    sales_documents,
    sm_notifications,
    telegram_outbox,
    webhook_journal,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.service import run_monitoring
from smbridge.sales.service import create_documents
from smbridge.settings import Settings
from tests.conftest import make_settings
from tests.factories import add_store, envelope, order_payload
from tests.support.clock import FrozenClock

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 15:00 in Moscow: store hours
Step = Callable[[Database], None]


def an_order(db: Database, **columns: object) -> None:
    add_store(db, telegram_chat_id="-100")
    ingest_webhook(
        db,
        parse_webhook(envelope("order.created", order_payload("H1"))),
        IntakePolicy(notify_accepted=False),
        FrozenClock(NOW),
    )
    values = {
        "received_at": NOW,
        "expected_assembly_at": NOW + timedelta(hours=5),
        "delivery_from": NOW + timedelta(hours=6),
        **columns,
    }
    set_order(db, **values)


def set_order(db: Database, **columns: object) -> None:
    with db.engine.begin() as c:
        c.execute(update(orders).values(**columns))


def run_sql(statement: object) -> Step:
    def step(db: Database) -> None:
        with db.engine.begin() as c:
            c.execute(statement)  # type: ignore[call-overload]

    return step


def picker_on_order(db: Database) -> None:
    an_order(db, status="in_assembly", expected_assembly_at=NOW - timedelta(minutes=5))
    with db.unit_of_work() as uow:
        picker = Picker(store_id=1, name="Анна", telegram_chat_id="-777")
        uow.repo(PickerRepository).add(picker)
        uow.commit()
    set_order(db, picker_id=picker.id)


def dead_notification(db: Database) -> None:
    an_order(db)
    with db.engine.begin() as c:
        c.execute(
            insert(sm_notifications).values(
                order_id=1,
                sm_order_id="H1",
                type="order.in_work",
                payload={},
                created_at=NOW,
                state="dead",
                attempts=1,
                last_status=422,
            )
        )


def failed_webhook(db: Database) -> None:
    add_store(db, timezone="Europe/Moskow")  # misspelt: the order cannot be promised
    ingest_webhook(
        db,
        parse_webhook(envelope("order.created", order_payload("H9"))),
        IntakePolicy(),
        FrozenClock(NOW),
    )  # kept as failed
    # ... and tried again on its own until the automatic replays are used up
    run_sql(update(webhook_journal).values(attempts=AutoReplay().attempts))(db)


def silence(db: Database) -> None:
    an_order(db)
    run_sql(update(webhook_journal).values(received_at=NOW - timedelta(hours=2)))(db)


def backlog(db: Database) -> None:
    with db.engine.begin() as c:
        for n in range(3):
            c.execute(
                insert(telegram_outbox).values(
                    chat_id="-1",
                    text=f"m{n}",
                    status="queued",
                    attempts=0,
                    created_at=NOW - timedelta(minutes=20),
                )
            )


def delivered_without_document(db: Database) -> None:
    an_order(db, status="delivered", delivered_at=NOW - timedelta(hours=3))


def paid_differently(db: Database) -> None:
    delivered_without_document(db)
    set_order(db, paid_amount=Decimal("1.00"))
    create_documents(db, FrozenClock(NOW))


def documents_made(db: Database) -> None:
    create_documents(db, FrozenClock(NOW))


def webhook_now(db: Database) -> None:
    run_sql(update(webhook_journal).values(received_at=NOW + timedelta(minutes=31)))(db)


@dataclass(frozen=True)
class Case:
    rule: str
    setup: Step
    fix: Step
    chat: str
    words: str
    # An incident whose count changed gets an update rather than a reminder.
    follow_up: str = "Напоминание: "


CASES = [
    Case(
        "new_not_taken",
        lambda db: an_order(db, received_at=NOW - timedelta(minutes=20)),
        lambda db: set_order(db, status="in_assembly"),
        "-100",
        "не взяты в сборку",
    ),
    Case(
        "assembly_overdue",
        picker_on_order,
        lambda db: set_order(db, status="assembled"),
        "-777",
        "просрочена",
    ),
    Case(
        "not_ready_before_window",
        lambda db: an_order(db, delivery_from=NOW + timedelta(minutes=10)),
        lambda db: set_order(db, status="ready_for_delivery"),
        "-100",
        "не готов",
    ),
    Case(
        "courier_waiting",
        lambda db: an_order(db, status="in_assembly", courier_arrived_at=NOW),
        lambda db: set_order(db, status="ready_for_delivery"),
        "-100",
        "Курьер ждёт",
    ),
    Case(
        "pickup_uncollected",
        lambda db: an_order(
            db,
            status="ready_for_delivery",
            shipment_method="pickup",
            ready_at=NOW - timedelta(hours=6),
            delivery_from=NOW - timedelta(hours=4),
            delivery_to=NOW - timedelta(hours=3),  # 2 hours after it the customer is late
        ),
        lambda db: set_order(db, status="cancelled"),
        "-100",
        "не забран",
    ),
    Case(
        "notification_failing",
        dead_notification,
        run_sql(update(sm_notifications).values(state="delivered")),
        "-900",
        "не принял уведомление order.in_work по заказу H1 (ответ 422, попыток: 1)",
    ),
    Case(
        "webhook_failing",
        failed_webhook,
        run_sql(update(webhook_journal).values(status="applied")),
        "-900",
        "не применены",
    ),
    Case("no_webhooks", silence, webhook_now, "-900", "нет ни одного события"),
    Case(
        "telegram_backlog",
        backlog,
        run_sql(delete(telegram_outbox)),  # the sender caught up
        "-900",
        "В очереди Telegram",
        "Обновление (было 3): ",  # the opening alert itself joined the queue
    ),
    Case(
        "documents_missing",
        delivered_without_document,
        documents_made,
        "-900",
        "без реализации",
    ),
    Case(
        "paid_differs",
        paid_differently,
        run_sql(update(sales_documents).values(difference=Decimal(0))),
        "-900",
        "Оплата заказа",
    ),
]


def settings_for(url: str) -> Settings:
    return make_settings(
        url, operations_chat_id="-900", monitor_telegram_backlog=2, monitor_remind_minutes=30
    )


def problem(db: Database, rule: str) -> tuple[int, bool]:
    with db.engine.connect() as c:
        row = c.execute(
            select(monitoring_problems.c.reports, monitoring_problems.c.resolved_at).where(
                monitoring_problems.c.rule == rule
            )
        ).one()
        return row.reports, row.resolved_at is not None


def said(db: Database, chat: str, start: str) -> list[str]:
    with db.engine.connect() as c:
        texts = c.execute(
            select(telegram_outbox.c.text)
            .where(telegram_outbox.c.chat_id == chat)
            .order_by(telegram_outbox.c.id)
        ).scalars()
        return [t for t in texts if t.startswith(start)]


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_reports_reminds_and_resolves(db: Database, database_url: str, case: Case) -> None:
    settings = settings_for(database_url)
    case.setup(db)

    run_monitoring(db, settings, NOW)
    assert problem(db, case.rule) == (1, False)
    (first,) = [t for t in said(db, case.chat, "") if case.words in t]
    assert not first.startswith(("Напоминание", "Решено"))

    run_monitoring(db, settings, NOW + timedelta(minutes=10))  # still there: no repeat yet
    assert problem(db, case.rule) == (1, False)

    run_monitoring(db, settings, NOW + timedelta(minutes=31))
    assert problem(db, case.rule) == (2, False)
    assert any(case.words in t for t in said(db, case.chat, case.follow_up))

    case.fix(db)
    run_monitoring(db, settings, NOW + timedelta(minutes=32))
    assert problem(db, case.rule) == (2, True)
    assert any(case.words in t for t in said(db, case.chat, "Решено: "))


def test_a_quiet_night_is_not_a_problem(db: Database, database_url: str) -> None:
    silence(db)
    night = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # 01:00 in Moscow
    run_monitoring(db, settings_for(database_url), night)
    with db.engine.connect() as c:
        rules = set(c.execute(select(monitoring_problems.c.rule)).scalars())
    assert "no_webhooks" not in rules


def test_an_order_waiting_for_its_store_is_no_stores_problem(
    db: Database, database_url: str
) -> None:
    """Operations were told when it came (orders/acceptance.py); no store can take it."""
    an_order(db, received_at=NOW - timedelta(hours=1), delivery_from=NOW + timedelta(minutes=5))
    set_order(db, store_id=None)
    run_monitoring(db, settings_for(database_url), NOW)
    with db.engine.connect() as c:
        rules = set(c.execute(select(monitoring_problems.c.rule)).scalars())
    assert rules.isdisjoint({"new_not_taken", "not_ready_before_window"})
    set_order(db, store_id=1)
    run_monitoring(db, settings_for(database_url), NOW)
    with db.engine.connect() as c:
        rules = set(c.execute(select(monitoring_problems.c.rule)).scalars())
    assert rules >= {"new_not_taken", "not_ready_before_window"}  # the same order in a store


def test_each_run_keeps_a_snapshot(db: Database, database_url: str) -> None:
    an_order(db, status="in_assembly", expected_assembly_at=NOW - timedelta(minutes=1))
    run_monitoring(db, settings_for(database_url), NOW)
    with db.engine.connect() as c:
        snapshot = c.execute(select(monitoring_snapshots)).one()
    assert snapshot.orders_by_status == {"in_assembly": 1}
    assert snapshot.late_orders == 1
    assert snapshot.open_problems >= 1
