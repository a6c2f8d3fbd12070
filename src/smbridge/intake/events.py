"""SM's event (SM-API.md §1): its shape, and reading it from its body as it arrives at
the hook or as the journal kept it.

The one place that knows how SM's event reads: the hook's view parses what arrives, and the
replay of a failed event (failures.py) parses the body the journal stored, both here. The
models check SM's shape field by field and turn the order into domain data (SmOrder).

Unknown fields are allowed everywhere: SM adds fields without notice and the raw body is
kept in the journal anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from smbridge.domain.sm_order import SmOrder, SmOrderHeader, SmOrderLine
from smbridge.domain.webhook import EventType, event_key, normalize_event_type
from smbridge.kernel.bounds import (
    FreeText,
    Label,
    Name,
    Quantity,
    SaneTime,
    SmId,
    SmMoney,
    WeightGrams,
    surely_fit,
    unfit_texts,
)

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
    data: SmOrder | None


def parse_webhook(body: bytes) -> InboundWebhook:
    """Read a webhook's body; raises ``BadWebhook`` when it is not one we can accept."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadWebhook("invalid_json", f"body is not valid JSON: {exc.msg}") from None
    _require_fit_texts(body, document)
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
    # ever, so it gets "created" and a number and is then cancelled (intake/acceptance.py).
    order = _validate(OrderIn, envelope.payload, "payload")
    return InboundWebhook(
        envelope.event_type, kind, key, text, order.originalOrderId, order.to_domain()
    )


def _require_fit_texts(body: bytes, document: object) -> None:
    """No NUL can be stored, and the event key cannot hash what nests too deep."""
    if surely_fit(body, document):
        return  # the common case, checked on the bytes; the walk below names each problem
    problems = [{"loc": loc, "msg": why} for loc, why in unfit_texts(document)]
    if problems:
        raise BadWebhook("invalid_payload", "webhook does not have SM's shape", problems[:20])


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


# -- SM's shape, field by field ----------------------------------------------------------


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
            lines=None if self.positions is None else tuple(map(_line, self.positions)),
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


def _line(position: PositionIn) -> SmOrderLine:
    original = position.originalQuantity  # left out: the line is as first ordered
    return SmOrderLine(
        sku=position.id,
        name=position.name,
        quantity=position.quantity,
        original_quantity=position.quantity if original is None else original,
        price=position.price,
        discount_price=position.discountPrice,
        total_price=position.totalPrice,
        total_discount_price=position.totalDiscountPrice,
        weight_grams=position.weight,
        replaced_by_sku=position.replacedByID or None,
        state=position.state,
    )


class EnvelopeIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    event_type: SmId
    payload: dict[str, Any]
    timestamp: Any = None
