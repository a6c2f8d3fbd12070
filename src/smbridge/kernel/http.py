"""What every HTTP service shares: the JSON response class, one error shape,
``{"error": {"code", "message", "details"}}``, and reading a body within a limit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import orjson
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from smbridge.kernel.database.errors import DatabaseUnavailable, WriteConflict

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


def body_too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"body is larger than {limit} bytes")


#: Makes the exception that refuses a body over the limit (an API may answer in its own
#: envelope).
TooLarge = Callable[[int], Exception]


async def read_limited(request: Request, limit: int, too_large: TooLarge = body_too_large) -> bytes:
    """The body, refused as soon as it is known to exceed ``limit`` bytes: by its declared
    length before reading, or while streaming, so memory stays bounded."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


#: Checks the caller from the request's head alone; refuses by raising (ApiError or an
#: exception the app has a handler for).
Admit = Callable[[Request], Awaitable[None]]


def admitting_route(
    admit: Admit, max_body_bytes: int, too_large: TooLarge = body_too_large
) -> type[APIRoute]:
    """A route class that checks the caller, then reads the body within the limit, before
    FastAPI parses it (FastAPI reads a typed body before any dependency runs). So an
    unauthenticated or oversized request costs neither memory nor parsing."""

    class AdmittingRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def admitted(request: Request) -> Response:
                await admit(request)
                # Starlette's Request keeps the body it read here; FastAPI's request.body()
                # then returns it instead of reading the (consumed) stream again.
                request._body = await read_limited(request, max_body_bytes, too_large)
                return await handler(request)

            return admitted

    return AdmittingRoute


class RawRoute(APIRoute):
    """An operation documented like any other whose endpoint takes the bare ``Request`` and
    answers itself (it reads and checks its own input): FastAPI then has no dependencies to
    solve and no body to handle for it, work the hook's endpoint never needed."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.endpoint


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JsonResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return JsonResponse({"error": body}, status_code=status)


#: How long a client should wait before trying again after a 503 (SM redelivers webhooks).
RETRY_AFTER_SECONDS = 2


def database_unavailable_response(body: dict[str, Any] | None = None) -> JsonResponse:
    """503 with Retry-After: nothing was changed, the same request may simply come again."""
    content = body or {
        "error": {
            "code": "database_unavailable",
            "message": "the database is unavailable; nothing was changed, retry later",
        }
    }
    return JsonResponse(content, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class ErrorDetail(BaseModel):
    loc: str  # the field, dotted: "payload.positions.0.price"
    msg: str  # what is wrong with it; never the value itself


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorReply(BaseModel):
    """The body of every error answer of the hook and the ERP API."""

    error: ErrorInfo


ERROR_MEANINGS = {
    400: "The request is not valid: the JSON error names each field and what is wrong",
    403: "Missing, wrong or revoked credentials",
    404: "No such object (in this store)",
    409: "Not possible in the object's current state",
    413: "The body is larger than the service accepts",
    415: "The body is not JSON (Content-Type)",
    422: "Well-formed, but the data cannot be accepted: the JSON error says why",
}


def error_responses(*codes: int, model: type[BaseModel] = ErrorReply) -> dict[int | str, Any]:
    """OpenAPI answers for these error codes, each with its JSON error body."""
    return {code: {"model": model, "description": ERROR_MEANINGS[code]} for code in codes}


# How clients authenticate, for the OpenAPI documents (the views check the headers).
CLIENT_TOKEN = {"ClientToken": {"type": "apiKey", "in": "header", "name": "Client-Token"}}


def document_security(app: FastAPI, schemes: dict[str, dict[str, str]]) -> None:
    """Declare the security schemes the operations name in their ``security``.

    The views read the headers themselves (to answer 403 in the service's own shape), so no
    FastAPI security dependency adds the schemes: the document gets them here.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = schemes
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


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
        details = [
            {"loc": ".".join(map(str, error["loc"])), "msg": error["msg"]} for error in exc.errors()
        ]
        return error_response(400, "invalid_request", "request is not valid", details)

    _undocument_framework_422(app)

    @app.exception_handler(DatabaseUnavailable)
    @app.exception_handler(WriteConflict)
    async def _database_down(_request: Request, exc: Exception) -> JsonResponse:
        log.warning("http.database_unavailable", error=str(exc))
        return database_unavailable_response()

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> Response:
        # The client's own doing (a timeout, a closed app), not ours: no error, no traceback.
        log.info("http.client_disconnected", method=request.method, path=request.url.path)
        return Response(status_code=499)  # nginx's code for it; only the metrics see it

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JsonResponse:
        log.error("http.unhandled", error=type(exc).__name__)
        return error_response(500, "internal_error", "internal error; nothing was changed")


#: What FastAPI documents for a request failing validation, on its own accord.
_FRAMEWORK_422 = "#/components/schemas/HTTPValidationError"


def _undocument_framework_422(app: FastAPI) -> None:
    """Drop the 422 FastAPI adds to the document of every operation with parameters or a
    body: no client ever gets it, because the handlers answer a request failing validation
    400 in the service's error shape (the assembly API 422 in its own, which it declares).
    A 422 an operation declares itself stays."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    answers = operation.get("responses", {})
                    if _FRAMEWORK_422 in str(answers.get("422", "")):
                        del answers["422"]
            schemas = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")


class RequestIdMiddleware:
    """Bind the caller's ``X-Request-ID`` (nginx sets one) and address to every log line;
    echo the id back.

    A plain ASGI middleware: the webhook path is hot, and this costs next to nothing.
    An id with characters outside a safe set is replaced, so it cannot inject into headers
    or logs.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex.encode()
        structlog.contextvars.clear_contextvars()
        # the client nginx saw (uvicorn applies X-Forwarded-For only from trusted proxies)
        client = scope["client"][0] if scope.get("client") else None
        structlog.contextvars.bind_contextvars(request_id=request_id.decode(), client=client)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id)]
            await send(message)

        await self._app(scope, receive, send_with_id)


def install_request_id(app: FastAPI) -> None:
    app.add_middleware(RequestIdMiddleware)
