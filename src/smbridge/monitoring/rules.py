"""The monitoring rules. Each looks at what the database says now and names the problems it
sees.

A problem is about one subject (an order, a document) where a person must act on that
subject, or is an *incident* grouped by cause (SM not taking notifications, a store not
taking orders, webhooks failing): one finding with a count and the oldest few order
numbers, so an outage is one alert, not one per stuck row.

The rules read through ``MonitoringQueries`` (monitoring/queries.py), whose every query is
bounded by active orders, queues, or a recent window — never by history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from smbridge.domain.webhook import JournalStatus
from smbridge.monitoring.queries import Chats, Incident, MonitoringQueries
from smbridge.monitoring.settings import MonitoringSettings
from smbridge.telegram.messages import examples, notification_dead


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    chat_id: str | None
    text: str  # Russian: what is wrong and what to do
    count: int | None = None  # an incident's size; None: a problem about one subject


@dataclass(frozen=True)
class RuleInputs:
    """What every rule gets: the read-only queries, the time, thresholds, chats."""

    read: MonitoringQueries
    now: datetime
    settings: MonitoringSettings
    operations: str | None
    chats: Chats
    timezone: str

    def minutes_ago(self, minutes: float) -> datetime:
        return self.now - timedelta(minutes=minutes)

    @property
    def examples(self) -> int:
        """How many of an incident's oldest rows it names."""
        return self.settings.monitor_incident_examples


Rule = Callable[[RuleInputs], Iterator[Finding]]


def new_not_taken(inputs: RuleInputs) -> Iterator[Finding]:
    """One incident per store: a store not taking orders is one thing to fix."""
    limit = inputs.settings.monitor_new_not_taken_minutes
    by_store = inputs.read.new_not_taken(inputs.minutes_ago(limit), inputs.examples)
    for store_id, waiting in by_store.items():
        yield Finding(
            "new_not_taken",
            f"store:{store_id}",
            inputs.chats.stores.get(store_id),
            f"Заказы не взяты в сборку больше {limit:g} мин — {waiting.count} шт., дольше всех "
            f"ждут: {examples(waiting.oldest, waiting.count)}. Назначьте сборщиков.",
            waiting.count,
        )


def assembly_overdue(inputs: RuleInputs) -> Iterator[Finding]:
    for order in inputs.read.assembly_overdue(inputs.now):
        chat = _picker_chat(inputs, order.picker_id) or _store_chat(inputs, order.store_id)
        yield Finding(
            "assembly_overdue",
            f"order:{order.id}",
            chat,
            f"Сборка заказа {order.number} просрочена: срок был {_local(inputs, order.due)}. "
            "Завершите сборку или передайте заказ другому сборщику.",
        )


def not_ready_before_window(inputs: RuleInputs) -> Iterator[Finding]:
    margin = inputs.settings.monitor_not_ready_before_window_minutes
    for order in inputs.read.not_ready_by(inputs.now + timedelta(minutes=margin)):
        yield Finding(
            "not_ready_before_window",
            f"order:{order.id}",
            _store_chat(inputs, order.store_id),
            f"Заказ {order.number} не готов, а доставка начинается в "
            f"{_local(inputs, order.due)}. Ускорьте сборку.",
        )


def courier_waiting(inputs: RuleInputs) -> Iterator[Finding]:
    for order in inputs.read.courier_waiting():
        yield Finding(
            "courier_waiting",
            f"order:{order.id}",
            _store_chat(inputs, order.store_id),
            f"Курьер ждёт заказ {order.number}, а он ещё не готов. Срочно завершите сборку.",
        )


def pickup_uncollected(inputs: RuleInputs) -> Iterator[Finding]:
    hours = inputs.settings.monitor_pickup_uncollected_hours
    for order in inputs.read.pickup_uncollected(inputs.now - timedelta(hours=hours)):
        yield Finding(
            "pickup_uncollected",
            f"order:{order.id}",
            _store_chat(inputs, order.store_id),
            f"Заказ самовывоза {order.number} не забран: окно выдачи закончилось в "
            f"{_local(inputs, order.due)}. Свяжитесь с поддержкой СберМаркета; после срока "
            "хранения отмените заказ («Отменить невостребованный»).",
        )


def notifications_failing(inputs: RuleInputs) -> Iterator[Finding]:
    """A dead letter needs a person on that order; undelivered ones are one incident:
    SM is unreachable or refusing, and they go by themselves once it answers again."""
    yield from _dead_notifications(inputs)
    yield from _stuck_notifications(inputs)


def _dead_notifications(inputs: RuleInputs) -> Iterator[Finding]:
    for dead in inputs.read.dead_notifications():
        yield Finding(
            "notification_failing",
            f"notification:{dead.id}",
            inputs.operations,
            notification_dead(
                dead.id, dead.type, dead.sm_order_id, dead.last_status, dead.attempts
            ),
        )


def _stuck_notifications(inputs: RuleInputs) -> Iterator[Finding]:
    settings = inputs.settings
    stuck = inputs.read.stuck_notifications(
        inputs.minutes_ago(settings.monitor_notification_stuck_minutes),
        settings.monitor_notification_attempts,
        inputs.examples,
    )
    if not stuck.count:
        return
    yield Finding(
        "notifications_stuck",
        "sm",
        inputs.operations,
        f"Уведомления не доходят до СберМаркета: не доставлено {stuck.count} "
        f"(заказов: {stuck.orders}), дольше всех ждут: {examples(stuck.oldest, stuck.orders)}. "
        "Проверьте связь со СберМаркетом; когда он ответит, уведомления уйдут сами "
        "(`smbridge notifications list --state pending`).",
        stuck.count,
    )


def webhooks_failing(inputs: RuleInputs) -> Iterator[Finding]:
    """One incident per kind of trouble: when intake breaks, it breaks for many events."""
    settings = inputs.settings
    troubles: dict[JournalStatus, tuple[Incident, str]] = {
        # a failed event is tried again on its own first: alert once that is over
        JournalStatus.FAILED: (
            inputs.read.failed_webhooks(settings.webhook_replay_attempts, inputs.examples),
            "не применены",
        ),
        JournalStatus.PARKED: (
            inputs.read.parked_webhooks(
                inputs.minutes_ago(settings.monitor_parked_minutes), inputs.examples
            ),
            "ждут заказ, который не пришёл",
        ),
    }
    for status, (trouble, what) in troubles.items():
        if not trouble.count:
            continue
        yield Finding(
            "webhook_failing",
            status.value,
            inputs.operations,
            f"События СберМаркета {what} — {trouble.count} шт., по заказам: "
            f"{examples(trouble.oldest, trouble.orders) or '—'}. "
            f"Разберите: `smbridge events list --status {status.value}`.",
            trouble.count,
        )


def no_webhooks(inputs: RuleInputs) -> Iterator[Finding]:
    if not _store_hours(inputs):
        return
    last = inputs.read.last_webhook_at()
    silence = inputs.settings.monitor_silence_minutes
    if last is None or last < inputs.minutes_ago(silence):
        yield Finding(
            "no_webhooks",
            "all",
            inputs.operations,
            f"От СберМаркета нет ни одного события больше {silence:g} мин. "
            "Проверьте доступность хука и nginx.",
        )


def telegram_backlog(inputs: RuleInputs) -> Iterator[Finding]:
    count, oldest = inputs.read.telegram_queue()
    too_old = oldest is not None and oldest < inputs.minutes_ago(
        inputs.settings.monitor_telegram_oldest_minutes
    )
    if count > inputs.settings.monitor_telegram_backlog or too_old:
        yield Finding(
            "telegram_backlog",
            "all",
            inputs.operations,
            f"В очереди Telegram {count} сообщений, старейшее с {_local(inputs, oldest)}."
            " Проверьте отправку: `smbridge jobs status`.",
            count,
        )


def documents_missing(inputs: RuleInputs) -> Iterator[Finding]:
    hours = inputs.settings.monitor_document_due_hours
    count = inputs.read.delivered_without_document(inputs.now - timedelta(hours=hours))
    if count:
        yield Finding(
            "documents_missing",
            "all",
            inputs.operations,
            f"{count} доставленных заказов без реализации дольше {hours:g} ч. "
            "Проверьте задание: `smbridge jobs run sales_documents`.",
            count,
        )


def paid_differs(inputs: RuleInputs) -> Iterator[Finding]:
    since = inputs.now - timedelta(days=inputs.settings.monitor_lookback_days)
    for document in inputs.read.paid_differences(since):
        if document.difference:
            yield Finding(
                "paid_differs",
                f"document:{document.document_id}",
                inputs.operations,
                f"Оплата заказа {document.order_number} отличается от суммы сборки на "
                f"{document.difference} ₽. Сверьте с бухгалтерией.",
            )


RULES: tuple[Rule, ...] = (
    new_not_taken,
    assembly_overdue,
    not_ready_before_window,
    courier_waiting,
    pickup_uncollected,
    notifications_failing,
    webhooks_failing,
    no_webhooks,
    telegram_backlog,
    documents_missing,
    paid_differs,
)


def _store_chat(inputs: RuleInputs, store_id: int | None) -> str | None:
    return None if store_id is None else inputs.chats.stores.get(store_id)


def _picker_chat(inputs: RuleInputs, picker_id: int | None) -> str | None:
    return None if picker_id is None else inputs.chats.pickers.get(picker_id)


def _local(inputs: RuleInputs, moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(inputs.timezone)).strftime("%H:%M")


def _store_hours(inputs: RuleInputs) -> bool:
    hours = inputs.settings.monitor_store_hours.split("-")
    opens, closes = (time.fromisoformat(clock_time) for clock_time in hours)
    local = inputs.now.astimezone(ZoneInfo(inputs.timezone)).time()
    return opens <= local < closes
