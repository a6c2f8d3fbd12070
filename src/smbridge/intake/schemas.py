"""SM's webhook body as it arrives (SM-API.md §1), validated and turned into domain data,
and the hook's body and answer as the OpenAPI document shows them.

events.py reads a whole event (as it arrives or as the journal keeps it) with these models.

Unknown fields are allowed everywhere: SM adds fields without notice and the raw body is
kept in the journal anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)

from smbridge.domain.sm_order import SmOrder, SmOrderHeader, SmOrderLine
from smbridge.kernel.bounds import (
    FreeText,
    Label,
    Name,
    Quantity,
    SaneTime,
    SmId,
    SmMoney,
    WeightGrams,
)


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


# The constraints must sit on the inner type, not the union: on None they would crash pydantic.
Money = Annotated[SmMoney | None, BeforeValidator(_blank_is_none)]
OptionalQuantity = Annotated[Quantity | None, BeforeValidator(_blank_is_none)]
OptionalWeight = Annotated[WeightGrams | None, BeforeValidator(_blank_is_none)]
OptionalId = Annotated[SmId | None, BeforeValidator(_blank_is_none)]


def _iso_text_only(value: object) -> object:
    """SM sends ISO-8601 text; a bare number would be read as Unix time (a phone number
    becomes a date in the year 4504), so numbers are refused."""
    value = _blank_is_none(value)
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("expected an ISO-8601 date-time string")
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "").isdigit():
        raise ValueError("expected an ISO-8601 date-time string, not a number")
    return value


OptionalTime = Annotated[SaneTime | None, BeforeValidator(_iso_text_only)]


class _SmModel(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, str_strip_whitespace=True)


class PositionIn(_SmModel):
    id: SmId
    name: Name = ""
    originalQuantity: OptionalQuantity = None
    quantity: Quantity
    price: Money = None
    discountPrice: Money = None
    totalPrice: Money = None
    totalDiscountPrice: Money = None
    weight: OptionalWeight = None
    replacedByID: OptionalId = None
    state: Label | None = None


class DeliveryIn(_SmModel):
    expectedFrom: OptionalTime = None
    expectedTo: OptionalTime = None
    isPlanned: bool | None = None


class TotalIn(_SmModel):
    totalPrice: Money = None
    discountTotalPrice: Money = None


class CancellationIn(_SmModel):
    slug: Label | None = None
    description: FreeText | None = None


class CustomerIn(_SmModel):
    """The fields that reach columns are bounded; the rest is kept as SM sent it."""

    name: Name | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    inn: Annotated[str, Field(max_length=20)] | None = None  # sales documents: String(20)


class OrderIn(_SmModel):
    originalOrderId: SmId
    orderUUID: OptionalId = None
    storeID: OptionalId = None
    storeImportKey: OptionalId = None
    comment: FreeText | None = None
    state: Label | None = None
    paymentState: Label | None = None
    cancellationReason: FreeText | None = None
    cancellation: CancellationIn | None = None
    customer: CustomerIn | None = None
    address: dict[str, Any] | None = None
    delivery: DeliveryIn | None = None
    total: TotalIn | None = None
    paymentMethods: Annotated[list[Label], Field(max_length=20)] | None = None
    shipmentMethod: Label | None = None
    replacementPolicy: Label | None = None
    deliveryCost: Money = None
    completeBefore: OptionalTime = None
    positions: Annotated[list[PositionIn], Field(max_length=1000)] | None = None

    def to_domain(self) -> SmOrder:
        reason = self.cancellationReason
        if self.cancellation is not None:
            reason = self.cancellation.slug or self.cancellation.description or reason
        return SmOrder(
            sm_order_id=self.originalOrderId,
            header=self._header(),
            sm_store_id=self.storeID,
            sm_import_key=self.storeImportKey,
            cancellation_reason=reason,
            lines=None if self.positions is None else tuple(_line(p) for p in self.positions),
        )

    def _header(self) -> SmOrderHeader:
        delivery = self.delivery or DeliveryIn()
        total = self.total or TotalIn()
        return SmOrderHeader(
            sm_uuid=self.orderUUID,
            sm_state=self.state,
            payment_state=self.paymentState,
            comment=self.comment,
            customer=_as_sent(self.customer),
            address=self.address or {},
            delivery_from=delivery.expectedFrom,
            delivery_to=delivery.expectedTo,
            is_planned=delivery.isPlanned,
            total_price=total.totalPrice,
            discount_total_price=total.discountTotalPrice,
            delivery_cost=self.deliveryCost,
            payment_methods=None if self.paymentMethods is None else tuple(self.paymentMethods),
            shipment_method=self.shipmentMethod,
            replacement_policy=self.replacementPolicy,
            complete_before=self.completeBefore,
        )


def _as_sent(model: BaseModel | None) -> dict[str, Any]:
    return {} if model is None else model.model_dump(exclude_unset=True)


def _line(p: PositionIn) -> SmOrderLine:
    return SmOrderLine(
        sku=p.id,
        name=p.name,
        quantity=p.quantity,
        original_quantity=p.originalQuantity if p.originalQuantity is not None else p.quantity,
        price=p.price,
        discount_price=p.discountPrice,
        total_price=p.totalPrice,
        total_discount_price=p.totalDiscountPrice,
        weight_grams=p.weight,
        replaced_by_sku=p.replacedByID or None,
        state=p.state,
    )


class EnvelopeIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    event_type: SmId
    payload: dict[str, Any]
    timestamp: Any = None


class WebhookIn(BaseModel):
    """The webhook as the OpenAPI document shows it. events.parse_webhook checks the same
    rules in two steps (an unknown event type is stored whatever its payload)."""

    model_config = ConfigDict(extra="allow")
    event_type: SmId
    payload: OrderIn
    timestamp: Any = None


class HookAnswer(BaseModel):
    status: str  # "created" (order.created), "ok" (applied), "accepted" (kept for later)
    number: str | None = None  # order.created: our order number
    expectedAssemblyTime: datetime | None = None  # order.created


def webhook_body_schema() -> dict[str, Any]:
    """The request body of the hook for OpenAPI, self-contained (the view reads raw bytes)."""
    schema = WebhookIn.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(definitions[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    body: dict[str, Any] = inline(schema)
    return {"required": True, "content": {"application/json": {"schema": body}}}
