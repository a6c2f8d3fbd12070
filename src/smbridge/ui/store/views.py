"""The store workstation (/ui/store): the board of the store's active orders, the order
card with its timeline, the hand-over to another picker, and offline picking (a printed
list scanned back line by line).

Reads of the board and the timeline go through ``queries.StoreBoard``; the order itself and
every change go through the assembly API's use cases (``ui.actions.assembly_call``), scoped
to the signed-in person's store: another store's order is a 404, as in the API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from smbridge.accounts.service import AuditNote
from smbridge.assembly.errors import AssemblyRefused, NotFound
from smbridge.assembly.texts import delivery_type_text, error_text, status_text
from smbridge.domain.pickup import DeliveryType, delivery_type
from smbridge.domain.staff import Role
from smbridge.domain.status import ACTIVE, OrderStatus
from smbridge.kernel.bounds import INT32_MAX
from smbridge.kernel.database.errors import DatabaseUnavailable
from smbridge.ui.actions import assembly_call, refusal
from smbridge.ui.store import barcodes, picklist
from smbridge.ui.store.lateness import standing
from smbridge.ui.store.queries import (
    FAILED_STATES,
    PAGE,
    PAYMENT_TEXT,
    POLICY_TEXT,
    STATE_TEXT,
    BoardFilter,
    BoardRow,
    StoreBoard,
    order_target,
)
from smbridge.ui.web import UI_PREFIX, Staff, UiContext, UiRefused, acting, render, signed_in

STORE_ROLES = (Role.STORE_OPERATOR, Role.STORE_MANAGER)
BASE = f"{UI_PREFIX}/store"
REFRESH_SECONDS = 10

OrderNumberPath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[!-~]+$")]
RequestIdForm = Annotated[str, Form(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
OrderNumberForm = Annotated[str, Form(min_length=1, max_length=32, pattern=r"^[!-~]+$")]
ShortForm = Annotated[str, Form(max_length=32)]
NOTICES = {
    "assigned": "Заказ передан сборщику.",
    "taken": "Заказ взят в сборку.",
    "picked": "Позиция записана.",
    "replaced": "Замена записана.",
    "finished": "Сборка завершена, заказ готов к выдаче.",
    "handed_out": "Заказ выдан покупателю.",
}


def router(ctx: UiContext) -> APIRouter:
    pages = APIRouter(prefix=BASE, include_in_schema=False)

    # --- the board -----------------------------------------------------------------------

    @pages.get("/")
    async def board_page(
        request: Request,
        *,
        status: Annotated[str, Query(max_length=32)] = "",
        picker: Annotated[str, Query(max_length=12)] = "",
        late: Annotated[str, Query(max_length=3)] = "",
        after: Annotated[str, Query(max_length=80)] = "",
        done: Annotated[str, Query(max_length=32)] = "",
        error: Annotated[str, Query(max_length=64)] = "",
        staff: Staff = signed_in(*STORE_ROLES),
    ) -> HTMLResponse:
        filters = _filters(status, picker, late, after)
        query = _filter_query(status, picker, late, after)
        keep = _filter_query(status, picker, late, "")
        data = await run_in_threadpool(_board, ctx, _store(staff), filters, keep)
        data |= {
            "query": query,
            "refresh_seconds": REFRESH_SECONDS,
            "notice": NOTICES.get(done),
            "error": error_text(error) if error else None,
            "filter": {"status": status, "picker": picker, "late": late},
            "statuses": [(s.value, status_text(s.value)) for s in ACTIVE],
        }
        return render(request, "store/board.html", data)

    @pages.get("/board")
    async def board_rows(
        request: Request,
        *,
        status: Annotated[str, Query(max_length=32)] = "",
        picker: Annotated[str, Query(max_length=12)] = "",
        late: Annotated[str, Query(max_length=3)] = "",
        after: Annotated[str, Query(max_length=80)] = "",
        staff: Staff = signed_in(*STORE_ROLES),
    ) -> HTMLResponse:
        """The board's rows alone: what the page polls every few seconds (htmx)."""
        filters = _filters(status, picker, late, after)
        keep = _filter_query(status, picker, late, "")
        data = await run_in_threadpool(_board, ctx, _store(staff), filters, keep)
        return render(request, "store/board_rows.html", data)

    # --- the order card ------------------------------------------------------------------

    @pages.get("/orders/{number}")
    async def card_page(
        request: Request,
        *,
        number: OrderNumberPath,
        done: Annotated[str, Query(max_length=32)] = "",
        error: Annotated[str, Query(max_length=64)] = "",
        staff: Staff = signed_in(*STORE_ROLES),
    ) -> HTMLResponse:
        data = await run_in_threadpool(_card, ctx, staff, number, timeline=True)
        data |= {"notice": NOTICES.get(done), "error": error_text(error) if error else None}
        return render(request, "store/card.html", data)

    @pages.post("/orders/{number}/assign")
    async def assign(
        *,
        number: OrderNumberPath,
        picker_id: Annotated[int, Form(ge=1, le=INT32_MAX)],
        request_id: RequestIdForm,
        back: ShortForm = "card",
        staff: Staff = acting(*STORE_ROLES),
    ) -> Response:
        """Hand the order to another picker on shift (``assignCollector``)."""
        data = {"orderNumber": number, "pickerId": picker_id}
        error = await run_in_threadpool(_change, ctx, staff, "assignCollector", data, request_id)
        target = f"{BASE}/" if back == "board" else _card_url(number)
        return _redirect(target, "assigned", error)

    _counter_routes(pages, ctx)

    # --- offline picking -----------------------------------------------------------------

    @pages.get("/orders/{number}/print")
    async def print_page(
        request: Request, number: OrderNumberPath, staff: Staff = signed_in(*STORE_ROLES)
    ) -> HTMLResponse:
        data = await run_in_threadpool(_card, ctx, staff, number, timeline=False)
        card = data["card"]
        data |= {
            "groups": picklist.groups(card["positions"]),
            "order_barcode": Markup(barcodes.svg(barcodes.code128(number), height=56)),  # noqa: S704
        }
        return render(request, "store/print.html", data)

    @pages.get("/orders/{number}/entry")
    async def entry_page(
        request: Request,
        *,
        number: OrderNumberPath,
        done: Annotated[str, Query(max_length=32)] = "",
        error: Annotated[str, Query(max_length=64)] = "",
        staff: Staff = signed_in(*STORE_ROLES),
    ) -> HTMLResponse:
        data = await run_in_threadpool(_card, ctx, staff, number, timeline=False)
        data |= {"notice": NOTICES.get(done), "error": error_text(error) if error else None}
        return render(request, "store/entry.html", data)

    @pages.post("/orders/{number}/entry/take")
    async def entry_take(
        *,
        number: OrderNumberPath,
        picker_id: Annotated[int, Form(ge=1, le=INT32_MAX)],
        request_id: RequestIdForm,
        staff: Staff = acting(*STORE_ROLES),
    ) -> Response:
        data = {"orderNumber": number, "pickerId": picker_id}
        error = await run_in_threadpool(_change, ctx, staff, "takeOrder", data, request_id)
        return _redirect(_entry_url(number), "taken", error)

    @pages.post("/orders/{number}/entry/pick")
    async def entry_pick(
        *,
        number: OrderNumberPath,
        code: Annotated[str, Form(min_length=1, max_length=64)],
        request_id: RequestIdForm,
        quantity: ShortForm = "",
        weight_grams: ShortForm = "",
        line_no: ShortForm = "",
        staff: Staff = acting(*STORE_ROLES),
    ) -> Response:
        """A line of the printed copy scanned back: its barcode, then what was picked (blank
        quantity: as ordered)."""
        error = await run_in_threadpool(
            lambda: _pick(
                ctx,
                staff=staff,
                number=number,
                code=code,
                quantity=quantity,
                weight_grams=weight_grams,
                line_no=line_no,
                request_id=request_id,
            )
        )
        return _redirect(_entry_url(number), "picked", error)

    @pages.post("/orders/{number}/entry/replace")
    async def entry_replace(
        *,
        number: OrderNumberPath,
        line_no: Annotated[int, Form(ge=1, le=10_000)],
        sku: Annotated[str, Form(min_length=1, max_length=64)],
        name: Annotated[str, Form(min_length=1, max_length=500)],
        quantity: Annotated[str, Form(min_length=1, max_length=32)],
        price: Annotated[str, Form(min_length=1, max_length=32)],
        request_id: RequestIdForm,
        weight_grams: ShortForm = "",
        staff: Staff = acting(*STORE_ROLES),
    ) -> Response:
        substitute: dict[str, Any] = {
            "sku": sku.strip(),
            "name": name.strip(),
            "quantity": picklist.decimal_text(quantity),
            "price": picklist.decimal_text(price),
        }
        weight = picklist.decimal_text(weight_grams)
        if weight is not None:
            substitute["weightGrams"] = weight
        data = {"orderNumber": number, "lineNo": line_no, "substitute": substitute}
        error = await run_in_threadpool(_change, ctx, staff, "replacePosition", data, request_id)
        return _redirect(_entry_url(number), "replaced", error)

    @pages.post("/orders/{number}/entry/finish")
    async def entry_finish(
        *,
        number: OrderNumberPath,
        bags: Annotated[int, Form(ge=0, le=1000)],
        request_id: RequestIdForm,
        staff: Staff = acting(*STORE_ROLES),
    ) -> Response:
        data = {"orderNumber": number, "bags": bags, "ready": True}
        error = await run_in_threadpool(_change, ctx, staff, "finishAssembly", data, request_id)
        return _redirect(_entry_url(number), "finished", error)

    return pages


def _counter_routes(pages: APIRouter, ctx: UiContext) -> None:
    """The pickup counter: staff hand pickup orders out by the customer's code."""

    @pages.get("/counter")
    async def counter_page(
        request: Request,
        *,
        done: Annotated[str, Query(max_length=32)] = "",
        error: Annotated[str, Query(max_length=64)] = "",
        number: Annotated[str, Query(max_length=32)] = "",
        staff: Staff = signed_in(*STORE_ROLES),
    ) -> HTMLResponse:
        """Staff hand pickup orders out: the customer's code typed or scanned."""
        data = await run_in_threadpool(_counter, ctx, staff)
        data |= {
            "notice": NOTICES.get(done),
            "error": error_text(error) if error else None,
            "number": number,
            "new_request_id": _request_id,
        }
        return render(request, "store/counter.html", data)

    @pages.post("/counter")
    async def hand_out(
        *,
        number: OrderNumberForm,
        code: Annotated[str, Form(min_length=1, max_length=32)],
        request_id: RequestIdForm,
        staff: Staff = acting(*STORE_ROLES),
    ) -> Response:
        """``handOutOrder``: the right code hands the order over; a wrong one is counted."""
        data = {"orderNumber": number, "code": code.strip()}
        error = await run_in_threadpool(_change, ctx, staff, "handOutOrder", data, request_id)
        # A refused code keeps the order chosen, for the next try.
        query = {"error": error, "number": number} if error else {"done": "handed_out"}
        return RedirectResponse(f"{BASE}/counter?{urlencode(query)}", status_code=303)


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardItem:
    row: BoardRow
    status_text: str
    lateness: str
    lateness_text: str
    delivery: str
    delivery_text: str


def _board(ctx: UiContext, store_id: int, filters: BoardFilter, keep: str) -> dict[str, Any]:
    """The board's page; ``keep``: the filters' query, kept by the next page's link."""
    now = ctx.clock()
    with ctx.db.unit_of_work(read_only=True) as uow:
        board = uow.repo(StoreBoard)
        rows = board.board(store_id, now, filters, PAGE + 1)
        counts = board.counts(store_id, now)
        pickers = board.pickers(store_id)
        on_shift = board.pickers_on_shift(store_id)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    items = []
    for row in rows:
        line = row.line
        mark = standing(line.expected_assembly_at, line.assembled_at, now)
        delivery = delivery_type(line.shipment_method).value
        items.append(
            BoardItem(
                row,
                status_text(line.status, delivery),
                str(mark.lateness),
                mark.text,
                delivery,
                delivery_type_text(delivery),
            )
        )
    last = rows[-1] if rows else None
    next_href = ""
    if more and last is not None:
        after = urlencode({"after": f"{last.line.expected_assembly_at.isoformat()}_{last.id}"})
        next_href = f"{BASE}/?{keep + '&' if keep else ''}{after}"
    return {
        "items": items,
        "counts": counts,
        "pickers": pickers,
        "on_shift": on_shift,
        "next_href": next_href,
        "new_request_id": _request_id,
        "now": now,
    }


def _counter(ctx: UiContext, staff: Staff) -> dict[str, Any]:
    """The store's pickup orders waiting for their customers, through ``getActiveOrders``."""
    board = _call(ctx, staff, "getActiveOrders", {}, _request_id())
    waiting = [
        {
            **order,
            "deliveryFrom": _moment(order["deliveryFrom"]),
            "deliveryTo": _moment(order["deliveryTo"]),
        }
        for order in board["orders"]
        if order["deliveryType"] == DeliveryType.PICKUP.value
        and order["status"] == OrderStatus.READY.value
    ]
    return {"waiting": waiting}


def _moment(value: datetime | str | None) -> datetime | None:
    """A board time as ``getActiveOrders`` leaves it (a datetime, or its JSON text)."""
    return _when(value) if isinstance(value, str) else value


def _card(ctx: UiContext, staff: Staff, number: str, *, timeline: bool) -> dict[str, Any]:
    """The order through ``getOrder`` (store-scoped: another store's is NotFound), then what
    the card shows beside it."""
    card = _decimals(_call(ctx, staff, "getOrder", {"orderNumber": number}, _request_id()))
    store_id = _store(staff)
    with ctx.db.unit_of_work(read_only=True) as uow:
        board = uow.repo(StoreBoard)
        contact = board.contact(store_id, number)
        if contact is None:  # gone between the two reads
            raise refusal(NotFound("order_not_found"))
        entries = board.timeline(contact) if timeline else []
        on_shift = board.pickers_on_shift(store_id)
    now = ctx.clock()
    deadline = datetime.fromisoformat(card["deadline"])
    assembled = datetime.fromisoformat(card["assembledAt"]) if card["assembledAt"] else None
    mark = standing(deadline, assembled, now)
    return {
        "number": number,
        "card": card,
        "deadline": deadline,
        "delivery_from": _when(card["deliveryFrom"]),
        "delivery_to": _when(card["deliveryTo"]),
        "status_text": status_text(card["status"], card["deliveryType"]),
        "lateness": str(mark.lateness),
        "lateness_text": mark.text,
        "contact": contact,
        "address": _address(contact.address),
        "timeline": entries,
        "state_text": STATE_TEXT,
        "policy_text": POLICY_TEXT.get(card["replacementPolicy"] or "", card["replacementPolicy"]),
        "payment_text": PAYMENT_TEXT.get(contact.payment_state or "", contact.payment_state),
        "failed_states": FAILED_STATES,
        "on_shift": on_shift,
        "new_request_id": _request_id,
        "lines": {int(p["lineNo"]): p for p in card["positions"]},
        "in_assembly": card["status"] == OrderStatus.IN_ASSEMBLY.value,
        "is_new": card["status"] == OrderStatus.NEW.value,
    }


# --- changing --------------------------------------------------------------------------------


def _change(
    ctx: UiContext, staff: Staff, method: str, data: dict[str, Any], request_id: str
) -> str | None:
    """Run a changing method; its refusal's code (shown on the next page), or None. A done
    action is recorded in the audit log under the order (the card's timeline shows who), in
    the call's own transaction: a refused call records nothing, and the same form sent again
    is answered from its requestId and recorded once."""
    try:
        note = _note(ctx, staff, method, data, request_id)
        assembly_call(ctx, staff, method, data, request_id, audit=note)
    except AssemblyRefused as refused:
        return refused.code
    except DatabaseUnavailable:
        return "database_unavailable"
    return None


def _note(
    ctx: UiContext, staff: Staff, method: str, data: dict[str, Any], request_id: str
) -> AuditNote:
    names: dict[int, str] = {}
    if "pickerId" in data and staff.store_id is not None:  # the timeline names the picker
        with ctx.db.unit_of_work(read_only=True) as uow:
            names = {
                picker.id: picker.name for picker in uow.repo(StoreBoard).pickers(staff.store_id)
            }
    return AuditNote(
        user_id=staff.user_id,
        action=f"store.{method}",
        target=order_target(data["orderNumber"]),
        reason=f"{_describe(method, data, names)} (запрос {request_id})",
    )


def _describe(method: str, data: dict[str, Any], names: dict[int, str]) -> str:
    """What a store action did, in Russian, for the order's timeline."""
    if method == "assignCollector":
        return f"передал(а) заказ сборщику {names.get(data['pickerId'], data['pickerId'])}"
    if method == "takeOrder":
        return f"взял(а) заказ в сборку за сборщика {names.get(data['pickerId'], data['pickerId'])}"
    if method == "recordPick":
        weight = f", вес {data['weightGrams']} г" if data.get("weightGrams") else ""
        return f"строка {data['lineNo']}: собрано {data['quantity']}{weight}"
    if method == "replacePosition":
        substitute = data["substitute"]
        return f"строка {data['lineNo']} заменена на {substitute['sku']} «{substitute['name']}»"
    if method == "finishAssembly":
        return f"сборка завершена, пакетов: {data['bags']}"
    if method == "handOutOrder":
        return "заказ самовывоза выдан покупателю по коду"  # never the code itself
    return method


def _pick(
    ctx: UiContext,
    *,
    staff: Staff,
    number: str,
    code: str,
    quantity: str,
    weight_grams: str,
    line_no: str,
    request_id: str,
) -> str | None:
    card = _call(ctx, staff, "getOrder", {"orderNumber": number}, _request_id())
    wanted = int(line_no) if line_no.strip().isdigit() else None
    try:
        line = picklist.find_line(card["positions"], code, wanted)
    except picklist.NoSuchLine:
        return "unknown_line"
    data: dict[str, Any] = {
        "orderNumber": number,
        "lineNo": int(line["lineNo"]),
        "quantity": picklist.decimal_text(quantity) or str(line["quantity"]),
    }
    weight = picklist.decimal_text(weight_grams)
    if weight is not None:
        data["weightGrams"] = weight
    return _change(ctx, staff, "recordPick", data, request_id)


def _call(
    ctx: UiContext, staff: Staff, method: str, data: dict[str, Any], request_id: str
) -> dict[str, Any]:
    try:
        return assembly_call(ctx, staff, method, data, request_id)
    except AssemblyRefused as refused:
        raise refusal(refused) from None
    except DatabaseUnavailable:
        raise UiRefused(503, error_text("database_unavailable")) from None


# --- helpers ---------------------------------------------------------------------------------


def _store(staff: Staff) -> int:
    if staff.store_id is None:  # store roles always have one; never show all stores
        raise UiRefused(403, "Учётная запись не привязана к магазину.")
    return staff.store_id


def _filters(status: str, picker: str, late: str, after: str) -> BoardFilter:
    chosen = OrderStatus(status) if status in {s.value for s in ACTIVE} else None
    picker_id = int(picker) if picker.isdigit() and 1 <= int(picker) <= INT32_MAX else None
    return BoardFilter(chosen, picker_id, late in {"1", "on"}, _after(after))


def _after(after: str) -> tuple[datetime, int] | None:
    if not after:
        return None
    deadline, _, order_id = after.rpartition("_")
    try:
        when = datetime.fromisoformat(deadline)
    except ValueError:
        raise UiRefused(422, "Неверная ссылка на страницу списка.") from None
    if when.tzinfo is None or not order_id.isdigit() or int(order_id) > INT32_MAX:
        raise UiRefused(422, "Неверная ссылка на страницу списка.")
    return when, int(order_id)


def _filter_query(status: str, picker: str, late: str, after: str) -> str:
    values = {"status": status, "picker": picker, "late": late, "after": after}
    return urlencode({key: value for key, value in values.items() if value})


_DECIMAL_FIELDS = (
    "originalQuantity",
    "quantity",
    "pickedQuantity",
    "weightGrams",
    "pickedWeightGrams",
    "price",
    "discountPrice",
)


def _decimals(card: dict[str, Any]) -> dict[str, Any]:
    """The card's positions with their numbers as Decimal (the API gives exact strings)."""
    for position in card["positions"]:
        for name in _DECIMAL_FIELDS:
            if position.get(name) is not None:
                position[name] = Decimal(position[name])
    return card


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _address(address: dict[str, Any]) -> str:
    for key in ("full_address", "fullAddress", "full", "address"):
        value = address.get(key)
        if isinstance(value, str) and value:
            return value
    return ", ".join(str(value) for value in address.values() if isinstance(value, str))


def _request_id() -> str:
    return uuid.uuid4().hex


def _card_url(number: str) -> str:
    return f"{BASE}/orders/{quote(number, safe='')}"


def _entry_url(number: str) -> str:
    return f"{BASE}/orders/{quote(number, safe='')}/entry"


def _redirect(target: str, done: str, error: str | None) -> RedirectResponse:
    query = urlencode({"error": error} if error else {"done": done})
    return RedirectResponse(f"{target}?{query}", status_code=303)
