"""What every page of the UI stands on: who is signed in, CSRF, templates, errors.

A page's view takes ``staff: Staff = signed_in(Role...)`` (a GET) or ``acting(Role...)`` (a
POST, which also checks the CSRF token). Nobody signed in: redirected to the sign-in page;
a role the page is not for: 403. Store scoping itself is the use cases' business (another
store's order is 404 there), not the templates'.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from smbridge.accounts.repository import StaffSession
from smbridge.accounts.service import session_of
from smbridge.assembly.service import AssemblyPolicy
from smbridge.domain.staff import ROLE_TITLES, Role, SessionTimes, Throttle
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database

UI_PREFIX = "/ui"
STATIC_PREFIX = f"{UI_PREFIX}/static"
SESSION_COOKIE = "smb_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: Times in the UI are the stores' local time (the retailer's stores are on Moscow time;
#: a store with another zone has it in ``stores.timezone`` for its own screens).
DISPLAY_ZONE = ZoneInfo("Europe/Moscow")


@dataclass(frozen=True)
class UiContext:
    db: Database
    clock: Clock
    policy: AssemblyPolicy
    times: SessionTimes = field(default_factory=SessionTimes)
    throttle: Throttle = field(default_factory=Throttle)


@dataclass(frozen=True)
class Staff:
    user_id: int
    login: str
    display_name: str
    role: Role
    store_id: int | None
    picker_id: int | None
    csrf_token: str

    @classmethod
    def of(cls, session: StaffSession) -> Staff:
        account = session.account
        return cls(
            account.id,
            account.login,
            account.display_name,
            account.role,
            account.store_id,
            account.picker_id,
            session.csrf_token,
        )


class UiRefused(Exception):
    """A view's refusal, shown to the person as a page (or an htmx fragment) in Russian."""

    def __init__(self, status: int, message_ru: str) -> None:
        super().__init__(message_ru)
        self.status = status
        self.message_ru = message_ru


class _SignInFirst(Exception):
    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


# --- templates -------------------------------------------------------------------------------


def _moscow(value: datetime | None, pattern: str = "%d.%m %H:%M") -> str:
    return "" if value is None else value.astimezone(DISPLAY_ZONE).strftime(pattern)


_NBSP = "\u00a0"  # keeps "1 234,50 ₽" on one line


def _money(value: Decimal | None) -> str:
    if value is None:
        return ""
    whole, _, cents = f"{value:,.2f}".partition(".")
    return whole.replace(",", _NBSP) + f",{cents}{_NBSP}₽"


def _quantity(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    text = format(Decimal(value).normalize(), "f")
    return text.replace(".", ",")


_templates = Environment(
    loader=PackageLoader("smbridge.ui", "templates"),
    autoescape=select_autoescape(default=True),
    auto_reload=False,
)
_templates.filters["dt"] = _moscow
_templates.filters["money"] = _money
_templates.filters["qty"] = _quantity
_templates.globals["ui"] = UI_PREFIX
_templates.globals["static"] = STATIC_PREFIX
_templates.globals["role_titles"] = ROLE_TITLES
_templates.globals["Role"] = Role


def render(
    request: Request, template: str, context: dict[str, object], status_code: int = 200
) -> HTMLResponse:
    staff = request.scope.get("smb.staff")
    values: dict[str, Any] = {
        "request": request,
        "staff": staff,
        "csrf_token": staff.csrf_token if isinstance(staff, Staff) else "",
        **context,
    }
    body = _templates.get_template(template).render(values)
    return HTMLResponse(body, status_code=status_code, headers=_NO_STORE)


#: Pages hold customers' contacts and live state: never cached, never framed.
_NO_STORE = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


# --- who is signed in ------------------------------------------------------------------------


def context_of(request: Request) -> UiContext:
    found: UiContext = request.app.state.ui
    return found


async def _staff(request: Request, roles: frozenset[Role]) -> Staff:
    ctx = context_of(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    session = await run_in_threadpool(session_of, ctx.db, token, ctx.clock(), ctx.times)
    if session is None:
        raise _SignInFirst(request.url.path)
    staff = Staff.of(session)
    request.scope["smb.staff"] = staff
    if roles and staff.role not in roles:
        raise UiRefused(403, "Эта страница не для вашей роли.")
    return staff


def signed_in(*roles: Role) -> Any:
    """The dependency of a page: the signed-in staff, of one of ``roles`` (any if none)."""
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Staff:
        return await _staff(request, allowed)

    return Depends(dependency)


def acting(*roles: Role) -> Any:
    """``signed_in`` for a POST: the request must carry the session's CSRF token too."""
    allowed = frozenset(roles)

    async def dependency(request: Request) -> Staff:
        staff = await _staff(request, allowed)
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else ""
        if not hmac.compare_digest(sent.encode(), staff.csrf_token.encode()):
            raise UiRefused(403, "Нет токена CSRF: обновите страницу и повторите.")
        return staff

    return Depends(dependency)


def install_ui_errors(app: FastAPI) -> None:
    @app.exception_handler(_SignInFirst)
    async def _sign_in_first(request: Request, exc: _SignInFirst) -> RedirectResponse:
        if request.headers.get("HX-Request"):
            # htmx follows no redirect of a fragment: tell it to load the sign-in page
            response = RedirectResponse(f"{UI_PREFIX}/login", status_code=303)
            response.headers["HX-Redirect"] = f"{UI_PREFIX}/login"
            return response
        return RedirectResponse(f"{UI_PREFIX}/login?next={quote(exc.path)}", status_code=303)

    @app.exception_handler(UiRefused)
    async def _refused(request: Request, exc: UiRefused) -> HTMLResponse:
        template = "fragment_error.html" if request.headers.get("HX-Request") else "error.html"
        return render(request, template, {"message": exc.message_ru}, exc.status)


def mount_static(app: FastAPI) -> None:
    app.mount(
        STATIC_PREFIX,
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="ui-static",
    )
