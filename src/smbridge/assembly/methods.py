"""The assembly API's use cases: a picking app's whole day, one function per method."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from smbridge.assembly import schemas
from smbridge.assembly.cards import BoardLine, CardState, card_of, plain, position_json
from smbridge.assembly.errors import Conflict, NotFound
from smbridge.assembly.repository import AssemblyOrders, OrderCards, PickerRepository
from smbridge.assembly.service import CallContext, JsonAnswer, Method
from smbridge.assembly.texts import delivery_type_text, status_text
from smbridge.domain import notification as notify
from smbridge.domain.assembly import AssemblyError, CountedRefusal, Substitute
from smbridge.domain.notification import Notification, NotificationType
from smbridge.domain.order import Order, find_line, next_pick, require_status, take_effect
from smbridge.domain.order_change import Effect
from smbridge.domain.picker import Picker, Shift
from smbridge.domain.pickup import HandoutCheck, delivery_type, new_handout_code
from smbridge.domain.status import OrderStatus
from smbridge.domain.telegram import OutgoingMessage
from smbridge.notifications.outbox import NotificationOutbox
from smbridge.orders.repository import OrderRepository, StoreRepository
from smbridge.telegram import messages
from smbridge.telegram.outbox import TelegramOutbox

# --- shifts ----------------------------------------------------------------------------------


def open_shift(ctx: CallContext, data: schemas.PickerRef) -> schemas.ShiftView:
    picker = _picker(ctx, data.pickerId)
    if ctx.uow.repo(PickerRepository).open_shift(_id(picker.id)) is not None:
        raise Conflict("shift_already_open")
    shift = Shift(picker_id=_id(picker.id), store_id=ctx.store_id, opened_at=ctx.now)
    ctx.uow.repo(PickerRepository).add_shift(shift)
    return _shift_view(shift)


def close_shift(ctx: CallContext, data: schemas.PickerRef) -> schemas.ShiftView:
    picker = _picker(ctx, data.pickerId)
    shift = ctx.uow.repo(PickerRepository).open_shift(_id(picker.id))
    if shift is None:
        raise Conflict("shift_not_open")
    shift.closed_at = ctx.now
    return _shift_view(shift)


# --- reading ---------------------------------------------------------------------------------


def get_active_orders(ctx: CallContext, _data: schemas.NoData) -> JsonAnswer:
    """``schemas.ActiveOrders``, built straight as JSON (its times left to orjson): 500
    orders through pydantic cost more than reading them (tests check it against the model)."""
    lines = ctx.uow.repo(AssemblyOrders).board(ctx.store_id)
    return JsonAnswer({"orders": [_board_summary(line) for line in lines]})


def get_order(ctx: CallContext, data: schemas.OrderRef) -> JsonAnswer:
    return _card(_order(ctx, data.orderNumber, lock=False))


def get_notifications(ctx: CallContext, data: schemas.OrderRef) -> schemas.NotificationList:
    order = _order(ctx, data.orderNumber, lock=False)
    rows = ctx.uow.repo(NotificationOutbox).for_order(_id(order.id))
    return schemas.NotificationList(
        notifications=[_notification_view(notification) for notification in rows]
    )


# --- changing --------------------------------------------------------------------------------


def take_order(ctx: CallContext, data: schemas.TakeOrder) -> JsonAnswer:
    card = _order_card(ctx, data.orderNumber)
    picker_id = _id(_picker_on_shift(ctx, data.pickerId).id)
    order = card.summary
    if order.status is OrderStatus.IN_ASSEMBLY and order.picker_id != picker_id:
        raise Conflict("taken_by_other")
    if take_effect(order.status, order.picker_id, picker_id) is Effect.APPLIED:
        card = ctx.uow.repo(OrderCards).take(card, picker_id, ctx.now)
        payload = notify.order_only(order)
        _notify_order(ctx, card.id, order.sm_order_id, NotificationType.IN_WORK, payload)
    return _card_json(card)


def assign_collector(ctx: CallContext, data: schemas.AssignCollector) -> JsonAnswer:
    """SPEC.md: hand an order «В сборке» to another picker on shift, or back to the store."""
    order = _order(ctx, data.orderNumber)
    new = _picker_on_shift(ctx, data.pickerId) if data.pickerId is not None else None
    previous_id = order.assign(data.pickerId, ctx.now)
    previous = ctx.uow.repo(PickerRepository).get(previous_id) if previous_id is not None else None
    text = messages.order_reassigned(order, new.name if new else None, _deadline(ctx, order))
    store = ctx.uow.repo(StoreRepository).get(ctx.store_id)
    chats = [picker.telegram_chat_id for picker in (previous, new) if picker is not None]
    chats.append(store.telegram_chat_id if store is not None else None)
    for chat in dict.fromkeys(chats):  # one message per distinct chat, in this order
        ctx.uow.repo(TelegramOutbox).add(
            OutgoingMessage(
                text=text,
                created_at=ctx.now,
                chat_id=chat,
                store_id=ctx.store_id,
                order_id=order.id,
            )
        )
    return _card(order)


def record_pick(ctx: CallContext, data: schemas.RecordPick) -> JsonAnswer:
    card = _order_card(ctx, data.orderNumber)
    require_status(card.summary.status, OrderStatus.IN_ASSEMBLY)  # as Order.record_pick decides
    position = find_line(card.positions, data.lineNo)
    pick = next_pick(position, data.quantity, data.weightGrams, data.markingCodes)
    return _card_json(ctx.uow.repo(OrderCards).record_pick(card, position, pick, ctx.now))


def replace_position(ctx: CallContext, data: schemas.ReplacePosition) -> JsonAnswer:
    order = _order(ctx, data.orderNumber)
    sub = data.substitute
    order.replace(
        data.lineNo,
        Substitute(
            sku=sub.sku,
            name=sub.name,
            quantity=sub.quantity,
            price=sub.price,
            weight_grams=sub.weightGrams,
            marking_codes=tuple(sub.markingCodes or ()),
            weighed=sub.weighed,
        ),
        ctx.now,
    )
    return _card(order)


def finish_assembly(ctx: CallContext, data: schemas.FinishAssembly) -> JsonAnswer:
    order = _order(ctx, data.orderNumber)
    order.finish(data.bags, ctx.now)
    if ctx.policy.notify_assembled:
        _notify(ctx, order, NotificationType.ASSEMBLED, notify.order_only(order))
    _give_handout_code(ctx, order)
    if data.ready:
        _make_ready(ctx, order)
    return _card(order)


def mark_ready(ctx: CallContext, data: schemas.OrderRef) -> JsonAnswer:
    order = _order(ctx, data.orderNumber)
    _make_ready(ctx, order)
    return _card(order)


def hand_out_order(ctx: CallContext, data: schemas.HandOutOrder) -> JsonAnswer:
    """The pickup counter: staff enter the customer's code. The right one hands the order
    over (delivered; SM gets order.delivered, the sales document follows); a wrong one is
    refused and counted, and too many in a row lock the handover and alert the store."""
    order = _order(ctx, data.orderNumber)
    policy = ctx.policy.handover
    match order.check_handout_code(data.code, ctx.now, policy):
        case HandoutCheck.RIGHT:
            if order.hand_to_customer(ctx.now).effect is Effect.APPLIED:
                _notify(ctx, order, NotificationType.DELIVERED, notify.order_only(order))
            return _card(order)
        case HandoutCheck.WRONG:
            left = policy.max_wrong_tries - order.handout_wrong_tries
            raise CountedRefusal(
                "wrong_handout_code", f"wrong code; {left} tries left", conflict=False
            )
        case HandoutCheck.LOCKED_NOW:
            until = _store_time(ctx, order.handout_locked_until)
            text = messages.handover_locked(order, policy.max_wrong_tries, until)
            _tell_store(ctx, order, text)
            raise CountedRefusal("handover_locked", f"too many wrong codes; locked until {until}")
        case HandoutCheck.LOCKED:
            until = _store_time(ctx, order.handout_locked_until)
            raise AssemblyError("handover_locked", f"too many wrong codes; locked until {until}")


def cancel_uncollected(ctx: CallContext, data: schemas.OrderRef) -> JsonAnswer:
    """A pickup order nobody collected by the end of its storage period: the store cancels
    it, SM gets order.canceled with the configured reason."""
    order = _order(ctx, data.orderNumber)
    if order.cancel_uncollected(ctx.now, ctx.policy.handover).effect is Effect.APPLIED:
        _notify(ctx, order, NotificationType.CANCELED, notify.canceled(order))
    return _card(order)


def cancel_order(ctx: CallContext, data: schemas.CancelOrder) -> JsonAnswer:
    order = _order(ctx, data.orderNumber)
    if order.cancel_by_store(data.reason, ctx.now).effect is Effect.APPLIED:
        _notify(ctx, order, NotificationType.CANCELED, notify.canceled(order))
    return _card(order)


METHODS: dict[str, Method] = {
    method.name: method
    for method in (
        Method(
            "openShift",
            open_shift,
            schemas.PickerRef,
            schemas.ShiftView,
            True,
            "Open a picker's shift in this store",
        ),
        Method(
            "closeShift",
            close_shift,
            schemas.PickerRef,
            schemas.ShiftView,
            True,
            "Close a picker's shift",
        ),
        Method(
            "getActiveOrders",
            get_active_orders,
            schemas.NoData,
            schemas.ActiveOrders,
            False,
            "The store's active orders: status, picker, times, deadline, flags",
        ),
        Method(
            "getOrder",
            get_order,
            schemas.OrderRef,
            schemas.OrderCard,
            False,
            "The order card with its positions",
        ),
        Method(
            "getNotifications",
            get_notifications,
            schemas.OrderRef,
            schemas.NotificationList,
            False,
            "What was sent to SM for the order, and its delivery state",
        ),
        Method(
            "takeOrder",
            take_order,
            schemas.TakeOrder,
            schemas.OrderCard,
            True,
            "Take a new order into assembly («В сборке»); SM gets order.in_work",
        ),
        Method(
            "assignCollector",
            assign_collector,
            schemas.AssignCollector,
            schemas.OrderCard,
            True,
            "Hand an order in assembly to another picker on shift, or back to the store",
        ),
        Method(
            "recordPick",
            record_pick,
            schemas.RecordPick,
            schemas.OrderCard,
            True,
            "Record picked quantity, weight (grams) and marking codes of a line",
        ),
        Method(
            "replacePosition",
            replace_position,
            schemas.ReplacePosition,
            schemas.OrderCard,
            True,
            "Replace a line by another product",
        ),
        Method(
            "finishAssembly",
            finish_assembly,
            schemas.FinishAssembly,
            schemas.OrderCard,
            True,
            "Finish assembly with the number of bags; SM gets the final contents",
        ),
        Method(
            "markReady",
            mark_ready,
            schemas.OrderRef,
            schemas.OrderCard,
            True,
            "Send the final contents of an assembled order to SM",
        ),
        Method(
            "handOutOrder",
            hand_out_order,
            schemas.HandOutOrder,
            schemas.OrderCard,
            True,
            "Pickup counter: hand a ready pickup order to the customer by their handout code; "
            "SM gets order.delivered. A wrong code is refused (422) and counted; too many lock "
            "the handover for a while (409) and alert the store",
        ),
        Method(
            "cancelUncollected",
            cancel_uncollected,
            schemas.OrderRef,
            schemas.OrderCard,
            True,
            "Cancel a ready pickup order nobody collected once its storage period after the "
            "pickup window is over; SM gets order.canceled with the configured reason",
        ),
        Method(
            "cancelOrder",
            cancel_order,
            schemas.CancelOrder,
            schemas.OrderCard,
            True,
            "Cancel the order by the store with a reason slug; SM gets order.canceled",
        ),
    )
}


# --- internals -------------------------------------------------------------------------------


def _order(ctx: CallContext, number: str, *, lock: bool = True) -> Order:
    order = ctx.uow.repo(OrderRepository).by_number(ctx.store_id, number, for_update=lock)
    if order is None:  # another store's order answers exactly like a missing one
        raise NotFound("order_not_found")
    return order


def _order_card(ctx: CallContext, number: str) -> CardState:
    """``_order`` as a card read for a change, without the ORM (the hot calls)."""
    card = ctx.uow.repo(OrderCards).card(ctx.store_id, number, for_update=True)
    if card is None:  # another store's order answers exactly like a missing one
        raise NotFound("order_not_found")
    return card


def _picker(ctx: CallContext, picker_id: int) -> Picker:
    picker = ctx.uow.repo(PickerRepository).get(picker_id)
    if picker is None or picker.store_id != ctx.store_id or not picker.active:
        raise NotFound("picker_not_found")
    return picker


def _picker_on_shift(ctx: CallContext, picker_id: int) -> Picker:
    picker, shift_store_id = ctx.uow.repo(PickerRepository).with_open_shift(picker_id)
    if picker is None or picker.store_id != ctx.store_id or not picker.active:
        raise NotFound("picker_not_found")
    if shift_store_id != ctx.store_id:
        raise Conflict("no_open_shift")
    return picker


def _give_handout_code(ctx: CallContext, order: Order) -> None:
    """An assembled pickup order gets its code, unique among the store's open pickup
    orders; SM hears it (order.pickup_code_created) before ready_for_delivery."""
    if not order.is_pickup or order.handout_code is not None:
        return
    repository = ctx.uow.repo(OrderRepository)
    code = new_handout_code(repository.handout_codes_in_use(ctx.store_id))
    if order.give_handout_code(code, ctx.now):
        repository.save_handout_code()
        _notify(ctx, order, NotificationType.PICKUP_CODE_CREATED, notify.pickup_code_created(order))


def _make_ready(ctx: CallContext, order: Order) -> None:
    _give_handout_code(ctx, order)  # one assembled before pickup orders had codes
    order.mark_ready(ctx.now)
    _notify(ctx, order, NotificationType.READY_FOR_DELIVERY, notify.ready_for_delivery(order))


def _notify(
    ctx: CallContext, order: Order, kind: NotificationType, payload: dict[str, object]
) -> None:
    _notify_order(ctx, _id(order.id), order.sm_order_id, kind, payload)


def _notify_order(
    ctx: CallContext,
    order_id: int,
    sm_order_id: str,
    kind: NotificationType,
    payload: dict[str, Any],
) -> None:
    ctx.uow.repo(NotificationOutbox).add(
        Notification(
            order_id=order_id,
            sm_order_id=sm_order_id,
            type=kind.value,
            payload=payload,
            created_at=ctx.now,
        )
    )


def _deadline(ctx: CallContext, order: Order) -> str:
    return _store_time(ctx, order.expected_assembly_at)


def _store_time(ctx: CallContext, moment: datetime | None) -> str:
    """A time as the store's clock shows it (HH:MM)."""
    store = ctx.uow.repo(StoreRepository).get(ctx.store_id)
    zone = ZoneInfo(store.timezone if store is not None else "UTC")
    return moment.astimezone(zone).strftime("%H:%M") if moment is not None else "?"


def _tell_store(ctx: CallContext, order: Order, text: str) -> None:
    store = ctx.uow.repo(StoreRepository).get(ctx.store_id)
    ctx.uow.repo(TelegramOutbox).add(
        OutgoingMessage(
            text=text,
            created_at=ctx.now,
            chat_id=store.telegram_chat_id if store is not None else None,
            store_id=ctx.store_id,
            order_id=order.id,
        )
    )


def _board_summary(line: BoardLine) -> dict[str, object]:
    """What ``schemas.OrderSummary(...).model_dump(mode="json")`` makes of the line, once
    ``views.answer_json`` has written its times."""
    status, delivery = line.status, delivery_type(line.shipment_method)
    return {
        "number": line.number,
        "smOrderId": line.sm_order_id,
        "status": status.value,
        "statusText": status_text(status, delivery),
        "pickerId": line.picker_id,
        "receivedAt": line.received_at,
        "takenAt": line.taken_at,
        "assembledAt": line.assembled_at,
        "deadline": line.expected_assembly_at,
        "deliveryFrom": line.delivery_from,
        "deliveryTo": line.delivery_to,
        "changedByCustomer": line.changed_by_customer,
        "courierArrived": line.courier_arrived_at is not None,
        "deliveryType": delivery.value,
        "deliveryTypeText": delivery_type_text(delivery),
    }


def _card(order: Order) -> JsonAnswer:
    return _card_json(card_of(order))


def _card_json(card: CardState) -> JsonAnswer:
    """``schemas.OrderCard`` of the order as plain JSON, built without pydantic (tests check
    it against the model); plain, so that it can be kept as a requestId's answer."""
    summary = {name: plain(value) for name, value in _board_summary(card.summary).items()}
    return JsonAnswer(
        summary,
        comment=card.comment,
        replacementPolicy=card.replacement_policy,
        bags=card.bags,
        positions=[position_json(position) for position in card.positions],
    )


def _shift_view(shift: Shift) -> schemas.ShiftView:
    return schemas.ShiftView(
        shiftId=_id(shift.id),
        pickerId=shift.picker_id,
        openedAt=shift.opened_at,
        closedAt=shift.closed_at,
    )


def _notification_view(notification: Notification) -> schemas.NotificationView:
    return schemas.NotificationView(
        id=_id(notification.id),
        type=notification.type,
        state=notification.state,
        attempts=notification.attempts,
        createdAt=notification.created_at,
        deliveredAt=notification.delivered_at,
        lastStatus=notification.last_status,
        lastError=notification.last_error,
    )


def _id(value: int | None) -> int:
    if value is None:
        raise RuntimeError("object has no id yet")
    return value
