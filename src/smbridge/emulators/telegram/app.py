"""The Telegram Bot API emulator («тестовый контур») over HTTP: ``/bot{token}/sendMessage``
as api.telegram.org answers it, and an admin API for tests.

The admin API switches on failures (a chat that is not found or has blocked the bot; for a
while 502s, slow answers or dropped connections), resets, and shows every accepted message
and the observed rates, so a test or a benchmark can prove from Telegram's side that nothing
was lost, duplicated or sent too fast. The rules live in :mod:`.bot`.
"""

from __future__ import annotations

from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from smbridge.emulators.telegram.bot import FailMode, TelegramEmulator, api_error
from smbridge.emulators.telegram.state import ChatState, normalize_chat_id

log = structlog.get_logger(__name__)

#: What Telegram's nginx answers while the API behind it is down.
_BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class BotMethodEndpoint:
    """``/bot{token}/{method}``: a raw ASGI endpoint, so that ``drop`` can hang up."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        token = str(request.path_params["token"])
        method = str(request.path_params["method"])
        if method.lower() != "sendmessage":
            status, description = (
                (401, "Unauthorized") if token != self.emulator.token else (404, "Not Found")
            )
            unknown = api_error(status, description)
            await JSONResponse(unknown.body, unknown.status)(scope, receive, send)
            return
        mode, delay = self.emulator.failure()
        if mode is FailMode.SLOW:
            await self.emulator.sleep(delay)
        elif mode is FailMode.DROP:
            self.emulator.count_rejection("drop")
            log.info("telegram_emulator.dropped")
            await _hang_up(send)
            return
        params = await _send_message_params(request)
        if params is None:
            answer = api_error(400, "Bad Request: request body is not valid")
            self.emulator.count_rejection("bad_request")
        else:
            answer = self.emulator.send_message(token, params)
        response: Response = (
            HTMLResponse(_BAD_GATEWAY_PAGE, 502)
            if answer.status == 502
            else JSONResponse(answer.body, answer.status)
        )
        await response(scope, receive, send)


async def _hang_up(send: Send) -> None:
    """Headers promising a body, then nothing: the server closes the connection."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )


async def _send_message_params(request: Request) -> dict[str, object] | None:
    """Query string, then a JSON object or a form body, as the Bot API accepts them."""
    params: dict[str, object] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        params.update(body)
    elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
        form = await request.form()
        params.update({key: str(value) for key, value in form.items()})
    return params


def create_app(emulator: TelegramEmulator) -> Starlette:
    async def chat_state(request: Request) -> JSONResponse:
        chat_id = normalize_chat_id(request.path_params["chat_id"])
        body = await _json_object(request)
        try:
            state = ChatState(str(body.get("state")))
        except ValueError:
            state = None
        if chat_id is None or state is None:
            return JSONResponse({"error": "need a chat id and state ok|not_found|blocked"}, 400)
        emulator.set_chat_state(chat_id, state)
        return JSONResponse({"chat_id": chat_id, "state": state.value})

    async def fail(request: Request) -> JSONResponse:
        body = await _json_object(request)
        try:
            mode = FailMode(str(body.get("mode")))
            seconds = float(body.get("seconds", 10))
            delay = float(body.get("delay", 5))
        except (TypeError, ValueError):
            return JSONResponse({"error": "need mode 5xx|slow|drop|none, seconds, delay"}, 400)
        emulator.set_failure(mode, seconds, delay)
        return JSONResponse({"mode": mode.value, "seconds": seconds, "delay": delay})

    async def reset(_request: Request) -> JSONResponse:
        emulator.reset()
        return JSONResponse({"status": "ok"})

    async def messages(request: Request) -> JSONResponse:
        raw = request.query_params.get("chat_id")
        chat_id = normalize_chat_id(raw) if raw is not None else None
        if raw is not None and chat_id is None:
            return JSONResponse({"error": "bad chat_id"}, 400)
        return JSONResponse(emulator.messages(chat_id))

    async def stats(_request: Request) -> JSONResponse:
        return JSONResponse(emulator.stats())

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "telegram-emulator"})

    return Starlette(
        routes=[
            Route("/bot{token}/{method}", BotMethodEndpoint(emulator), methods=["GET", "POST"]),
            Route("/admin/chats/{chat_id}", chat_state, methods=["POST"]),
            Route("/admin/fail", fail, methods=["POST"]),
            Route("/admin/reset", reset, methods=["POST"]),
            Route("/admin/messages", messages),
            Route("/admin/stats", stats),
            Route("/healthz", health),
        ],
    )


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
