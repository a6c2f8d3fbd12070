"""Russian texts the picker sees: status names and error messages by error code."""

from __future__ import annotations

from smbridge.domain.pickup import DeliveryType
from smbridge.domain.status import OrderStatus

STATUS_TEXT: dict[str, str] = {
    OrderStatus.NEW.value: "Новый",
    OrderStatus.IN_ASSEMBLY.value: "В сборке",
    OrderStatus.ASSEMBLED.value: "Собран",
    OrderStatus.READY.value: "Готов к выдаче",
    OrderStatus.HANDED_OVER.value: "Передан курьеру",
    OrderStatus.DELIVERED.value: "Доставлен",
    OrderStatus.CANCELLED.value: "Отменён",
}

#: A pickup order the customer collected was handed out at the counter, not delivered.
PICKUP_DELIVERED_TEXT = "Выдан"

DELIVERY_TYPE_TEXT: dict[str, str] = {
    DeliveryType.COURIER.value: "Доставка",
    DeliveryType.PICKUP.value: "Самовывоз",
}

ERROR_TEXT: dict[str, str] = {
    "bad_request": "Некорректный запрос.",
    "database_unavailable": "Сервис временно недоступен, ничего не изменено. Повторите запрос.",
    "forbidden": "Нет доступа: неверный или отозванный токен.",
    "order_not_found": "Заказ не найден в вашем магазине.",
    "picker_not_found": "Сборщик не найден в вашем магазине.",
    "wrong_status": "Действие недоступно в текущем статусе заказа.",
    "same_picker": "Заказ уже у этого сборщика.",
    "no_open_shift": "У сборщика нет открытой смены в этом магазине.",
    "shift_already_open": "Смена сборщика уже открыта.",
    "shift_not_open": "У сборщика нет открытой смены.",
    "taken_by_other": "Заказ уже собирает другой сборщик.",
    "line_replaced": "Позиция уже заменена.",
    "unknown_line": "В заказе нет такой позиции.",
    "weight_required": "Для весового товара укажите вес в граммах.",
    "too_many": "Собрано больше, чем заказано.",
    "whole_pieces": "Штучный товар: укажите целое количество.",
    "not_all_picked": "Не все позиции собраны: отметьте каждую (0 — нет в наличии).",
    "not_pickup": "Это не заказ самовывоза: его забирает курьер СберМаркета.",
    "no_handout_code": "У заказа самовывоза ещё нет кода выдачи.",
    "wrong_handout_code": "Неверный код выдачи. Попросите покупателя проверить код.",
    "handover_locked": "Выдача заказа временно заблокирована: слишком много неверных кодов.",
    "storage_not_over": "Срок хранения заказа самовывоза ещё не истёк.",
    "request_id_reused": "Этот requestId уже использован для другого запроса.",
    "invalid_data": "Некорректные данные запроса.",
    "payload_too_large": "Слишком большой запрос.",
    "internal_error": "Внутренняя ошибка; ничего не изменено. Повторите запрос.",
}


def status_text(status: str, delivery: str = DeliveryType.COURIER.value) -> str:
    if status == OrderStatus.DELIVERED.value and delivery == DeliveryType.PICKUP.value:
        return PICKUP_DELIVERED_TEXT
    return STATUS_TEXT.get(status, status)


def delivery_type_text(delivery: str) -> str:
    return DELIVERY_TYPE_TEXT.get(delivery, delivery)


def error_text(code: str) -> str:
    return ERROR_TEXT.get(code, ERROR_TEXT["invalid_data"])
