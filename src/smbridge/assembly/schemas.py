"""Requests and answers of the assembly API (``POST /sbermarket/orders/api/<method>``).

Every request is ``{"requestId": "...", "requestData": {...}}``; every answer echoes
``requestId`` and carries either ``result`` or ``error`` (machine code + Russian message).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from smbridge.kernel.bounds import (
    DbId,
    LineNo,
    MarkingCodes,
    Name,
    OrderNumber,
    Price,
    Quantity,
    RequestId,
    SmId,
    WeightGrams,
)

Data = TypeVar("Data", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Envelope(_Strict, Generic[Data]):
    # An empty requestId is refused (400): two calls sending "" would share one answer.
    requestId: RequestId | None = None
    requestData: Data


class NoData(_Strict):
    pass


class PickerRef(_Strict):
    pickerId: DbId


class OrderRef(_Strict):
    orderNumber: OrderNumber


class TakeOrder(OrderRef):
    pickerId: DbId


class AssignCollector(OrderRef):
    pickerId: DbId | None = None


class RecordPick(OrderRef):
    lineNo: LineNo
    quantity: Quantity
    weightGrams: WeightGrams | None = None
    markingCodes: MarkingCodes | None = None


class Substitute(_Strict):
    sku: SmId
    name: Annotated[Name, Field(min_length=1)]
    quantity: Quantity
    price: Price
    weightGrams: WeightGrams | None = None
    markingCodes: MarkingCodes | None = None
    weighed: bool | None = Field(
        default=None,
        description="sold by weight (then weightGrams is required); default: as the line replaced",
    )


class ReplacePosition(OrderRef):
    lineNo: LineNo
    substitute: Substitute


class FinishAssembly(OrderRef):
    bags: int = Field(ge=0, le=1000)
    ready: bool = True  # false: stays «собран» until markReady


class HandOutOrder(OrderRef):
    code: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[0-9A-Za-z \-]+$",
        description="the customer's handout code, as typed or scanned (spaces, dashes ignored)",
    )


class CancelOrder(OrderRef):
    reason: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")


# --- answers -------------------------------------------------------------------------------


class ShiftView(BaseModel):
    shiftId: int
    pickerId: int
    openedAt: datetime
    closedAt: datetime | None


class PositionView(BaseModel):
    lineNo: int
    sku: str
    name: str
    originalQuantity: Decimal
    quantity: Decimal
    pickedQuantity: Decimal | None
    weightGrams: Decimal | None
    pickedWeightGrams: Decimal | None
    price: Decimal | None
    discountPrice: Decimal | None
    markingCodes: list[str]
    replacedBySku: str | None
    replacesLineNo: int | None
    source: str


class OrderSummary(BaseModel):
    number: str
    smOrderId: str
    status: str
    statusText: str
    pickerId: int | None
    receivedAt: datetime
    takenAt: datetime | None
    assembledAt: datetime | None
    deadline: datetime
    deliveryFrom: datetime | None
    deliveryTo: datetime | None
    changedByCustomer: bool
    courierArrived: bool
    deliveryType: str = Field(description="courier (SM's courier) or pickup (the customer)")
    deliveryTypeText: str


class OrderCard(OrderSummary):
    comment: str | None
    replacementPolicy: str | None
    bags: int | None
    positions: list[PositionView]


class ActiveOrders(BaseModel):
    orders: list[OrderSummary]


class NotificationView(BaseModel):
    id: int
    type: str
    state: str
    attempts: int
    createdAt: datetime
    deliveredAt: datetime | None
    lastStatus: int | None
    lastError: str | None


class NotificationList(BaseModel):
    notifications: list[NotificationView]


class ErrorDetail(BaseModel):
    loc: str  # the field, dotted: "requestData.quantity"
    msg: str  # what is wrong with it; never the value itself


class ErrorBody(BaseModel):
    code: str
    message: str  # Russian, for the picker
    details: list[ErrorDetail] | None = None  # which fields of a malformed request


class Answer(BaseModel, Generic[Data]):
    requestId: str | None = None
    result: Data | None = None
    error: ErrorBody | None = None
