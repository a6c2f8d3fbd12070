"""The Russian texts store staff read. Only order numbers here, never customer data."""

from __future__ import annotations

from datetime import timedelta

from smbridge.domain.order import Order
from smbridge.domain.order_change import Notice


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


def awaits_store(order: Order, wait: timedelta) -> str:
    return (
        f"Заказ СберМаркета {order.sm_order_id} пришёл для неизвестного магазина "
        f"«{_store_ref(order)}». Заказ принят (№{order.number}) и ждёт магазин "
        f"{_minutes(wait)} мин.: добавьте его командой `{_store_add_hint(order)}` — заказ "
        "сразу уйдёт в работу. Иначе заказ будет отменён, а СберМаркет получит отмену."
    )


def cancelled_store_not_mapped(order: Order, wait: timedelta, reason: str) -> str:
    return (
        f"Заказ СберМаркета {order.sm_order_id} (№{order.number}) отменён: магазин "
        f"«{_store_ref(order)}» не добавлен за {_minutes(wait)} мин. "
        f"СберМаркету отправлена отмена (причина {reason})."
    )


def cancelled_without_positions(order: Order, reason: str) -> str:
    return (
        f"Заказ СберМаркета {order.sm_order_id} (№{order.number}) пришёл без позиций "
        f"и отменён. СберМаркету отправлена отмена (причина {reason})."
    )


def cancelled_without_store(order: Order, reason: str) -> str:
    return (
        f"Заказ СберМаркета {order.sm_order_id} (№{order.number}) пришёл без магазина "
        f"(нет storeID и storeImportKey) и отменён. СберМаркету отправлена отмена "
        f"(причина {reason})."
    )


def _store_ref(order: Order) -> str:
    return _short(order.sm_store_id or order.sm_store_import_key or "?")


def _store_add_hint(order: Order) -> str:
    if order.sm_store_id:
        return f"smbridge stores add --sm-id {_short(order.sm_store_id)} --name …"
    return f"smbridge stores add --sm-id … --name … --import-key {_store_ref(order)}"


def _short(text: str, limit: int = 64) -> str:
    """SM's store references have no promised length; an alert must stay one message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _minutes(wait: timedelta) -> str:
    return f"{wait.total_seconds() / 60:g}"


def notification_dead(
    notification_id: int, kind: str, sm_order_id: str, last_status: int | None, attempts: int
) -> str:
    answer = f"ответ {last_status}" if last_status else "нет ответа"
    return (
        f"СберМаркет не принял уведомление {kind} по заказу "
        f"{sm_order_id} ({answer}, попыток: {attempts}). "
        "Проверьте заказ и отправьте уведомление повторно: "
        f"`smbridge notifications resend --id {notification_id}`."
    )


def handover_locked(order: Order, tries: int, until: str) -> str:
    return (
        f"Заказ {order_label(order)} (самовывоз): {tries} раз подряд введён неверный код "
        f"выдачи. Выдача заказа заблокирована до {until}. Код выдачи покупатель видит "
        "в приложении СберМаркета."
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
