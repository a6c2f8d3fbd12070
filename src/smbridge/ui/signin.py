"""Signing in and out, and the start page that sends each role to its area."""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from smbridge.accounts.service import SignInRefused, sign_in, sign_out
from smbridge.domain.staff import Role
from smbridge.ui.web import (
    SESSION_COOKIE,
    UI_PREFIX,
    Staff,
    UiContext,
    acting,
    render,
    signed_in,
)

#: The sign-in form has no session yet: its CSRF token is a cookie of its own, sent back in
#: the form (double submit), so that no other site can sign a browser into an account.
LOGIN_CSRF_COOKIE = "smb_login_csrf"

HOME = {
    Role.PICKER: f"{UI_PREFIX}/picker",
    Role.STORE_OPERATOR: f"{UI_PREFIX}/store/",
    Role.STORE_MANAGER: f"{UI_PREFIX}/store/",
    Role.OPERATIONS: f"{UI_PREFIX}/ops/",
    Role.ADMIN: f"{UI_PREFIX}/ops/",
}


def signin_router(ctx: UiContext) -> APIRouter:
    router = APIRouter(prefix=UI_PREFIX, include_in_schema=False)

    @router.get("/")
    async def start(staff: Staff = signed_in()) -> RedirectResponse:
        return RedirectResponse(HOME[staff.role], status_code=303)

    @router.get("/login")
    async def login_page(request: Request, next: str = "") -> HTMLResponse:
        return login_form(request, "login.html", next_path=next)

    @router.post("/login")
    async def login(
        request: Request,
        login: str = Form(max_length=200),
        password: str = Form(max_length=200),
        csrf_token: str = Form("", max_length=100),
        next: str = Form("", max_length=500),
    ) -> Response:
        return await finish_sign_in(
            ctx, request, login, password, csrf_token, next_path=next, template="login.html"
        )

    @router.post("/logout")
    async def logout(request: Request, _staff: Staff = acting()) -> RedirectResponse:
        await run_in_threadpool(sign_out, ctx.db, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse(f"{UI_PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=UI_PREFIX)
        return response

    return router


def login_form(
    request: Request, template: str, *, next_path: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    """A sign-in form with a fresh double-submit CSRF token (page and cookie)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        template,
        {"login_csrf": token, "next": _safe_next(next_path), "error": error},
        status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path=UI_PREFIX,
        httponly=True,
        samesite="strict",
        secure=_is_https(request),
    )
    return response


async def finish_sign_in(
    ctx: UiContext,
    request: Request,
    login: str,
    password: str,
    csrf_token: str,
    *,
    next_path: str,
    template: str,
) -> Response:
    """Check the form's CSRF token, sign in, set the session cookie and go on."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf_token.encode(), expected.encode()):
        return login_form(request, template, error="Форма устарела: войдите ещё раз.", status=403)
    address = request.client.host if request.client else "unknown"
    try:
        signed = await run_in_threadpool(
            lambda: sign_in(
                ctx.db,
                login=login,
                password=password,
                address=address,
                now=ctx.clock(),
                times=ctx.times,
                throttle=ctx.throttle,
            )
        )
    except SignInRefused as refused:
        if refused.throttled:
            text, status = "Слишком много неудачных попыток. Подождите 15 минут.", 429
        else:
            text, status = "Неверный логин или пароль.", 401
        return login_form(request, template, next_path=next_path, error=text, status=status)
    role = signed.session.account.role
    response = RedirectResponse(_safe_next(next_path) or HOME[role], status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        path=UI_PREFIX,
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
        max_age=int(ctx.times.longest.total_seconds()),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=UI_PREFIX)
    return response


def _safe_next(path: str) -> str:
    """Only a path of the UI itself: never an open redirect to another site."""
    ok = path.startswith(f"{UI_PREFIX}/") and not path.startswith("//") and "\\" not in path
    return path if ok else ""


def _is_https(request: Request) -> bool:
    return request.url.scheme == "https"
