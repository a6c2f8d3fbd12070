"""SM's webhook body as it arrives (SM-API.md §1), validated and turned into domain data.

Unknown fields are allowed everywhere: SM adds fields without notice and the raw body is
kept in the journal anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from smbridge.domain.order import OrderData, PositionData
from smbridge.domain.webhook import EventType, event_key, normalize_event_type


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False, ge=0)]
# The constraint must sit on the decimal, not the union: on None it would crash pydantic.
Money = Annotated[FiniteDecimal | None, BeforeValidator(_blank_is_none)]


def _iso_text_only(value: object) -> object:
    """SM sends ISO-8601 text; a bare number would be read as Unix time (a phone number
    becomes a date in the year 4504), so numbers are refused."""
    value = _blank_is_none(value)
    if value is not None and not isinstance(value, str | datetime):
        raise ValueError("expected an ISO-8601 date-time string")
    if isinstance(value, str) and value.strip().lstrip("+-").replace(".", "").isdigit():
        raise ValueError("expected an ISO-8601 date-time string, not a number")
    return value


OptionalTime = Annotated[AwareDatetime | None, BeforeValidator(_iso_text_only)]


class _SmModel(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, str_strip_whitespace=True)


class PositionIn(_SmModel):
    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    originalQuantity: Money = None
    quantity: Decimal = Field(ge=0, allow_inf_nan=False)
    price: Money = None
    discountPrice: Money = None
    totalPrice: Money = None
    totalDiscountPrice: Money = None
    weight: Money = None
    replacedByID: str | None = None
    state: str | None = None


class DeliveryIn(_SmModel):
    expectedFrom: OptionalTime = None
    expectedTo: OptionalTime = None
    isPlanned: bool | None = None


class TotalIn(_SmModel):
    totalPrice: Money = None
    discountTotalPrice: Money = None


class CancellationIn(_SmModel):
    slug: str | None = None
    description: str | None = None


class OrderIn(_SmModel):
    originalOrderId: str = Field(min_length=1, max_length=64)
    orderUUID: str | None = None
    storeID: str | None = None
    storeImportKey: str | None = None
    comment: str | None = None
    state: str | None = None
    paymentState: str | None = None
    cancellationReason: str | None = None
    cancellation: CancellationIn | None = None
    customer: dict[str, Any] | None = None
    address: dict[str, Any] | None = None
    delivery: DeliveryIn | None = None
    total: TotalIn | None = None
    paymentMethods: list[str] | None = None
    shipmentMethod: str | None = None
    replacementPolicy: str | None = None
    deliveryCost: Money = None
    completeBefore: OptionalTime = None
    positions: list[PositionIn] | None = None

    def to_domain(self) -> OrderData:
        delivery = self.delivery or DeliveryIn()
        total = self.total or TotalIn()
        reason = self.cancellationReason
        if self.cancellation is not None:
            reason = self.cancellation.slug or self.cancellation.description or reason
        return OrderData(
            sm_order_id=self.originalOrderId,
            sm_store_id=self.storeID,
            sm_import_key=self.storeImportKey,
            sm_uuid=self.orderUUID,
            state=self.state,
            payment_state=self.paymentState,
            comment=self.comment,
            customer=self.customer or {},
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
            cancellation_reason=reason,
            positions=None
            if self.positions is None
            else tuple(_position(p) for p in self.positions),
        )


def _position(p: PositionIn) -> PositionData:
    return PositionData(
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
    event_type: str = Field(min_length=1, max_length=64)
    payload: dict[str, Any]
    timestamp: Any = None


_M = TypeVar("_M", bound=BaseModel)


class BadWebhook(Exception):
    """The body is not a webhook we can accept; nothing is stored."""

    def __init__(self, code: str, message: str, details: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


@dataclass(frozen=True)
class InboundWebhook:
    """A validated webhook: what SM sent, and what it means to us."""

    raw_type: str
    kind: EventType | None  # None: a type we do not know
    key: str
    body: str
    sm_order_id: str | None
    data: OrderData | None


def parse_webhook(body: bytes) -> InboundWebhook:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadWebhook("invalid_json", f"body is not valid JSON: {exc.msg}") from None
    envelope = _validate(EnvelopeIn, document, "")
    kind = normalize_event_type(envelope.event_type)
    key = event_key(envelope.event_type, envelope.payload, envelope.timestamp)
    text = body.decode("utf-8")
    if kind is None:
        # Unknown types are kept whatever they carry (SM adds types); no shape to check.
        sm_order_id = envelope.payload.get("originalOrderId")
        if not isinstance(sm_order_id, str | int) or len(str(sm_order_id)) > 64:
            sm_order_id = None  # nothing to index it by; the body keeps whatever it was
        return InboundWebhook(
            envelope.event_type, None, key, text, str(sm_order_id) if sm_order_id else None, None
        )
    # An order.created without positions or a store is valid too: SM would retry a 400 for
    # ever, so it gets "created" and a number and is then cancelled (orders/acceptance.py).
    order = _validate(OrderIn, envelope.payload, "payload")
    return InboundWebhook(
        envelope.event_type, kind, key, text, order.originalOrderId, order.to_domain()
    )


def _validate(model: type[_M], document: object, prefix: str) -> _M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        # Never echo the input back: it may carry a customer's name, phone or address.
        details = [
            {"loc": ".".join([prefix, *map(str, e["loc"])]).strip("."), "msg": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise BadWebhook("invalid_payload", "webhook does not have SM's shape", details) from None
