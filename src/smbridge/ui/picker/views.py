"""The picker's app: a phone or data terminal with a built-in scanner (keyboard wedge).

Pages are rendered here; every action is a POST answered with JSON ``{ok, message, ...}``
that picker.js sends from its outbox, retrying with the same requestId until it is
answered. Every change goes through ``ui.actions.assembly_call``: the assembly API's use
cases, store scoping, idempotency and notifications to SM, never a second path.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from smbridge.assembly.errors import AssemblyRefused, Conflict, Forbidden, InvalidRequest, NotFound
from smbridge.assembly.repository import PickerRepository
from smbridge.assembly.texts import error_text, status_text
from smbridge.domain.scan import PickAction, ScanError, ScanLine, match_scan, pick_path
from smbridge.domain.staff import Role
from smbridge.kernel.database.errors import DatabaseUnavailable
from smbridge.ui.actions import assembly_call
from smbridge.ui.picker.queries import SubstituteSearch
from smbridge.ui.signin import login_form
from smbridge.ui.web import Staff, UiContext, UiRefused, acting, render, signed_in

PREFIX = "/ui/picker"
_REQUEST_ID = re.compile(r"^[!-~]{1,128}$")
_NUMBER = re.compile(r"^[^\x00-\x1f\x7f-\x9f]{1,32}$")
MAX_BAGS = 1000
MAX_KG = Decimal(1000)
GRAMS_PER_KG = Decimal(1000)
_ACTIVE = ("new", "in_assembly", "assembled")

_HTTP_STATUS: dict[type[AssemblyRefused], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidRequest: 422,
    Forbidden: 403,
}

# Form fields, each bounded (kernel/bounds.py's limits, as text before parsing).
RequestIdField = Annotated[str, Form(min_length=1, max_length=128)]
ScanField = Annotated[str, Form(min_length=1, max_length=300)]
NumberText = Annotated[str, Form(max_length=20)]
SkuField = Annotated[str, Form(min_length=1, max_length=64)]
NameField = Annotated[str, Form(min_length=1, max_length=500)]


class Refusal(Exception):
    """An action refused: the JSON answer picker.js shows (and beeps about)."""

    def __init__(self, status: int, message_ru: str) -> None:
        super().__init__(message_ru)
        self.status = status
        self.message_ru = message_ru


def router(ctx: UiContext) -> APIRouter:
    api = APIRouter(prefix=PREFIX, include_in_schema=False)
    _pages(api, ctx)
    _actions(api, ctx)
    _replacing(api, ctx)
    _finishing(api, ctx)
    return api


def _pages(api: APIRouter, ctx: UiContext) -> None:
    """Sign-in, the shift and the store's orders."""
    picker_only = signed_in(Role.PICKER)

    @api.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> Response:
        return login_form(request, "picker/login.html", next_path=PREFIX)

    @api.get("", response_class=HTMLResponse)
    def home(request: Request, staff: Staff = picker_only) -> Response:
        picker_id = _picker_id(staff)
        name, shift_open = _picker_state(ctx, picker_id)
        orders = _read(ctx, staff, "getActiveOrders", {})["orders"] if shift_open else []
        mine = [
            order
            for order in orders
            if order["status"] == "new"
            or (order["status"] in _ACTIVE and order["pickerId"] == picker_id)
        ]
        mine.sort(key=lambda order: (order["deadline"], order["number"]))
        return render(
            request,
            "picker/home.html",
            {
                "picker_name": name,
                "shift_open": shift_open,
                "orders": [_order_row(order, picker_id) for order in mine],
            },
        )


def _actions(api: APIRouter, ctx: UiContext) -> None:
    """The pick screen and what is done on it."""
    picker_only = signed_in(Role.PICKER)
    picker_acts = acting(Role.PICKER)

    @api.post("/shift")
    def shift(
        action: Annotated[str, Form(pattern="^(open|close)$")],
        request_id: RequestIdField,
        staff: Staff = picker_acts,
    ) -> Response:
        method = "openShift" if action == "open" else "closeShift"
        message = "Смена открыта" if action == "open" else "Смена закрыта"

        def run() -> dict[str, Any]:
            _call(ctx, staff, method, {"pickerId": _picker_id(staff)}, request_id)
            return {"message": message, "redirect": PREFIX}

        return _answer(run)

    @api.post("/orders/{number}/take")
    def take(number: str, request_id: RequestIdField, staff: Staff = picker_acts) -> Response:
        def run() -> dict[str, Any]:
            data = {"orderNumber": _number(number), "pickerId": _picker_id(staff)}
            _call(ctx, staff, "takeOrder", data, request_id)
            return {"message": f"Заказ {number} взят в сборку", "redirect": _order_url(number)}

        return _answer(run)

    @api.get("/orders/{number}", response_class=HTMLResponse)
    def order_page(request: Request, number: str, staff: Staff = picker_only) -> Response:
        card = _read(ctx, staff, "getOrder", {"orderNumber": _page_number(number)})
        if card["pickerId"] not in (None, _picker_id(staff)):
            raise UiRefused(409, error_text("taken_by_other"))
        return render(request, "picker/order.html", _order_context(card))

    @api.post("/orders/{number}/scan")
    def scan(
        number: str, code: ScanField, request_id: RequestIdField, staff: Staff = picker_acts
    ) -> Response:
        def run() -> dict[str, Any]:
            order_number = _number(number)
            card = _call(ctx, staff, "getOrder", {"orderNumber": order_number}, _fresh_id())
            try:
                action = match_scan(_scan_lines(card), code)
            except ScanError as refused:
                raise Refusal(422, refused.message_ru) from None
            if action.needs_weight:
                return {
                    "message": "Весовой товар: введите вес или сканируйте весовую этикетку",
                    "needsWeight": action.line_no,
                    "sound": "warn",
                }
            data = _pick_data(order_number, action)
            try:
                _call(ctx, staff, "recordPick", data, request_id)
            except InvalidRequest as refused:
                if refused.code != "request_id_reused":
                    raise
                # This scan was recorded by an earlier attempt whose answer was lost: the
                # line has moved on since, so the same scan now asks for another value.
                return {"message": "Скан уже учтён"}
            return {"message": _scan_message(card, action)}

        return _answer(run)

    @api.post("/orders/{number}/lines/{line_no}")
    def record(
        number: str,
        line_no: int,
        *,
        request_id: RequestIdField,
        quantity: Annotated[str, Form(max_length=20)] = "",
        weight_kg: Annotated[str, Form(max_length=20)] = "",
        staff: Staff = picker_acts,
    ) -> Response:
        def run() -> dict[str, Any]:
            data: dict[str, Any] = {"orderNumber": _number(number), "lineNo": line_no}
            data["quantity"] = str(_decimal(quantity, "Количество", Decimal(10_000)))
            grams = _grams(weight_kg)
            if grams is not None:
                data["weightGrams"] = str(grams)
            _call(ctx, staff, "recordPick", data, request_id)
            shortage = data["quantity"] == "0"
            return {"message": "Отмечено: нет в наличии" if shortage else "Сохранено"}

        return _answer(run)


def _replacing(api: APIRouter, ctx: UiContext) -> None:
    """A substitute for a line: searched, then put in its place."""
    picker_only = signed_in(Role.PICKER)
    picker_acts = acting(Role.PICKER)

    @api.get("/substitutes")
    def substitutes(
        q: Annotated[str, Query(max_length=100)] = "", staff: Staff = picker_only
    ) -> Response:
        """Search-as-you-type for the replacement form (products of the store's orders)."""
        if staff.store_id is None:
            raise UiRefused(403, "Учётная запись не привязана к магазину")
        with ctx.db.unit_of_work(read_only=True) as uow:
            found = uow.repo(SubstituteSearch).products(staff.store_id, q)
        return JSONResponse(
            {
                "products": [
                    {
                        "sku": product.sku,
                        "name": product.name,
                        "price": None if product.price is None else str(product.price),
                        "weighed": product.weighed,
                    }
                    for product in found
                ]
            }
        )

    @api.post("/orders/{number}/lines/{line_no}/replace")
    def replace(
        number: str,
        line_no: int,
        *,
        request_id: RequestIdField,
        sku: SkuField,
        name: NameField,
        quantity: NumberText,
        price: NumberText,
        weight_kg: NumberText = "",
        staff: Staff = picker_acts,
    ) -> Response:
        def run() -> dict[str, Any]:
            substitute: dict[str, Any] = {
                "sku": sku.strip(),
                "name": name.strip(),
                "quantity": str(_decimal(quantity, "Количество", Decimal(10_000))),
                "price": str(_decimal(price, "Цена", Decimal(1_000_000))),
            }
            grams = _grams(weight_kg)
            if grams is not None:
                substitute["weightGrams"] = str(grams)
                substitute["weighed"] = True
            data = {"orderNumber": _number(number), "lineNo": line_no, "substitute": substitute}
            _call(ctx, staff, "replacePosition", data, request_id)
            return {"message": f"Позиция {line_no} заменена"}

        return _answer(run)


def _finishing(api: APIRouter, ctx: UiContext) -> None:
    """The order assembled, then ready for the courier."""
    picker_acts = acting(Role.PICKER)

    @api.post("/orders/{number}/finish")
    def finish(
        number: str, bags: NumberText, request_id: RequestIdField, staff: Staff = picker_acts
    ) -> Response:
        def run() -> dict[str, Any]:
            count = _decimal(bags, "Число пакетов", Decimal(MAX_BAGS))
            if count != count.to_integral_value():
                raise Refusal(422, "Число пакетов — целое число")
            data = {"orderNumber": _number(number), "bags": int(count), "ready": False}
            _call(ctx, staff, "finishAssembly", data, request_id)
            return {"message": "Сборка завершена"}

        return _answer(run)

    @api.post("/orders/{number}/ready")
    def ready(number: str, request_id: RequestIdField, staff: Staff = picker_acts) -> Response:
        def run() -> dict[str, Any]:
            _call(ctx, staff, "markReady", {"orderNumber": _number(number)}, request_id)
            return {"message": f"Заказ {number} готов к выдаче", "redirect": PREFIX}

        return _answer(run)


# --- reading -----------------------------------------------------------------------------------


def _picker_id(staff: Staff) -> int:
    if staff.picker_id is None:
        raise UiRefused(403, "Учётная запись не привязана к сборщику")
    return staff.picker_id


def _picker_state(ctx: UiContext, picker_id: int) -> tuple[str, bool]:
    """The picker's name and whether their shift is open (no API method says so)."""
    with ctx.db.unit_of_work(read_only=True) as uow:
        pickers = uow.repo(PickerRepository)
        picker = pickers.get(picker_id)
        return (picker.name if picker else "", pickers.open_shift(picker_id) is not None)


def _read(ctx: UiContext, staff: Staff, method: str, data: dict[str, Any]) -> dict[str, Any]:
    """A reading call for a page: a refusal becomes the error page."""
    try:
        return _call(ctx, staff, method, data, _fresh_id())
    except Refusal as refused:
        raise UiRefused(refused.status, refused.message_ru) from None


def _order_row(order: dict[str, Any], picker_id: int) -> dict[str, Any]:
    return {
        "number": order["number"],
        "status": order["status"],
        "status_text": order["statusText"],
        "delivery_text": order["deliveryTypeText"],
        "deadline": _when(order["deadline"]),
        "mine": order["pickerId"] == picker_id,
        "changed": order["changedByCustomer"],
        "courier": order["courierArrived"],
    }


def _scan_lines(card: dict[str, Any]) -> list[ScanLine]:
    return [
        ScanLine(
            line_no=position["lineNo"],
            sku=position["sku"],
            name=position["name"],
            quantity=Decimal(position["quantity"]),
            weighed=position["weightGrams"] is not None,
            picked_quantity=_maybe(position["pickedQuantity"]),
            picked_weight_grams=_maybe(position["pickedWeightGrams"]),
            marking_codes=tuple(position["markingCodes"]),
            closed=position["replacedBySku"] is not None,
        )
        for position in card["positions"]
    ]


def _order_context(card: dict[str, Any]) -> dict[str, Any]:
    by_line = {position["lineNo"]: position for position in card["positions"]}
    lines = []
    for line in pick_path(_scan_lines(card)):
        position = by_line[line.line_no]
        lines.append(
            {
                "no": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "weighed": line.weighed,
                "ordered_kg": _kg(_maybe(position["weightGrams"])),
                "picked": line.picked_quantity,
                "picked_kg": _kg(line.picked_weight_grams),
                "codes": len(line.marking_codes),
                "done": line.fully_picked,
                "replaced": line.closed,
                "substitute": position["replacesLineNo"] is not None,
                "replaced_by": position["replacedBySku"],
            }
        )
    status = card["status"]
    return {
        "order": card,
        "deadline": _when(card["deadline"]),
        "status_text": status_text(status, card["deliveryType"]),
        "lines": lines,
        "open_lines": sum(1 for line in lines if not line["done"]),
        "picking": status == "in_assembly",
        "assembled": status == "assembled",
    }


def _scan_message(card: dict[str, Any], action: PickAction) -> str:
    name = next(p["name"] for p in card["positions"] if p["lineNo"] == action.line_no)
    if action.weight_grams is not None:
        return f"{name}: {_kg(action.weight_grams)} кг"
    return f"{name}: {_plain(action.quantity)} шт."


def _pick_data(number: str, action: PickAction) -> dict[str, Any]:
    data: dict[str, Any] = {
        "orderNumber": number,
        "lineNo": action.line_no,
        "quantity": str(action.quantity),
    }
    if action.weight_grams is not None:
        data["weightGrams"] = str(action.weight_grams)
    if action.marking_codes is not None:
        data["markingCodes"] = list(action.marking_codes)
    return data


# --- calling the use cases ---------------------------------------------------------------------


def _call(
    ctx: UiContext, staff: Staff, method: str, data: dict[str, Any], request_id: str
) -> dict[str, Any]:
    if not _REQUEST_ID.match(request_id):
        raise Refusal(422, "Некорректный идентификатор запроса")
    try:
        return assembly_call(ctx, staff, method, data, request_id)
    except InvalidRequest as refused:
        if refused.code == "request_id_reused":
            raise
        raise Refusal(422, error_text(refused.code)) from None
    except AssemblyRefused as refused:
        raise Refusal(_HTTP_STATUS.get(type(refused), 409), error_text(refused.code)) from None
    except ValidationError:
        raise Refusal(422, error_text("invalid_data")) from None
    except DatabaseUnavailable:
        raise Refusal(503, error_text("database_unavailable")) from None


def _answer(run: Callable[[], dict[str, Any]]) -> JSONResponse:
    """The JSON answer of an action: ``ok`` with a message, or the refusal's message."""
    try:
        body = run()
    except Refusal as refused:
        return JSONResponse(
            {"ok": False, "message": refused.message_ru}, status_code=refused.status
        )
    except InvalidRequest as refused:  # request_id_reused outside a scan
        return JSONResponse({"ok": False, "message": error_text(refused.code)}, status_code=422)
    return JSONResponse({"ok": True, **body})


def _fresh_id() -> str:
    return f"read-{uuid.uuid4()}"


def _number(number: str) -> str:
    if not _NUMBER.match(number):
        raise Refusal(404, error_text("order_not_found"))
    return number


def _page_number(number: str) -> str:
    if not _NUMBER.match(number):
        raise UiRefused(404, error_text("order_not_found"))
    return number


def _decimal(text: str, what: str, maximum: Decimal) -> Decimal:
    cleaned = text.strip().replace(",", ".").replace(" ", "")
    if not re.fullmatch(r"[0-9]{1,7}(\.[0-9]{1,3})?", cleaned):
        raise Refusal(422, f"{what}: введите число")
    value = Decimal(cleaned)
    if value > maximum:
        raise Refusal(422, f"{what}: не больше {maximum}")
    return value


def _grams(weight_kg: str) -> Decimal | None:
    """A typed weight in kilograms ("1,31") as grams; empty: no weight given."""
    if not weight_kg.strip():
        return None
    grams = _decimal(weight_kg, "Вес", MAX_KG) * GRAMS_PER_KG
    return Decimal(f"{grams.normalize():f}")


def _maybe(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the card's decimals are written by us
        return None


def _kg(grams: Decimal | None) -> str | None:
    if grams is None:
        return None
    return _plain(grams / GRAMS_PER_KG).replace(".", ",")


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _when(value: datetime | str) -> datetime:
    """A time of an answer: reading methods may leave them aware datetimes, changing ones
    write them as ISO 8601 text."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _order_url(number: str) -> str:
    return f"{PREFIX}/orders/{number}"
