"""An outage is one incident, not one alert per stuck row; stale alerts are dropped from
the Telegram queue instead of being sent late. Both databases, frozen clocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update

from smbridge.kernel.database.tables import (
    monitoring_problems,
    orders,
    sm_notifications,
    telegram_archive,
)
from smbridge.kernel.database.unit_of_work import Database
from smbridge.monitoring.service import run_monitoring
from smbridge.settings import Settings
from smbridge.telegram.sender import SendCounts
from tests.conftest import make_settings
from tests.factories import add_store
from tests.integration.test_telegram_sender import T0, Bot, Clock, sender

NOW = T0  # 15:00 in Moscow: store hours
OPERATIONS = "-900"


def settings_for(url: str) -> Settings:
    return make_settings(
        url,
        operations_chat_id=OPERATIONS,
        monitor_incident_update_minutes=15,
        monitor_remind_minutes=30,
        monitor_store_hours="00:00-00:01",  # SM's silence is not these tests' subject
    )


def add_orders(db: Database, count: int, *, store_id: int = 1, **columns: Any) -> None:
    """``count`` orders in bulk, numbered 0001… in the order they came."""
    start = _count(db, orders.c.id)
    rows = [
        {
            "sm_order_id": f"H{n:03d}",
            "number": f"{n:04d}",
            "store_id": store_id,
            "status": "ready_for_delivery",
            "customer": {},
            "address": {},
            "payment_methods": [],
            "received_at": NOW + timedelta(seconds=n),
            "expected_assembly_at": NOW + timedelta(hours=5),
            "delivery_from": NOW + timedelta(hours=6),
            "changed_by_customer": False,
            "version": 1,
            **columns,
        }
        for n in range(start + 1, start + count + 1)
    ]
    with db.engine.begin() as c:
        c.execute(insert(orders), rows)


def stuck_notifications(db: Database, first: int, last: int, created: timedelta) -> None:
    """One undelivered notification for each order first..last, SM refusing them."""
    rows = [
        {
            "order_id": n,
            "sm_order_id": f"H{n:03d}",
            "type": "order.ready",
            "payload": {},
            "created_at": NOW + created + timedelta(seconds=n),  # oldest first by order
            "state": "pending",
            "attempts": 3,
            "last_status": 503,
        }
        for n in range(first, last + 1)
    ]
    with db.engine.begin() as c:
        c.execute(insert(sm_notifications), rows)


def sm_is_back(db: Database) -> None:
    with db.engine.begin() as c:
        c.execute(update(sm_notifications).values(state="delivered", delivered_at=NOW))


def _count(db: Database, column: Any) -> int:
    with db.engine.connect() as c:
        return len(c.execute(select(column)).all())


def archived(db: Database) -> list[tuple[str, str]]:
    with db.engine.connect() as c:
        rows = c.execute(
            select(telegram_archive.c.status, telegram_archive.c.text).order_by(
                telegram_archive.c.id
            )
        )
        return [(r.status, r.text) for r in rows]


def test_an_sm_outage_of_300_orders_is_three_messages(db: Database, database_url: str) -> None:
    settings, bot, clock = settings_for(database_url), Bot(), Clock()
    add_store(db, telegram_chat_id="-100")
    add_orders(db, 300)
    stuck_notifications(db, 1, 100, created=-timedelta(minutes=12))  # stuck from NOW
    stuck_notifications(db, 101, 300, created=-timedelta(minutes=6))  # stuck by NOW+10
    totals: dict[str, int] = {}
    sent = SendCounts()
    for minute in range(21):  # the scheduler: monitoring, then the sender, every minute
        if minute == 18:
            sm_is_back(db)
        for key, value in run_monitoring(db, settings, NOW + timedelta(minutes=minute)).items():
            totals[key] = totals.get(key, 0) + value
        run = sender(db, bot, clock).run()
        sent.sent, sent.dropped = sent.sent + run.sent, sent.dropped + run.dropped
        clock.advance(60)

    assert (totals["reported"], totals["updated"], totals["reminded"]) == (1, 1, 0)
    assert totals["resolved"] == 1
    assert (sent.sent, sent.dropped) == (3, 0)
    assert [chat for chat, _ in bot.accepted] == [OPERATIONS] * 3
    opening, news, closing = (text for _, text in bot.accepted)
    assert "не доставлено 100 (заказов: 100)" in opening
    assert "дольше всех ждут: H001, H002, H003 и ещё 97." in opening
    assert news.startswith("Обновление (было 100): ")
    assert "не доставлено 300 (заказов: 300)" in news
    assert "H001, H002, H003 и ещё 297." in news
    assert closing.startswith("Решено: Уведомления не доходят до СберМаркета")
    assert closing.endswith("Длилось 18 мин.")
    assert _count(db, monitoring_problems.c.id) == 1


def test_an_incident_over_before_its_opening_went_out_is_not_sent_at_all(
    db: Database, database_url: str
) -> None:
    settings, bot, clock = settings_for(database_url), Bot(), Clock()
    add_store(db, telegram_chat_id="-100")
    add_orders(db, 5)
    stuck_notifications(db, 1, 5, created=-timedelta(minutes=12))
    run_monitoring(db, settings, NOW)  # the opening is queued...
    sm_is_back(db)
    run_monitoring(db, settings, NOW + timedelta(minutes=1))  # ...and its «Решено»
    counts = sender(db, bot, clock).run()
    assert (counts.sent, counts.dropped) == (0, 2)
    assert bot.accepted == []
    assert [status for status, _ in archived(db)] == ["dropped", "dropped"]


def test_a_per_order_alert_resolved_before_the_sender_ran_is_dropped(
    db: Database, database_url: str
) -> None:
    settings, bot, clock = settings_for(database_url), Bot(), Clock()
    add_store(db, telegram_chat_id="-100")
    overdue = NOW - timedelta(minutes=5)
    add_orders(db, 2, status="in_assembly", expected_assembly_at=overdue)
    run_monitoring(db, settings, NOW)  # an alert for each order
    with db.engine.begin() as c:  # the picker finishes 0001; 0002 is still late
        c.execute(update(orders).where(orders.c.id == 1).values(status="assembled"))
    run_monitoring(db, settings, NOW + timedelta(minutes=1))
    counts = sender(db, bot, clock).run()
    assert (counts.sent, counts.dropped) == (1, 2)  # 0001's alert and its «Решено»
    ((chat, text),) = bot.accepted
    assert chat == "-100"
    assert "Сборка заказа 0002 просрочена" in text


def test_an_update_overtaken_by_a_newer_one_is_dropped(db: Database, database_url: str) -> None:
    bot, clock = Bot(), Clock()
    # The queue waits half an hour here; that it would be raised too is tested elsewhere.
    settings = settings_for(database_url).model_copy(update={"monitor_telegram_oldest_minutes": 60})
    add_store(db, telegram_chat_id="-100")
    add_orders(db, 30)
    stuck_notifications(db, 1, 10, created=-timedelta(minutes=12))
    run_monitoring(db, settings, NOW)
    assert sender(db, bot, clock).run().sent == 1  # the opening went out
    stuck_notifications(db, 11, 20, created=-timedelta(minutes=12))
    run_monitoring(db, settings, NOW + timedelta(minutes=15))  # 20 now; Telegram is slow...
    stuck_notifications(db, 21, 30, created=-timedelta(minutes=12))
    run_monitoring(db, settings, NOW + timedelta(minutes=30))  # ...30 now
    counts = sender(db, bot, clock).run()
    assert (counts.sent, counts.dropped) == (1, 1)
    assert bot.accepted[-1][1].startswith("Обновление (было 20): ")
    assert "не доставлено 30" in bot.accepted[-1][1]
    sm_is_back(db)
    run_monitoring(db, settings, NOW + timedelta(minutes=31))
    assert sender(db, bot, clock).run().sent == 1  # people heard of it: they hear it ended
    assert bot.accepted[-1][1].startswith("Решено: ")


def test_orders_not_taken_are_one_incident_per_store(db: Database, database_url: str) -> None:
    settings = settings_for(database_url)
    add_store(db, telegram_chat_id="-100")
    add_store(db, sm_store_id="202", telegram_chat_id="-200")
    late = NOW - timedelta(minutes=30)
    add_orders(db, 5, status="new", received_at=late)
    add_orders(db, 1, store_id=2, status="new", received_at=late)
    counts = run_monitoring(db, settings, NOW)
    assert counts["reported"] == 2
    bot, clock = Bot(), Clock()
    sender(db, bot, clock).run()
    first, second = sorted(bot.accepted)
    assert first[0] == "-100"
    assert "— 5 шт., дольше всех ждут: 0001, 0002, 0003 и ещё 2." in first[1]
    assert second[0] == "-200"
    assert "— 1 шт., дольше всех ждут: 0006." in second[1]
