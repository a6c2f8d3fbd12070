"""The Russian texts store staff read. Only order numbers here, never customer data."""

from __future__ import annotations

from smbridge.domain.notification import Notification
from smbridge.domain.order import Notice, Order


def order_label(order: Order) -> str:
    return f"№{order.number} (СберМаркет {order.sm_order_id})"


def for_notice(notice: Notice, order: Order) -> str:
    label = order_label(order)
    match notice:
        case Notice.CANCELLED_IN_WORK:
            reason = f" Причина: {order.cancel_reason}." if order.cancel_reason else ""
            return (
                f"Заказ {label} отменён СберМаркетом во время сборки.{reason} "
                "Остановите сборку и верните товары на полки."
            )
        case Notice.CHANGED_IN_WORK:
            return (
                f"Покупатель изменил заказ {label} во время сборки. "
                "Откройте заказ и сверьте позиции перед завершением сборки."
            )
        case Notice.CHANGED_AFTER_READY:
            return (
                f"Покупатель изменил заказ {label} после того, как состав был отправлен "
                "в СберМаркет. Изменение не применено — свяжитесь с поддержкой СберМаркета."
            )


def unknown_store(sm_order_id: str, sm_store: str, journal_id: int) -> str:
    return (
        f"Заказ СберМаркета {sm_order_id} пришёл для неизвестного магазина «{sm_store}». "
        "Заказ сохранён, но не принят в работу. Добавьте магазин командой "
        "`smbridge stores add` и повторите событие: "
        f"`smbridge events replay --id {journal_id}`."
    )


def notification_dead(notification: Notification) -> str:
    answer = f"ответ {notification.last_status}" if notification.last_status else "нет ответа"
    return (
        f"СберМаркет не принял уведомление {notification.type} по заказу "
        f"{notification.sm_order_id} ({answer}, попыток: {notification.attempts}). "
        "Проверьте заказ и отправьте уведомление повторно: "
        f"`smbridge notifications resend --id {notification.id}`."
    )


def order_reassigned(order: Order, picker_name: str | None, deadline: str) -> str:
    to = f"сборщику {picker_name}" if picker_name else "магазину (без сборщика)"
    return f"Заказ {order.number} передан {to}, завершить сборку до {deadline}"


def examples(labels: list[str], total: int) -> str:
    """A few order numbers, oldest first, and how many more there are."""
    shown = ", ".join(labels)
    rest = total - len(labels)
    return f"{shown} и ещё {rest}" if rest > 0 else shown


def alert_reminder(text: str) -> str:
    return f"Напоминание: {text}"


def incident_update(text: str, was: int) -> str:
    return f"Обновление (было {was}): {text}"


def alert_resolved(text: str, minutes: int | None) -> str:
    """``minutes``: how long an incident lasted; None for a problem about one subject."""
    lasted = f" Длилось {minutes} мин." if minutes is not None else ""
    return f"Решено: {text}{lasted}"
