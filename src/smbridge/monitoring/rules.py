"""The monitoring rules. Each looks at the database now and names the problems it sees.

A problem is about one subject (an order, a document) where a person must act on that
subject, or is an *incident* grouped by cause (SM not taking notifications, a store not
taking orders, webhooks failing): one finding with a count and the oldest few order
numbers, so an outage is one alert, not one per stuck row.

Every query is bounded by active orders, queues, or a recent window — never by history —
so a run costs the same on the first day and after a million orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select

from smbridge.domain.notification import DeliveryState
from smbridge.domain.status import OrderStatus
from smbridge.kernel.database.tables import (
    orders,
    pickers,
    sales_documents,
    sm_notifications,
    stores,
    telegram_outbox,
    webhook_journal,
)
from smbridge.monitoring.settings import MonitoringSettings
from smbridge.telegram.messages import examples

S = OrderStatus
NOT_READY = [S.NEW.value, S.IN_ASSEMBLY.value, S.ASSEMBLED.value]


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    chat_id: str | None
    text: str  # Russian: what is wrong and what to do
    count: int | None = None  # an incident's size; None: a problem about one subject


@dataclass(frozen=True)
class Look:
    """What every rule gets: a read-only connection, the time, thresholds, chats."""

    db: Connection
    now: datetime
    settings: MonitoringSettings
    operations: str | None
    store_chats: dict[int, str | None]
    picker_chats: dict[int, str | None]
    timezone: str

    def minutes_ago(self, minutes: float) -> datetime:
        return self.now - timedelta(minutes=minutes)

    def oldest(self, query: Select[tuple[str | None]]) -> list[str]:
        """The first few labels of an ordered query: an incident's worst examples."""
        rows = self.db.execute(query.limit(self.settings.monitor_incident_examples)).scalars()
        return [str(label) for label in rows if label is not None]


Rule = Callable[[Look], Iterator[Finding]]


def new_not_taken(look: Look) -> Iterator[Finding]:
    """One incident per store: a store not taking orders is one thing to fix."""
    limit = look.settings.monitor_new_not_taken_minutes
    waiting = and_(
        orders.c.status == S.NEW.value,
        orders.c.received_at < look.minutes_ago(limit),
        orders.c.store_id.is_not(None),  # waiting for its store: operations know already
    )
    by_store = look.db.execute(
        select(orders.c.store_id, func.count()).where(waiting).group_by(orders.c.store_id)
    ).all()
    for store_id, count in by_store:
        oldest = look.oldest(
            select(func.coalesce(orders.c.number, orders.c.sm_order_id))
            .where(waiting, orders.c.store_id == store_id)
            .order_by(orders.c.received_at, orders.c.id)
        )
        yield Finding(
            "new_not_taken",
            f"store:{store_id}",
            look.store_chats.get(store_id),
            f"Заказы не взяты в сборку больше {limit:g} мин — {count} шт., дольше всех ждут: "
            f"{examples(oldest, count)}. Назначьте сборщиков.",
            count,
        )


def assembly_overdue(look: Look) -> Iterator[Finding]:
    rows = look.db.execute(
        select(
            orders.c.id,
            orders.c.number,
            orders.c.store_id,
            orders.c.picker_id,
            orders.c.expected_assembly_at,
        ).where(orders.c.status == S.IN_ASSEMBLY.value, orders.c.expected_assembly_at < look.now)
    )
    for row in rows:
        chat = look.picker_chats.get(row.picker_id) or look.store_chats.get(row.store_id)
        due = _local(look, row.expected_assembly_at)
        yield Finding(
            "assembly_overdue",
            f"order:{row.id}",
            chat,
            f"Сборка заказа {row.number} просрочена: срок был {due}. "
            "Завершите сборку или передайте заказ другому сборщику.",
        )


def not_ready_before_window(look: Look) -> Iterator[Finding]:
    margin = look.settings.monitor_not_ready_before_window_minutes
    rows = look.db.execute(
        select(orders.c.id, orders.c.number, orders.c.store_id, orders.c.delivery_from).where(
            orders.c.status.in_(NOT_READY),
            orders.c.delivery_from < look.now + timedelta(minutes=margin),
            orders.c.store_id.is_not(None),
        )
    )
    for row in rows:
        yield Finding(
            "not_ready_before_window",
            f"order:{row.id}",
            look.store_chats.get(row.store_id),
            f"Заказ {row.number} не готов, а доставка начинается в "
            f"{_local(look, row.delivery_from)}. Ускорьте сборку.",
        )


def courier_waiting(look: Look) -> Iterator[Finding]:
    rows = look.db.execute(
        select(orders.c.id, orders.c.number, orders.c.store_id).where(
            orders.c.status.in_(NOT_READY), orders.c.courier_arrived_at.is_not(None)
        )
    )
    for row in rows:
        yield Finding(
            "courier_waiting",
            f"order:{row.id}",
            look.store_chats.get(row.store_id),
            f"Курьер ждёт заказ {row.number}, а он ещё не готов. Срочно завершите сборку.",
        )


def notifications_failing(look: Look) -> Iterator[Finding]:
    """A dead letter needs a person on that order; undelivered ones are one incident:
    SM is unreachable or refusing, and they go by themselves once it answers again."""
    yield from _dead_notifications(look)
    yield from _stuck_notifications(look)


def _dead_notifications(look: Look) -> Iterator[Finding]:
    n = sm_notifications
    rows = look.db.execute(
        select(n.c.id, n.c.type, n.c.sm_order_id).where(n.c.state == DeliveryState.DEAD.value)
    )
    for row in rows:
        yield Finding(
            "notification_failing",
            f"notification:{row.id}",
            look.operations,
            f"Уведомление {row.type} по заказу {row.sm_order_id} отклонено СберМаркетом. "
            f"Исправьте и повторите: `smbridge notifications resend --id {row.id}`.",
        )


def _stuck_notifications(look: Look) -> Iterator[Finding]:
    n = sm_notifications
    stuck = and_(
        n.c.state.in_([DeliveryState.PENDING.value, DeliveryState.SENDING.value]),
        or_(
            n.c.created_at < look.minutes_ago(look.settings.monitor_notification_stuck_minutes),
            n.c.attempts >= look.settings.monitor_notification_attempts,
        ),
    )
    count, order_count = look.db.execute(
        select(func.count(), func.count(n.c.order_id.distinct())).where(stuck)
    ).one()
    if not count:
        return
    oldest = look.oldest(
        select(n.c.sm_order_id)
        .where(stuck)
        .group_by(n.c.sm_order_id)
        .order_by(func.min(n.c.created_at), n.c.sm_order_id)
    )
    yield Finding(
        "notifications_stuck",
        "sm",
        look.operations,
        f"Уведомления не доходят до СберМаркета: не доставлено {count} "
        f"(заказов: {order_count}), дольше всех ждут: {examples(oldest, order_count)}. "
        "Проверьте связь со СберМаркетом; когда он ответит, уведомления уйдут сами "
        "(`smbridge notifications list --state pending`).",
        count,
    )


def webhooks_failing(look: Look) -> Iterator[Finding]:
    """One incident per kind of trouble: when intake breaks, it breaks for many events."""
    j = webhook_journal
    parked_since = look.minutes_ago(look.settings.monitor_parked_minutes)
    troubles: dict[str, tuple[ColumnElement[bool], str]] = {
        # a failed event is tried again on its own first: alert once that is over
        "failed": (
            and_(j.c.status == "failed", j.c.attempts >= look.settings.webhook_replay_attempts),
            "не применены",
        ),
        "parked": (
            and_(j.c.status == "parked", j.c.received_at < parked_since),
            "ждут заказ, который не пришёл",
        ),
    }
    for status, (condition, what) in troubles.items():
        count, order_count = look.db.execute(
            select(func.count(), func.count(j.c.sm_order_id.distinct())).where(condition)
        ).one()
        if not count:
            continue
        oldest = look.oldest(
            select(j.c.sm_order_id)
            .where(condition, j.c.sm_order_id.is_not(None))
            .group_by(j.c.sm_order_id)
            .order_by(func.min(j.c.received_at), j.c.sm_order_id)
        )
        yield Finding(
            "webhook_failing",
            status,
            look.operations,
            f"События СберМаркета {what} — {count} шт., по заказам: "
            f"{examples(oldest, order_count) or '—'}. "
            f"Разберите: `smbridge events list --status {status}`.",
            count,
        )


def no_webhooks(look: Look) -> Iterator[Finding]:
    if not _store_hours(look):
        return
    last = look.db.execute(select(func.max(webhook_journal.c.received_at))).scalar_one()
    silence = look.settings.monitor_silence_minutes
    if last is None or last < look.minutes_ago(silence):
        yield Finding(
            "no_webhooks",
            "all",
            look.operations,
            f"От СберМаркета нет ни одного события больше {silence:g} мин. "
            "Проверьте доступность хука и nginx.",
        )


def telegram_backlog(look: Look) -> Iterator[Finding]:
    count, oldest = look.db.execute(
        select(func.count(), func.min(telegram_outbox.c.created_at)).where(
            telegram_outbox.c.status == "queued"
        )
    ).one()
    too_old = oldest is not None and oldest < look.minutes_ago(
        look.settings.monitor_telegram_oldest_minutes
    )
    if count > look.settings.monitor_telegram_backlog or too_old:
        yield Finding(
            "telegram_backlog",
            "all",
            look.operations,
            f"В очереди Telegram {count} сообщений, старейшее с {_local(look, oldest)}."
            " Проверьте отправку: `smbridge jobs status`.",
            count,
        )


def documents_missing(look: Look) -> Iterator[Finding]:
    due = look.now - timedelta(hours=look.settings.monitor_document_due_hours)
    count = look.db.execute(
        select(func.count())
        .select_from(orders)
        .where(
            orders.c.status == S.DELIVERED.value,
            orders.c.sales_document_id.is_(None),
            orders.c.delivered_at < due,
        )
    ).scalar_one()
    if count:
        yield Finding(
            "documents_missing",
            "all",
            look.operations,
            f"{count} доставленных заказов без реализации дольше "
            f"{look.settings.monitor_document_due_hours:g} ч. "
            "Проверьте задание: `smbridge jobs run sales_documents`.",
            count,
        )


def paid_differs(look: Look) -> Iterator[Finding]:
    since = look.now - timedelta(days=look.settings.monitor_lookback_days)
    d = sales_documents
    rows = look.db.execute(
        select(d.c.id, d.c.order_number, d.c.difference).where(
            d.c.created_at >= since, d.c.difference.is_not(None)
        )
    )
    for row in rows:
        if row.difference:
            yield Finding(
                "paid_differs",
                f"document:{row.id}",
                look.operations,
                f"Оплата заказа {row.order_number} отличается от суммы сборки на "
                f"{row.difference} ₽. Сверьте с бухгалтерией.",
            )


RULES: tuple[Rule, ...] = (
    new_not_taken,
    assembly_overdue,
    not_ready_before_window,
    courier_waiting,
    notifications_failing,
    webhooks_failing,
    no_webhooks,
    telegram_backlog,
    documents_missing,
    paid_differs,
)


def chats(connection: Connection) -> tuple[dict[int, str | None], dict[int, str | None]]:
    store_rows = connection.execute(select(stores.c.id, stores.c.telegram_chat_id))
    picker_rows = connection.execute(select(pickers.c.id, pickers.c.telegram_chat_id))
    return dict(tuple(r) for r in store_rows), dict(tuple(r) for r in picker_rows)


def _local(look: Look, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(look.timezone)).strftime("%H:%M")


def _store_hours(look: Look) -> bool:
    opens, closes = (time.fromisoformat(t) for t in look.settings.monitor_store_hours.split("-"))
    local = look.now.astimezone(ZoneInfo(look.timezone)).time()
    return opens <= local < closes
