"""The SM order («Заказ СМ»): the aggregate, and what SM's events and the store do to it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from smbridge.domain.assembly import AssemblyError, Substitute, require_whole, substitute_weight
from smbridge.domain.order_change import Effect, Notice, OrderChange
from smbridge.domain.order_merge import merge_lines, merged_header
from smbridge.domain.pick import PickRecord
from smbridge.domain.pickup import (
    DeliveryType,
    HandoutCheck,
    HandoutGuard,
    HandoverPolicy,
    collect_by,
    delivery_type,
    same_code,
)
from smbridge.domain.position import Position
from smbridge.domain.sm_order import SmOrder, SmOrderHeader, SmOrderLine
from smbridge.domain.status import (
    FINAL,
    OrderStatus,
    TransitionRefused,
    check_transition,
    is_behind,
)


@dataclass(eq=False, slots=True)
class NewOrder:
    """An order SM just created, as plain values: what a new order is made of.

    ``Order.of_new`` makes the order of it; the hook writes it to the database as it is
    (``OrderRepository.insert_new``), since building the mapped Order and its positions
    costs ~0.4 ms of instrumented attribute sets per webhook (issue 11). Its other fields
    take the Order's defaults. ``id`` and ``number`` are set once it is stored.
    """

    sm_order_id: str
    store_id: int | None  # None: SM's store is not mapped to ours yet
    received_at: datetime
    expected_assembly_at: datetime
    sm_store_id: str | None  # SM's storeID and storeImportKey, as the order came
    sm_store_import_key: str | None
    header: SmOrderHeader
    lines: tuple[SmOrderLine, ...]  # position n is line n (from 1), not picked yet
    id: int | None = None
    number: str | None = None

    @classmethod
    def of(
        cls,
        data: SmOrder,
        *,
        store_id: int | None,
        received_at: datetime,
        expected_assembly_at: datetime,
    ) -> NewOrder:
        return cls(
            sm_order_id=data.sm_order_id,
            store_id=store_id,
            received_at=received_at,
            expected_assembly_at=expected_assembly_at,
            sm_store_id=data.sm_store_id,
            sm_store_import_key=data.sm_import_key,
            # The header as _take_header has it: SM's word on a blank one.
            header=merged_header(SmOrderHeader.blank(), data.header, paid=False),
            lines=data.lines or (),
        )

    # Copies of the customer's name and phone from the header, kept for the store's lists
    @property
    def customer_name(self) -> str | None:
        return self.header.customer_name

    @property
    def customer_phone(self) -> str | None:
        return self.header.customer_phone

    @property
    def updated_at(self) -> datetime:
        return self.received_at

    def numbered_lines(self) -> Iterator[tuple[int, SmOrderLine]]:
        return enumerate(self.lines, start=1)


@dataclass(eq=False)
class Order:
    sm_order_id: str
    store_id: int | None  # None: SM's store is not mapped to ours yet (awaits_store)
    received_at: datetime
    expected_assembly_at: datetime
    status: OrderStatus = OrderStatus.NEW
    number: str | None = None
    sm_store_id: str | None = None  # SM's storeID and storeImportKey, as the order came
    sm_store_import_key: str | None = None
    header: SmOrderHeader = field(default_factory=SmOrderHeader.blank)
    # Copies of the customer's name and phone from the header, kept for the store's lists
    customer_name: str | None = None
    customer_phone: str | None = None
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
    # A pickup order's handout code (made at assembly), and its guard against guessing
    handout_code: str | None = None
    handout_wrong_tries: int = 0
    handout_locked_until: datetime | None = None
    updated_at: datetime | None = None
    positions: list[Position] = field(default_factory=list)
    id: int | None = None

    # -- creation and SM's changes ---------------------------------------------------------

    @classmethod
    def create(
        cls,
        data: SmOrder,
        *,
        store_id: int | None,
        received_at: datetime,
        expected_assembly_at: datetime,
    ) -> Order:
        new = NewOrder.of(
            data,
            store_id=store_id,
            received_at=received_at,
            expected_assembly_at=expected_assembly_at,
        )
        return cls.of_new(new)

    @classmethod
    def of_new(cls, new: NewOrder) -> Order:
        """The order ``new`` describes (with its id and number once stored)."""
        # Everything given to the constructor: each attribute of a mapped class is set once
        # (a set costs CPU, issue 11).
        return cls(
            sm_order_id=new.sm_order_id,
            store_id=new.store_id,
            received_at=new.received_at,
            expected_assembly_at=new.expected_assembly_at,
            sm_store_id=new.sm_store_id,
            sm_store_import_key=new.sm_store_import_key,
            header=new.header,
            customer_name=new.customer_name,
            customer_phone=new.customer_phone,
            updated_at=new.updated_at,
            positions=[Position(line_no, line) for line_no, line in new.numbered_lines()],
            number=new.number,
            id=new.id,
        )

    @property
    def delivery_type(self) -> DeliveryType:
        return delivery_type(self.header.shipment_method)

    @property
    def is_pickup(self) -> bool:
        return self.delivery_type is DeliveryType.PICKUP

    @property
    def awaits_store(self) -> bool:
        """Accepted from SM for a store not mapped yet: no store sees it, nobody picks it."""
        return self.store_id is None and self.status is OrderStatus.NEW

    def adopt(self, store_id: int, expected_assembly_at: datetime, now: datetime) -> None:
        """Its store was mapped in time: from now on a new order of that store like any."""
        if not self.awaits_store:
            raise AssemblyError("wrong_status", f"order is {self.status} in store {self.store_id}")
        self.store_id = store_id
        self.expected_assembly_at = expected_assembly_at
        self.updated_at = now

    def apply_update(self, data: SmOrder, now: datetime) -> OrderChange:
        """SM changed the order (customer edited the basket, a new window, ...)."""
        status = self.status
        if status in FINAL:
            return OrderChange(Effect.REFUSED, f"order is {status.value}; change not applied")
        if is_behind(OrderStatus.ASSEMBLED, status):
            # Final contents already went to SM: keep the change on record, warn staff.
            self._mark_changed(now)
            return OrderChange(
                Effect.NOT_REGRESSED, "final contents already sent", (Notice.CHANGED_AFTER_READY,)
            )
        self._take_header(data.header)
        if data.lines is not None:
            merge_lines(self.positions, data.lines)
        self.updated_at = now
        if status is OrderStatus.NEW:
            return OrderChange(Effect.APPLIED)
        self._mark_changed(now)
        return OrderChange(Effect.APPLIED, "changed during assembly", (Notice.CHANGED_IN_WORK,))

    def record_payment(
        self, amount: Decimal | None, payment_state: str | None, now: datetime
    ) -> OrderChange:
        if self.paid_at is not None and self.paid_amount == amount:
            return OrderChange(Effect.NO_CHANGE, "payment already recorded")
        self.paid_amount = amount
        self.paid_at = now
        self.header = replace(self.header, payment_state=payment_state or self.header.payment_state)
        self.updated_at = now
        return OrderChange(Effect.APPLIED)

    def record_courier_assigned(self, now: datetime) -> OrderChange:
        if self.courier_assigned_at is not None:
            return OrderChange(Effect.NO_CHANGE, "courier already assigned")
        self.courier_assigned_at = now
        self.updated_at = now
        return OrderChange(Effect.APPLIED)

    def record_courier_arrived(self, now: datetime) -> OrderChange:
        if self.courier_arrived_at is not None:
            return OrderChange(Effect.NO_CHANGE, "courier arrival already recorded")
        self.courier_arrived_at = now
        self.updated_at = now
        return OrderChange(Effect.APPLIED)

    def hand_over(self, now: datetime) -> OrderChange:
        """The courier took the order (order.received / order.delivering); never a pickup
        order's (no courier comes for it)."""
        return self._advance(OrderStatus.HANDED_OVER, now)

    def deliver(self, now: datetime) -> OrderChange:
        return self._advance(OrderStatus.DELIVERED, now)

    def cancel(self, reason: str | None, by: str, now: datetime) -> OrderChange:
        status = self.status
        if status is OrderStatus.CANCELLED:
            return OrderChange(Effect.NO_CHANGE, "already cancelled")
        try:
            check_transition(status, OrderStatus.CANCELLED)
        except TransitionRefused as refused:
            return OrderChange(Effect.REFUSED, str(refused))
        self.status = OrderStatus.CANCELLED
        self.cancelled_at = now
        self.cancel_reason = reason
        self.cancelled_by = by
        self.updated_at = now
        in_work = status is not OrderStatus.NEW
        return OrderChange(Effect.APPLIED, notices=(Notice.CANCELLED_IN_WORK,) if in_work else ())

    # -- the store's work (assembly API) ---------------------------------------------------

    def take(self, picker_id: int, now: datetime) -> OrderChange:
        """A picker takes a new order into assembly («В сборке»)."""
        if take_effect(self.status, self.picker_id, picker_id) is Effect.NO_CHANGE:
            return OrderChange(Effect.NO_CHANGE, "already taken by this picker")
        self.status = OrderStatus.IN_ASSEMBLY
        self.picker_id, self.taken_at, self.updated_at = picker_id, now, now
        return OrderChange(Effect.APPLIED)

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
        require_status(self.status, OrderStatus.IN_ASSEMBLY)
        position = find_line(self.positions, line_no)
        position.pick = next_pick(position, quantity, weight_grams, marking_codes)
        self.updated_at = now
        return position

    def replace(self, line_no: int, substitute: Substitute, now: datetime) -> Position:
        """The picker puts another product in place of a line (SM: ``replacedByID``)."""
        self._require(OrderStatus.IN_ASSEMBLY)
        original = self._position(line_no)
        if original.pick.is_substitute or original.line.replaced_by_sku is not None:
            raise AssemblyError("line_replaced", f"line {line_no} cannot be replaced again")
        weight = substitute_weight(original, substitute)
        if weight is None:  # a piece good: whole pieces only
            require_whole(line_no, substitute.quantity)
        original.line = replace(original.line, replaced_by_sku=substitute.sku)
        # Nothing of the original goes to the customer, so neither do its scanned codes.
        original.pick = original.pick.replaced()
        added = Position(
            line_no=max(position.line_no for position in self.positions) + 1,
            line=SmOrderLine(
                sku=substitute.sku,
                name=substitute.name,
                original_quantity=Decimal(0),
                quantity=substitute.quantity,
                price=substitute.price,
                discount_price=substitute.price,
                weight_grams=weight,
            ),
            pick=PickRecord.substitute(
                line_no, substitute.quantity, weight, substitute.marking_codes
            ),
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

    def give_handout_code(self, code: str, now: datetime) -> bool:
        """An assembled pickup order gets its handout code (once); True when it is new."""
        if not self.is_pickup:
            raise AssemblyError("not_pickup", "not a pickup order: it has no handout code")
        self._require(OrderStatus.ASSEMBLED)
        if self.handout_code is not None:
            return False
        self.handout_code, self.updated_at = code, now
        return True

    def mark_ready(self, now: datetime) -> None:
        """Final contents go to SM; the courier (or, for pickup, the customer) may come."""
        self._require(OrderStatus.ASSEMBLED)
        self._require_all_picked()  # a change while «Собран» may have added a line
        if self.is_pickup and self.handout_code is None:
            # SM wants order.pickup_code_created before ready_for_delivery.
            raise AssemblyError("no_handout_code", "a pickup order needs its handout code first")
        self._move(OrderStatus.ASSEMBLED, OrderStatus.READY)
        self.ready_at, self.updated_at = now, now

    def correct_weight(self, line_no: int, grams: Decimal, now: datetime) -> Position:
        """An operator corrects a weight in final contents SM refused; a resend carries it.

        A line without a weight of its own (a substitute taken without one) becomes weighed.
        """
        if self.status not in (OrderStatus.ASSEMBLED, OrderStatus.READY):
            raise AssemblyError("wrong_status", f"order is {self.status}: no final contents")
        position = self._position(line_no)
        if position.line.replaced_by_sku is not None:
            raise AssemblyError("line_replaced", f"line {line_no} was replaced")
        if not position.is_weighed:
            position.line = replace(position.line, weight_grams=grams)
        position.pick = position.pick.weighed(grams)
        self.updated_at = now
        return position

    def check_handout_code(
        self, entered: str, now: datetime, policy: HandoverPolicy
    ) -> HandoutCheck:
        """Staff entered the customer's code at the counter: the order must be a pickup
        order ready for collection. A wrong code is counted; too many lock the handover."""
        if not self.is_pickup:
            raise AssemblyError("not_pickup", "not a pickup order: SM's courier collects it")
        self._require(OrderStatus.READY)
        guard = HandoutGuard(self.handout_wrong_tries, self.handout_locked_until)
        if guard.is_locked(now):
            return HandoutCheck.LOCKED
        if self.handout_code is not None and same_code(entered, self.handout_code):
            return HandoutCheck.RIGHT
        guard, locked = guard.after_wrong(now, policy)
        self.handout_wrong_tries, self.handout_locked_until = guard.wrong_tries, guard.locked_until
        self.updated_at = now
        return HandoutCheck.LOCKED_NOW if locked else HandoutCheck.WRONG

    def hand_to_customer(self, now: datetime) -> OrderChange:
        """The customer collected the pickup order with the right code: delivered."""
        change = self._advance(OrderStatus.DELIVERED, now)
        if change.effect is Effect.APPLIED:
            self.handout_wrong_tries, self.handout_locked_until = 0, None
        return change

    def cancel_uncollected(self, now: datetime, policy: HandoverPolicy) -> OrderChange:
        """The customer never came: once the storage period after the pickup window is
        over, the store cancels the order with the reason SM gets for it."""
        if not self.is_pickup:
            raise AssemblyError("not_pickup", "not a pickup order: SM's courier collects it")
        if self.status is OrderStatus.CANCELLED:
            return OrderChange(Effect.NO_CHANGE, "already cancelled")
        self._require(OrderStatus.READY)
        window_end = collect_by(self.header.delivery_to, self.ready_at)
        if window_end is not None and now < window_end + policy.storage:
            raise AssemblyError("storage_not_over", f"kept until {window_end + policy.storage}")
        return self.cancel(policy.uncollected_reason, "store", now)

    def cancel_by_store(self, reason: str, now: datetime) -> OrderChange:
        if self.status in (OrderStatus.HANDED_OVER, OrderStatus.DELIVERED):
            raise AssemblyError("wrong_status", f"order is {self.status}; too late to cancel")
        if self.status is OrderStatus.CANCELLED:
            return OrderChange(Effect.NO_CHANGE, "already cancelled")
        return self.cancel(reason, "store", now)

    # -- internals -------------------------------------------------------------------------

    def _advance(self, target: OrderStatus, now: datetime) -> OrderChange:
        status = self.status
        if status is target:
            return OrderChange(Effect.NO_CHANGE, f"already {target.value}")
        if is_behind(target, status):
            return OrderChange(Effect.NOT_REGRESSED, f"order is already {status.value}")
        try:
            check_transition(status, target, pickup=self.is_pickup)
        except TransitionRefused as refused:
            return OrderChange(Effect.REFUSED, str(refused))
        self.status = target
        if target is OrderStatus.HANDED_OVER:
            self.handed_over_at = now
        else:
            self.delivered_at = now
        self.updated_at = now
        return OrderChange(Effect.APPLIED)

    def _require(self, status: OrderStatus) -> None:
        require_status(self.status, status)

    def _move(self, expected: OrderStatus, target: OrderStatus) -> None:
        self._require(expected)
        check_transition(expected, target)
        self.status = target

    def _require_all_picked(self) -> None:
        unpicked = [position.line_no for position in self.positions if not position.pick.is_picked]
        if unpicked:
            raise AssemblyError("not_all_picked", f"lines not picked yet: {unpicked}")

    def _position(self, line_no: int) -> Position:
        return find_line(self.positions, line_no)

    def _mark_changed(self, now: datetime) -> None:
        self.changed_by_customer = True
        self.changed_at = now
        self.updated_at = now

    def _take_header(self, news: SmOrderHeader) -> None:
        self.header = merged_header(self.header, news, paid=self.paid_at is not None)
        self.customer_name = self.header.customer_name
        self.customer_phone = self.header.customer_phone


# -- the store's decisions as pure functions ------------------------------------------------
# The assembly API's hot calls decide on a few columns read without loading the aggregate
# (issue 11); the aggregate's methods above decide through the same functions.


class PickedLine(Protocol):
    """A line as a pick sees it: an order's ``Position``, or the same read as plain values."""

    @property
    def line_no(self) -> int: ...
    @property
    def line(self) -> SmOrderLine: ...
    @property
    def pick(self) -> PickRecord: ...


_Line = TypeVar("_Line", bound=PickedLine)


def require_status(status: OrderStatus, expected: OrderStatus) -> None:
    if status is not expected:
        raise AssemblyError("wrong_status", f"order is {status}, not {expected.value}")


def take_effect(status: OrderStatus, holder: int | None, picker_id: int) -> Effect:
    """What a picker taking the order does: nothing when they have it already; otherwise
    the order must be new, and goes «В сборке» with them."""
    if status is OrderStatus.IN_ASSEMBLY and holder == picker_id:
        return Effect.NO_CHANGE
    require_status(status, OrderStatus.NEW)
    check_transition(OrderStatus.NEW, OrderStatus.IN_ASSEMBLY)
    return Effect.APPLIED


def find_line(positions: Iterable[_Line], line_no: int) -> _Line:
    for position in positions:
        if position.line_no == line_no:
            return position
    raise AssemblyError("unknown_line", f"no line {line_no} in this order", conflict=False)


def next_pick(
    position: PickedLine,
    quantity: Decimal,
    weight_grams: Decimal | None,
    marking_codes: list[str] | None,
) -> PickRecord:
    """The line's record once the picker recorded this pick (the order must be in assembly)."""
    line_no, line = position.line_no, position.line
    if line.replaced_by_sku is not None:
        raise AssemblyError("line_replaced", f"line {line_no} was replaced")
    weighed = line.is_weighed
    if weighed and quantity > 0 and weight_grams is None:
        raise AssemblyError(
            "weight_required", f"line {line_no} is weighed: give its weight", conflict=False
        )
    if not weighed:
        require_whole(line_no, quantity)
        if quantity > line.quantity:
            raise AssemblyError(
                "too_many", f"line {line_no}: ordered {line.quantity}", conflict=False
            )
    return position.pick.picked(quantity, weight_grams, marking_codes)
