"""The Russian texts store staff read. Only order numbers here, never customer data."""

from __future__ import annotations

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
