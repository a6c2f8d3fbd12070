"""Requests and answers of the assembly API (``POST /sbermarket/orders/api/<method>``).

Every request is ``{"requestId": "...", "requestData": {...}}``; every answer echoes
``requestId`` and carries either ``result`` or ``error`` (machine code + Russian message).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

Data = TypeVar("Data", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Envelope(_Strict, Generic[Data]):
    requestId: str | None = Field(default=None, max_length=128)
    requestData: Data


class NoData(_Strict):
    pass


class PickerRef(_Strict):
    pickerId: int = Field(gt=0)


class OrderRef(_Strict):
    orderNumber: str = Field(min_length=1, max_length=32)


class TakeOrder(OrderRef):
    pickerId: int = Field(gt=0)


class AssignCollector(OrderRef):
    pickerId: int | None = Field(default=None, gt=0)


class RecordPick(OrderRef):
    lineNo: int = Field(gt=0)
    quantity: Decimal = Field(ge=0, le=10_000, allow_inf_nan=False)
    weightGrams: Decimal | None = Field(default=None, ge=0, le=1_000_000, allow_inf_nan=False)
    markingCodes: list[str] | None = Field(default=None, max_length=1000)


class Substitute(_Strict):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=500)
    quantity: Decimal = Field(ge=0, le=10_000, allow_inf_nan=False)
    price: Decimal = Field(ge=0, allow_inf_nan=False)
    weightGrams: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    markingCodes: list[str] | None = Field(default=None, max_length=1000)
    weighed: bool | None = Field(
        default=None,
        description="sold by weight (then weightGrams is required); default: as the line replaced",
    )


class ReplacePosition(OrderRef):
    lineNo: int = Field(gt=0)
    substitute: Substitute


class FinishAssembly(OrderRef):
    bags: int = Field(ge=0, le=1000)
    ready: bool = True  # false: stays «собран» until markReady


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


class ErrorBody(BaseModel):
    code: str
    message: str


class Answer(BaseModel, Generic[Data]):
    requestId: str | None = None
    result: Data | None = None
    error: ErrorBody | None = None
