"""What every HTTP service shares: the JSON response class and one error shape,
``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

log = structlog.get_logger(__name__)


class JsonResponse(JSONResponse):
    """JSON rendered by orjson: exact, fast, and no float surprises for Decimal (as text)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=str)


class ApiError(Exception):
    """An error answer: HTTP status, machine code, message for people, optional details."""

    def __init__(
        self, status: int, code: str, message: str, details: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JsonResponse({"error": body}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JsonResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JsonResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JsonResponse:
        details = [{"loc": ".".join(map(str, e["loc"])), "msg": e["msg"]} for e in exc.errors()]
        return error_response(400, "invalid_request", "request is not valid", details)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JsonResponse:
        log.error("http.unhandled", error=type(exc).__name__)
        return error_response(500, "internal_error", "internal error; nothing was changed")
