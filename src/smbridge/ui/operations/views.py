"""The operations and admin pages. Views only assemble: every read and change is a use case of
its feature (notifications.dead_letters, intake.replays, orders.override, intake.stores,
assembly.staffing, monitoring.controls, scheduler.runs), and every change is audited there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from smbridge.assembly.staffing import (
    StaffPages,
    add_picker,
    deactivate_picker,
    issue_token,
    pickers_of,
    revoke_token,
    set_chat,
)
from smbridge.domain.admin import AdminRefused
from smbridge.domain.notification import DeliveryState
from smbridge.domain.staff import Role
from smbridge.domain.status import OrderStatus
from smbridge.domain.webhook import JournalStatus
from smbridge.intake.replays import JournalPages, journal_entry, replay
from smbridge.intake.stores import StoreForm, save_store, stores
from smbridge.kernel.bounds import INT32_MAX
from smbridge.monitoring.controls import (
    RULE_NAMES,
    THRESHOLDS,
    MonitoringControls,
    mute_rule,
    set_threshold,
    unmute,
)
from smbridge.notifications.dead_letters import (
    DeadLetters,
    correct_and_resend,
    dead_letter,
    resend_rebuilt,
)
from smbridge.orders.override import force_order_status
from smbridge.scheduler.runs import JobRuns
from smbridge.ui.operations.settings import OperationsSettings
from smbridge.ui.web import Staff, UiContext, UiRefused, acting, render, signed_in

PREFIX = "/ui/ops"
OFFICE = (Role.OPERATIONS, Role.ADMIN)
PAGE = 50

#: Our statuses as the staff call them.
STATUS_RU: dict[str, str] = {
    OrderStatus.NEW: "Новый",
    OrderStatus.IN_ASSEMBLY: "В сборке",
    OrderStatus.ASSEMBLED: "Собран",
    OrderStatus.READY: "Готов к выдаче",
    OrderStatus.HANDED_OVER: "Передан курьеру",
    OrderStatus.DELIVERED: "Доставлен",
    OrderStatus.CANCELLED: "Отменён",
}

Cursor = Annotated[int | None, Query(ge=1, le=INT32_MAX)]
Reason = Annotated[str, Form(max_length=1000)]
T = TypeVar("T")


def router(ctx: UiContext) -> APIRouter:  # noqa: PLR0915 - one route per page and action
    api = APIRouter(prefix=PREFIX, include_in_schema=False)
    sections = OperationsSettings.from_environment()
    office = signed_in(*OFFICE)
    office_acting = acting(*OFFICE)

    def see(path: str) -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}{path}", status_code=303)

    # -- overview ------------------------------------------------------------------------------

    @api.get("/", response_class=HTMLResponse)
    def overview(request: Request, staff: Staff = office) -> Response:
        return render(request, "operations/index.html", {})

    # -- dead letters --------------------------------------------------------------------------

    @api.get("/dead-letters", response_class=HTMLResponse)
    def dead_letters(request: Request, after: Cursor = None, staff: Staff = office) -> Response:
        with ctx.db.unit_of_work(read_only=True) as uow:
            rows = uow.repo(DeadLetters).page(DeliveryState.DEAD, after, PAGE)
        return render(request, "operations/dead_letters.html", _paged(rows))

    @api.get("/dead-letters/{letter_id}", response_class=HTMLResponse)
    def dead_letter_page(
        request: Request, letter_id: int, staff: Staff = office, done: int = 0
    ) -> Response:
        letter = _refusing(lambda: dead_letter(ctx.db, _db_id(letter_id)))
        payload = orjson.dumps(letter.payload, option=orjson.OPT_INDENT_2).decode()
        return render(
            request,
            "operations/dead_letter.html",
            {"letter": letter, "payload": payload, "done": done},
        )

    @api.post("/dead-letters/{letter_id}/correct")
    def correct(
        letter_id: int,
        payload: Annotated[str, Form(max_length=300_000)],
        reason: Reason = "",
        staff: Staff = office_acting,
    ) -> Response:
        _refusing(
            lambda: correct_and_resend(
                ctx.db,
                _db_id(letter_id),
                payload,
                user_id=staff.user_id,
                reason=reason,
                now=ctx.clock(),
            )
        )
        return see(f"/dead-letters/{letter_id}?done=1")

    @api.post("/dead-letters/{letter_id}/resend")
    def resend(letter_id: int, reason: Reason = "", staff: Staff = office_acting) -> Response:
        _refusing(
            lambda: resend_rebuilt(
                ctx.db, _db_id(letter_id), user_id=staff.user_id, reason=reason, now=ctx.clock()
            )
        )
        return see(f"/dead-letters/{letter_id}?done=1")

    # -- webhooks ------------------------------------------------------------------------------

    @api.get("/webhooks", response_class=HTMLResponse)
    def webhooks(
        request: Request,
        status: JournalStatus = JournalStatus.FAILED,
        after: Cursor = None,
        staff: Staff = office,
    ) -> Response:
        if status not in (JournalStatus.FAILED, JournalStatus.PARKED):
            raise UiRefused(422, "Показываются только не применённые и отложенные события.")
        with ctx.db.unit_of_work(read_only=True) as uow:
            rows = uow.repo(JournalPages).page(status, after, PAGE)
        return render(request, "operations/webhooks.html", {**_paged(rows), "status": status.value})

    @api.get("/webhooks/{entry_id}", response_class=HTMLResponse)
    def webhook_page(request: Request, entry_id: int, staff: Staff = office) -> Response:
        entry = _refusing(lambda: journal_entry(ctx.db, _db_id(entry_id)))
        try:
            body = orjson.dumps(orjson.loads(entry.body), option=orjson.OPT_INDENT_2).decode()
        except orjson.JSONDecodeError:
            body = entry.body
        return render(request, "operations/webhook.html", {"entry": entry, "body": body})

    @api.post("/webhooks/{entry_id}/replay")
    def replay_webhook(
        entry_id: int, reason: Reason = "", staff: Staff = office_acting
    ) -> Response:
        policy = sections.intake
        _refusing(
            lambda: replay(
                ctx.db, _db_id(entry_id), policy, ctx.clock, user_id=staff.user_id, reason=reason
            )
        )
        return see(f"/webhooks/{entry_id}")

    # -- an order's status ---------------------------------------------------------------------

    @api.get("/orders/status", response_class=HTMLResponse)
    def status_form(request: Request, staff: Staff = office, done: str = "") -> Response:
        context: dict[str, object] = {"statuses": STATUS_RU, "done": done[:64]}
        return render(request, "operations/order_status.html", context)

    @api.post("/orders/status")
    def force_status(
        order: Annotated[str, Form(min_length=1, max_length=64)],
        status: Annotated[OrderStatus, Form()],
        reason: Reason = "",
        staff: Staff = office_acting,
    ) -> Response:
        sm_order_id = order.strip()
        _refusing(
            lambda: force_order_status(
                ctx.db, sm_order_id, status, user_id=staff.user_id, reason=reason, now=ctx.clock()
            )
        )
        return RedirectResponse(f"{PREFIX}/orders/status?done={sm_order_id}", status_code=303)

    # -- stores, pickers, shifts, chats --------------------------------------------------------

    @api.get("/stores", response_class=HTMLResponse)
    def stores_page(request: Request, staff: Staff = office) -> Response:
        return render(request, "operations/stores.html", {"stores": stores(ctx.db)})

    @api.post("/stores")
    def store_save(  # every field of the store's form
        *,
        sm_store_id: Annotated[str, Form(max_length=64)],
        name: Annotated[str, Form(max_length=200)],
        timezone: Annotated[str, Form(max_length=64)] = "Europe/Moscow",
        chat: Annotated[str, Form(max_length=64)] = "",
        lead_minutes: Annotated[str, Form(max_length=8)] = "",
        import_key: Annotated[str, Form(max_length=64)] = "",
        reason: Reason = "",
        staff: Staff = office_acting,
    ) -> Response:
        lead = _optional_int(lead_minutes, "Время сборки")
        form = StoreForm(sm_store_id, name, timezone, chat or None, lead, import_key or None)
        policy = sections.intake
        _refusing(
            lambda: save_store(
                ctx.db, form, policy, user_id=staff.user_id, reason=reason, now=ctx.clock()
            )
        )
        return see("/stores")

    @api.get("/stores/{store_id}", response_class=HTMLResponse)
    def store_page(
        request: Request, store_id: int, before: Cursor = None, staff: Staff = office
    ) -> Response:
        found = [store for store in stores(ctx.db) if store.id == store_id]
        if not found:
            raise UiRefused(404, "Магазин не найден.")
        with ctx.db.unit_of_work(read_only=True) as uow:
            shifts = uow.repo(StaffPages).shifts(store_id, before, PAGE)
        context = {
            "store": found[0],
            "pickers": pickers_of(ctx.db, store_id),
            "shifts": shifts,
            "next_before": shifts[-1].id if len(shifts) == PAGE else None,
        }
        return render(request, "operations/store.html", context)

    @api.post("/stores/{store_id}/chat")
    def store_chat(
        store_id: int, chat: Annotated[str, Form(max_length=64)] = "", staff: Staff = office_acting
    ) -> Response:
        _refusing(
            lambda: set_chat(
                ctx.db, chat, store_id=_db_id(store_id), user_id=staff.user_id, now=ctx.clock()
            )
        )
        return see(f"/stores/{store_id}")

    @api.post("/stores/{store_id}/pickers")
    def picker_add(
        store_id: int,
        name: Annotated[str, Form(max_length=200)],
        chat: Annotated[str, Form(max_length=64)] = "",
        staff: Staff = office_acting,
    ) -> Response:
        _refusing(
            lambda: add_picker(
                ctx.db, _db_id(store_id), name, chat, user_id=staff.user_id, now=ctx.clock()
            )
        )
        return see(f"/stores/{store_id}")

    @api.post("/pickers/{picker_id}/deactivate")
    def picker_deactivate(
        picker_id: int,
        store_id: Annotated[int, Form(ge=1, le=INT32_MAX)],
        reason: Reason = "",
        staff: Staff = office_acting,
    ) -> Response:
        _refusing(
            lambda: deactivate_picker(
                ctx.db, _db_id(picker_id), user_id=staff.user_id, reason=reason, now=ctx.clock()
            )
        )
        return see(f"/stores/{store_id}")

    @api.post("/pickers/{picker_id}/chat")
    def picker_chat(
        picker_id: int,
        store_id: Annotated[int, Form(ge=1, le=INT32_MAX)],
        chat: Annotated[str, Form(max_length=64)] = "",
        staff: Staff = office_acting,
    ) -> Response:
        _refusing(
            lambda: set_chat(
                ctx.db, chat, picker_id=_db_id(picker_id), user_id=staff.user_id, now=ctx.clock()
            )
        )
        return see(f"/stores/{store_id}")

    # -- API tokens ----------------------------------------------------------------------------

    @api.get("/tokens", response_class=HTMLResponse)
    def tokens(request: Request, after: Cursor = None, staff: Staff = office) -> Response:
        with ctx.db.unit_of_work(read_only=True) as uow:
            rows = uow.repo(StaffPages).tokens(after, PAGE)
        context = {**_paged(rows), "stores": {s.id: s for s in stores(ctx.db)}, "issued": None}
        return render(request, "operations/tokens.html", context)

    @api.post("/tokens", response_class=HTMLResponse)
    def token_issue(
        request: Request,
        store_id: Annotated[int, Form(ge=1, le=INT32_MAX)],
        label: Annotated[str, Form(max_length=200)],
        staff: Staff = office_acting,
    ) -> Response:
        token_id, token = _refusing(
            lambda: issue_token(ctx.db, store_id, label, user_id=staff.user_id, now=ctx.clock())
        )
        with ctx.db.unit_of_work(read_only=True) as uow:
            rows = uow.repo(StaffPages).tokens(None, PAGE)
        # Shown once, on this answer only: the database keeps its hash.
        context = {
            **_paged(rows),
            "stores": {s.id: s for s in stores(ctx.db)},
            "issued": {"id": token_id, "token": token, "label": label},
        }
        response = render(request, "operations/tokens.html", context)
        response.headers["Cache-Control"] = "no-store"
        return response

    @api.post("/tokens/{token_id}/revoke")
    def token_revoke(token_id: int, reason: Reason = "", staff: Staff = office_acting) -> Response:
        _refusing(
            lambda: revoke_token(
                ctx.db, _db_id(token_id), user_id=staff.user_id, reason=reason, now=ctx.clock()
            )
        )
        return see("/tokens")

    # -- monitoring ----------------------------------------------------------------------------

    @api.get("/monitoring", response_class=HTMLResponse)
    def monitoring(request: Request, staff: Staff = office) -> Response:
        now = ctx.clock()
        with ctx.db.unit_of_work(read_only=True) as uow:
            controls = uow.repo(MonitoringControls)
            mutes = controls.mutes(now - timedelta(days=1), PAGE)
            stored = controls.thresholds()
        defaults = sections.monitoring
        thresholds = [
            (name, label, stored.get(name), getattr(defaults, name))
            for name, (label, _, _) in THRESHOLDS.items()
        ]
        context = {
            "rules": RULE_NAMES,
            "mutes": mutes,
            "now": now,
            "thresholds": thresholds,
        }
        return render(request, "operations/monitoring.html", context)

    @api.post("/monitoring/mutes")
    def mute(
        rule: Annotated[str, Form(max_length=64)],
        minutes: Annotated[int, Form(ge=1, le=7 * 24 * 60)],
        reason: Reason = "",
        staff: Staff = office_acting,
    ) -> Response:
        _refusing(
            lambda: mute_rule(
                ctx.db, rule, minutes, user_id=staff.user_id, reason=reason, now=ctx.clock()
            )
        )
        return see("/monitoring")

    @api.post("/monitoring/mutes/{mute_id}/end")
    def mute_end(mute_id: int, staff: Staff = office_acting) -> Response:
        _refusing(lambda: unmute(ctx.db, _db_id(mute_id), user_id=staff.user_id, now=ctx.clock()))
        return see("/monitoring")

    @api.post("/monitoring/thresholds")
    def threshold(
        name: Annotated[str, Form(max_length=64)],
        value: Annotated[str, Form(max_length=32)] = "",
        reason: Reason = "",
        staff: Staff = office_acting,
    ) -> Response:
        _refusing(
            lambda: set_threshold(
                ctx.db, name, value, user_id=staff.user_id, reason=reason, now=ctx.clock()
            )
        )
        return see("/monitoring")

    # -- job runs ------------------------------------------------------------------------------

    @api.get("/jobs", response_class=HTMLResponse)
    def jobs(
        request: Request,
        job: Annotated[str | None, Query(max_length=64)] = None,
        before: Cursor = None,
        staff: Staff = office,
    ) -> Response:
        with ctx.db.unit_of_work(read_only=True) as uow:
            runs = uow.repo(JobRuns).page(job or None, before, PAGE)
        context: dict[str, object] = {
            "runs": runs,
            "job": job or "",
            "next_before": runs[-1].id if len(runs) == PAGE else None,
        }
        return render(request, "operations/jobs.html", context)

    return api


def _paged(rows: list[Any]) -> dict[str, Any]:
    """A page of rows by id, and the cursor of the next one (None: this is the last)."""
    return {"rows": rows, "next_after": rows[-1].id if len(rows) == PAGE else None}


def _refusing(call: Callable[[], T]) -> T:
    """Run a use case; its refusal becomes the page's error, in its words."""
    try:
        return call()
    except AdminRefused as refused:
        raise UiRefused(refused.status, refused.message_ru) from None


def _db_id(value: int) -> int:
    if not 1 <= value <= INT32_MAX:
        raise UiRefused(404, "Не найдено.")
    return value


def _optional_int(text: str, what_ru: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        raise UiRefused(422, f"«{what_ru}»: целое число.")
    return int(text)
