"""The SM order («Заказ СМ») and what SM's events do to it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from smbridge.domain.status import (
    FINAL,
    OrderStatus,
    TransitionRefused,
    check_transition,
    is_behind,
)

# --- what SM tells us about an order (already validated at the edge) -----------------------


@dataclass(frozen=True)
class PositionData:
    sku: str
    name: str
    original_quantity: Decimal
    quantity: Decimal
    price: Decimal | None = None
    discount_price: Decimal | None = None
    total_price: Decimal | None = None
    total_discount_price: Decimal | None = None
    weight_grams: Decimal | None = None
    replaced_by_sku: str | None = None
    state: str | None = None


@dataclass(frozen=True)
class OrderData:
    sm_order_id: str
    sm_store_id: str | None = None
    sm_import_key: str | None = None
    sm_uuid: str | None = None
    state: str | None = None
    payment_state: str | None = None
    comment: str | None = None
    customer: dict[str, Any] = field(default_factory=dict)
    address: dict[str, Any] = field(default_factory=dict)
    delivery_from: datetime | None = None
    delivery_to: datetime | None = None
    is_planned: bool | None = None
    total_price: Decimal | None = None
    discount_total_price: Decimal | None = None
    delivery_cost: Decimal | None = None
    payment_methods: tuple[str, ...] | None = None
    shipment_method: str | None = None
    replacement_policy: str | None = None
    complete_before: datetime | None = None
    cancellation_reason: str | None = None
    positions: tuple[PositionData, ...] | None = None  # None: SM did not send the list


# --- the order as we keep it --------------------------------------------------------------


class PositionSource(StrEnum):
    SM = "sm"  # came in the order from SM
    REPLACEMENT = "replacement"  # added by the picker as a substitute


@dataclass(eq=False)
class Position:
    line_no: int
    sku: str
    name: str
    original_quantity: Decimal
    quantity: Decimal
    price: Decimal | None = None
    discount_price: Decimal | None = None
    total_price: Decimal | None = None
    total_discount_price: Decimal | None = None
    weight_grams: Decimal | None = None
    replaced_by_sku: str | None = None
    state: str | None = None
    source: str = PositionSource.SM.value
    replaces_line_no: int | None = None
    picked_quantity: Decimal | None = None
    picked_weight_grams: Decimal | None = None
    marking_codes: list[str] = field(default_factory=list)
    id: int | None = None

    @property
    def is_weighed(self) -> bool:
        return self.weight_grams is not None

    @classmethod
    def from_data(cls, line_no: int, data: PositionData) -> Position:
        position = cls(
            line_no=line_no,
            sku=data.sku,
            name=data.name,
            original_quantity=data.original_quantity,
            quantity=data.quantity,
        )
        position.take(data)
        return position

    def take(self, data: PositionData) -> None:
        """Take SM's current view of this line; what the picker recorded is kept."""
        self.name = data.name
        self.original_quantity = data.original_quantity
        self.quantity = data.quantity
        self.price = data.price
        self.discount_price = data.discount_price
        self.total_price = data.total_price
        self.total_discount_price = data.total_discount_price
        self.weight_grams = data.weight_grams
        self.replaced_by_sku = data.replaced_by_sku
        self.state = data.state


class Notice(StrEnum):
    """Things that happened to an order that store staff must hear about."""

    CANCELLED_IN_WORK = "cancelled_in_work"
    CHANGED_IN_WORK = "changed_in_work"
    CHANGED_AFTER_READY = "changed_after_ready"


class Effect(StrEnum):
    APPLIED = "applied"
    NO_CHANGE = "no_change"  # a fact already known (cancelled twice, paid again)
    NOT_REGRESSED = "not_regressed"  # would move the order backwards: kept, not applied
    REFUSED = "refused"  # not allowed from the current status


@dataclass(frozen=True)
class Outcome:
    effect: Effect
    detail: str = ""
    notices: tuple[Notice, ...] = ()


class AssemblyError(Exception):
    """A picker's action the order does not allow now (conflict) or with this data."""

    def __init__(self, code: str, detail: str, *, conflict: bool = True) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.conflict = conflict  # True: wrong moment (409); False: wrong data (422)


@dataclass(frozen=True)
class Substitute:
    sku: str
    name: str
    quantity: Decimal
    price: Decimal
    weight_grams: Decimal | None = None
    marking_codes: tuple[str, ...] = ()
    weighed: bool | None = None  # None: like the line it stands in for


@dataclass(eq=False)
class Order:
    sm_order_id: str
    store_id: int | None  # None: SM's store is not mapped to ours yet (awaits_store)
    received_at: datetime
    expected_assembly_at: datetime
    status: str = OrderStatus.NEW.value
    number: str | None = None
    sm_store_id: str | None = None
    sm_store_import_key: str | None = None
    sm_uuid: str | None = None
    sm_state: str | None = None
    payment_state: str | None = None
    comment: str | None = None
    customer_name: str | None = None
    customer_phone: str | None = None
    customer: dict[str, Any] = field(default_factory=dict)
    address: dict[str, Any] = field(default_factory=dict)
    delivery_from: datetime | None = None
    delivery_to: datetime | None = None
    is_planned: bool | None = None
    total_price: Decimal | None = None
    discount_total_price: Decimal | None = None
    delivery_cost: Decimal | None = None
    payment_methods: list[str] = field(default_factory=list)
    shipment_method: str | None = None
    replacement_policy: str | None = None
    complete_before: datetime | None = None
    picker_id: int | None = None
    taken_at: datetime | None = None
    assembled_at: datetime | None = None
    ready_at: datetime | None = None
    handed_over_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    cancelled_by: str | None = None
    paid_amount: Decimal | None = None
    paid_at: datetime | None = None
    courier_assigned_at: datetime | None = None
    courier_arrived_at: datetime | None = None
    changed_by_customer: bool = False
    changed_at: datetime | None = None
    bags: int | None = None
    sales_document_id: int | None = None
    updated_at: datetime | None = None
    positions: list[Position] = field(default_factory=list)
    id: int | None = None

    # -- creation and SM's changes ---------------------------------------------------------

    @classmethod
    def create(
        cls,
        data: OrderData,
        *,
        store_id: int | None,
        received_at: datetime,
        expected_assembly_at: datetime,
    ) -> Order:
        order = cls(
            sm_order_id=data.sm_order_id,
            store_id=store_id,
            received_at=received_at,
            expected_assembly_at=expected_assembly_at,
            sm_store_id=data.sm_store_id,
            sm_store_import_key=data.sm_import_key,
            updated_at=received_at,
        )
        order._take_header(data)
        order.positions = [Position.from_data(i + 1, p) for i, p in enumerate(data.positions or ())]
        return order

    @property
    def current_status(self) -> OrderStatus:
        return OrderStatus(self.status)

    @property
    def awaits_store(self) -> bool:
        """Accepted from SM for a store not mapped yet: no store sees it, nobody picks it."""
        return self.store_id is None and self.current_status is OrderStatus.NEW

    def adopt(self, store_id: int, expected_assembly_at: datetime, now: datetime) -> None:
        """Its store was mapped in time: from now on a new order of that store like any."""
        if not self.awaits_store:
            raise AssemblyError("wrong_status", f"order is {self.status} in store {self.store_id}")
        self.store_id = store_id
        self.expected_assembly_at = expected_assembly_at
        self.updated_at = now

    def apply_update(self, data: OrderData, now: datetime) -> Outcome:
        """SM changed the order (customer edited the basket, a new window, ...)."""
        status = self.current_status
        if status in FINAL:
            return Outcome(Effect.REFUSED, f"order is {status.value}; change not applied")
        if is_behind(OrderStatus.ASSEMBLED, status):
            # Final contents already went to SM: keep the change on record, warn staff.
            self._mark_changed(now)
            return Outcome(
                Effect.NOT_REGRESSED, "final contents already sent", (Notice.CHANGED_AFTER_READY,)
            )
        self._take_header(data)
        if data.positions is not None:
            self._merge_positions(data.positions)
        self.updated_at = now
        if status is OrderStatus.NEW:
            return Outcome(Effect.APPLIED)
        self._mark_changed(now)
        return Outcome(Effect.APPLIED, "changed during assembly", (Notice.CHANGED_IN_WORK,))

    def record_payment(
        self, amount: Decimal | None, payment_state: str | None, now: datetime
    ) -> Outcome:
        if self.paid_at is not None and self.paid_amount == amount:
            return Outcome(Effect.NO_CHANGE, "payment already recorded")
        self.paid_amount = amount
        self.paid_at = now
        self.payment_state = payment_state or self.payment_state
        self.updated_at = now
        return Outcome(Effect.APPLIED)

    def record_courier_assigned(self, now: datetime) -> Outcome:
        if self.courier_assigned_at is not None:
            return Outcome(Effect.NO_CHANGE, "courier already assigned")
        self.courier_assigned_at = now
        self.updated_at = now
        return Outcome(Effect.APPLIED)

    def record_courier_arrived(self, now: datetime) -> Outcome:
        if self.courier_arrived_at is not None:
            return Outcome(Effect.NO_CHANGE, "courier arrival already recorded")
        self.courier_arrived_at = now
        self.updated_at = now
        return Outcome(Effect.APPLIED)

    def hand_over(self, now: datetime) -> Outcome:
        """The courier took the order (order.received / order.delivering)."""
        return self._advance(OrderStatus.HANDED_OVER, now)

    def deliver(self, now: datetime) -> Outcome:
        return self._advance(OrderStatus.DELIVERED, now)

    def cancel(self, reason: str | None, by: str, now: datetime) -> Outcome:
        status = self.current_status
        if status is OrderStatus.CANCELLED:
            return Outcome(Effect.NO_CHANGE, "already cancelled")
        try:
            check_transition(status, OrderStatus.CANCELLED)
        except TransitionRefused as refused:
            return Outcome(Effect.REFUSED, str(refused))
        self.status = OrderStatus.CANCELLED.value
        self.cancelled_at = now
        self.cancel_reason = reason
        self.cancelled_by = by
        self.updated_at = now
        in_work = status is not OrderStatus.NEW
        return Outcome(Effect.APPLIED, notices=(Notice.CANCELLED_IN_WORK,) if in_work else ())

    # -- the store's work (assembly API) ---------------------------------------------------

    def take(self, picker_id: int, now: datetime) -> Outcome:
        """A picker takes a new order into assembly («В сборке»)."""
        if self.current_status is OrderStatus.IN_ASSEMBLY and self.picker_id == picker_id:
            return Outcome(Effect.NO_CHANGE, "already taken by this picker")
        self._move(OrderStatus.NEW, OrderStatus.IN_ASSEMBLY)
        self.picker_id, self.taken_at, self.updated_at = picker_id, now, now
        return Outcome(Effect.APPLIED)

    def assign(self, picker_id: int | None, now: datetime) -> int | None:
        """Hand the order to another picker, or back to the store (None); returns the old one."""
        self._require(OrderStatus.IN_ASSEMBLY)
        if picker_id == self.picker_id:
            raise AssemblyError("same_picker", "the order is already with this picker")
        previous, self.picker_id, self.updated_at = self.picker_id, picker_id, now
        return previous

    def record_pick(
        self,
        line_no: int,
        quantity: Decimal,
        weight_grams: Decimal | None,
        marking_codes: list[str] | None,
        now: datetime,
    ) -> Position:
        self._require(OrderStatus.IN_ASSEMBLY)
        position = self._line(line_no)
        if position.replaced_by_sku is not None:
            raise AssemblyError("line_replaced", f"line {line_no} was replaced")
        if position.is_weighed and quantity > 0 and weight_grams is None:
            raise AssemblyError(
                "weight_required", f"line {line_no} is weighed: give its weight", conflict=False
            )
        if not position.is_weighed:
            _require_whole(line_no, quantity)
            if quantity > position.quantity:
                raise AssemblyError(
                    "too_many", f"line {line_no}: ordered {position.quantity}", conflict=False
                )
        position.picked_quantity = quantity
        position.picked_weight_grams = weight_grams
        if marking_codes is not None:
            position.marking_codes = list(marking_codes)
        self.updated_at = now
        return position

    def replace(self, line_no: int, substitute: Substitute, now: datetime) -> Position:
        """The picker puts another product in place of a line (SM: ``replacedByID``)."""
        self._require(OrderStatus.IN_ASSEMBLY)
        original = self._line(line_no)
        if original.source != PositionSource.SM.value or original.replaced_by_sku is not None:
            raise AssemblyError("line_replaced", f"line {line_no} cannot be replaced again")
        weight = _substitute_weight(original, substitute)
        if weight is None:  # a piece good: whole pieces only
            _require_whole(line_no, substitute.quantity)
        original.replaced_by_sku = substitute.sku
        # Nothing of the original goes to the customer, so neither do its scanned codes.
        original.picked_quantity, original.picked_weight_grams = Decimal(0), None
        original.marking_codes = []
        added = Position(
            line_no=max(p.line_no for p in self.positions) + 1,
            sku=substitute.sku,
            name=substitute.name,
            original_quantity=Decimal(0),
            quantity=substitute.quantity,
            price=substitute.price,
            discount_price=substitute.price,
            weight_grams=weight,
            source=PositionSource.REPLACEMENT.value,
            replaces_line_no=line_no,
            picked_quantity=substitute.quantity,
            picked_weight_grams=weight,
            marking_codes=list(substitute.marking_codes),
        )
        self.positions.append(added)
        self.updated_at = now
        return added

    def finish(self, bags: int, now: datetime) -> None:
        """Assembly is done: every line must have been picked (0 for a shortage)."""
        self._require(OrderStatus.IN_ASSEMBLY)
        self._require_all_picked()
        self._move(OrderStatus.IN_ASSEMBLY, OrderStatus.ASSEMBLED)
        self.bags, self.assembled_at, self.updated_at = bags, now, now

    def mark_ready(self, now: datetime) -> None:
        """Final contents go to SM; the courier may come."""
        self._require(OrderStatus.ASSEMBLED)
        self._require_all_picked()  # a change while «Собран» may have added a line
        self._move(OrderStatus.ASSEMBLED, OrderStatus.READY)
        self.ready_at, self.updated_at = now, now

    def correct_weight(self, line_no: int, grams: Decimal, now: datetime) -> Position:
        """An operator corrects a weight in final contents SM refused; a resend carries it.

        A line without a weight of its own (a substitute taken without one) becomes weighed.
        """
        if self.current_status not in (OrderStatus.ASSEMBLED, OrderStatus.READY):
            raise AssemblyError("wrong_status", f"order is {self.status}: no final contents")
        position = self._line(line_no)
        if position.replaced_by_sku is not None:
            raise AssemblyError("line_replaced", f"line {line_no} was replaced")
        if position.weight_grams is None:
            position.weight_grams = grams
        position.picked_weight_grams = grams
        self.updated_at = now
        return position

    def cancel_by_store(self, reason: str, now: datetime) -> Outcome:
        if self.current_status in (OrderStatus.HANDED_OVER, OrderStatus.DELIVERED):
            raise AssemblyError("wrong_status", f"order is {self.status}; too late to cancel")
        if self.current_status is OrderStatus.CANCELLED:
            return Outcome(Effect.NO_CHANGE, "already cancelled")
        return self.cancel(reason, "store", now)

    # -- internals -------------------------------------------------------------------------

    def _advance(self, target: OrderStatus, now: datetime) -> Outcome:
        status = self.current_status
        if status is target:
            return Outcome(Effect.NO_CHANGE, f"already {target.value}")
        if is_behind(target, status):
            return Outcome(Effect.NOT_REGRESSED, f"order is already {status.value}")
        try:
            check_transition(status, target)
        except TransitionRefused as refused:
            return Outcome(Effect.REFUSED, str(refused))
        self.status = target.value
        if target is OrderStatus.HANDED_OVER:
            self.handed_over_at = now
        else:
            self.delivered_at = now
        self.updated_at = now
        return Outcome(Effect.APPLIED)

    def _require(self, status: OrderStatus) -> None:
        if self.current_status is not status:
            raise AssemblyError("wrong_status", f"order is {self.status}, not {status.value}")

    def _move(self, expected: OrderStatus, target: OrderStatus) -> None:
        self._require(expected)
        check_transition(expected, target)
        self.status = target.value

    def _require_all_picked(self) -> None:
        unpicked = [p.line_no for p in self.positions if p.picked_quantity is None]
        if unpicked:
            raise AssemblyError("not_all_picked", f"lines not picked yet: {unpicked}")

    def _line(self, line_no: int) -> Position:
        for position in self.positions:
            if position.line_no == line_no:
                return position
        raise AssemblyError("unknown_line", f"no line {line_no} in this order", conflict=False)

    def _mark_changed(self, now: datetime) -> None:
        self.changed_by_customer = True
        self.changed_at = now
        self.updated_at = now

    def _take_header(self, data: OrderData) -> None:
        """Take every header field SM sent; a field it left out keeps its known value."""
        # SM resends the whole order with each event; one that left before the payment must
        # not turn a paid order back into "not_paid".
        payment_state = None if self.paid_at is not None else data.payment_state
        for ours, value in (
            ("sm_uuid", data.sm_uuid),
            ("sm_state", data.state),
            ("payment_state", payment_state),
            ("comment", data.comment),
            ("delivery_from", data.delivery_from),
            ("delivery_to", data.delivery_to),
            ("is_planned", data.is_planned),
            ("total_price", data.total_price),
            ("discount_total_price", data.discount_total_price),
            ("delivery_cost", data.delivery_cost),
            ("shipment_method", data.shipment_method),
            ("replacement_policy", data.replacement_policy),
            ("complete_before", data.complete_before),
        ):
            if value is not None:
                setattr(self, ours, value)
        if data.payment_methods is not None:
            self.payment_methods = list(data.payment_methods)
        if data.customer:
            self.customer = dict(data.customer)
            self.customer_name = _text(data.customer.get("name"))
            self.customer_phone = _text(data.customer.get("phone"))
        if data.address:
            self.address = dict(data.address)

    def _merge_positions(self, incoming: tuple[PositionData, ...]) -> None:
        """Match SM's lines to ours by SKU (and its n-th occurrence); keep picking records.

        A line SM no longer sends was removed by the customer: its quantity becomes 0 but the
        row stays, so whatever the picker already did with it remains visible.
        """
        ours = dict(_keyed(p for p in self.positions if p.source == PositionSource.SM.value))
        # The picker's substitutions are the picker's record: SM's view must not unlink them.
        substituted = {
            p.replaces_line_no: p.sku
            for p in self.positions
            if p.source == PositionSource.REPLACEMENT.value and p.replaces_line_no is not None
        }
        seen: set[tuple[str, int]] = set()
        next_line = max((p.line_no for p in self.positions), default=0) + 1
        for key, data in _keyed(incoming):
            seen.add(key)
            if key in ours:
                line = ours[key]
                line.take(data)
                if line.line_no in substituted:
                    line.replaced_by_sku = substituted[line.line_no]
            else:
                self.positions.append(Position.from_data(next_line, data))
                next_line += 1
        for key, position in ours.items():
            if key not in seen:
                position.quantity = Decimal(0)


def _substitute_weight(original: Position, substitute: Substitute) -> Decimal | None:
    """The substitute's weight; SM refuses final contents with a weighed good without one.

    A substitute is usually the same kind of good as the line it stands in for (loose
    cheese for loose cheese), so it is weighed when that line is, unless the picker says.
    """
    weighed = original.is_weighed if substitute.weighed is None else substitute.weighed
    if not weighed or substitute.weight_grams is not None:
        return substitute.weight_grams
    if substitute.quantity > 0:
        raise AssemblyError(
            "weight_required",
            f"the substitute for line {original.line_no} is weighed: give its weight",
            conflict=False,
        )
    return Decimal(0)  # none taken: it still travels as a weighed good, weighing nothing


class _HasSku(Protocol):
    @property
    def sku(self) -> str: ...


_T = TypeVar("_T", bound=_HasSku)


def _keyed(items: Iterable[_T]) -> list[tuple[tuple[str, int], _T]]:
    counts: Counter[str] = Counter()
    keyed: list[tuple[tuple[str, int], _T]] = []
    for item in items:
        counts[item.sku] += 1
        keyed.append(((item.sku, counts[item.sku]), item))
    return keyed


def _require_whole(line_no: int, quantity: Decimal) -> None:
    """A piece good is counted in whole pieces: 0.001 of a bottle cannot be handed over."""
    if quantity != quantity.to_integral_value():
        raise AssemblyError(
            "whole_pieces", f"line {line_no}: a piece good needs a whole number", conflict=False
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
