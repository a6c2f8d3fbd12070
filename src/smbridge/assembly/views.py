"""``POST /sbermarket/orders/api/<method>``: one typed route per method of the assembly API."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import structlog
from fastapi import APIRouter, Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from smbridge.assembly import schemas
from smbridge.assembly.errors import (
    AssemblyRefused,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
)
from smbridge.assembly.methods import METHODS
from smbridge.assembly.service import (
    AssemblyPolicy,
    Call,
    Method,
    RecentTokens,
    check_token,
    execute,
)
from smbridge.assembly.texts import error_text
from smbridge.kernel.bounds import RequestId
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.errors import DatabaseUnavailable
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.http import (
    JsonResponse,
    admitting_route,
    database_unavailable_response,
    error_responses,
)

API_PREFIX = "/sbermarket/orders/api"
log = structlog.get_logger(__name__)


class BodyTooLarge(AssemblyRefused):
    """The request's body is over the limit: refused before it is read (HTTP only)."""


#: The one place that knows which HTTP status answers which refusal.
HTTP_STATUS: dict[type[AssemblyRefused], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    BodyTooLarge: 413,
    InvalidRequest: 422,
}


def http_status(refused: AssemblyRefused) -> int:
    return HTTP_STATUS[type(refused)]


def assembly_router(
    db: Database,
    policy: AssemblyPolicy,
    *,
    clock: Clock,
    max_body_bytes: int,
) -> APIRouter:
    recent = RecentTokens()

    async def admit(request: Request) -> None:
        token = request.headers.get("client-token", "")
        if not recent.admitted(token):
            await run_in_threadpool(check_token, db, token)
            recent.remember(token)

    router = APIRouter(
        prefix=API_PREFIX, route_class=admitting_route(admit, max_body_bytes, _too_large)
    )
    for method in METHODS.values():
        router.add_api_route(
            f"/{method.name}",
            _endpoint(method, db, policy, clock=clock),
            methods=["POST"],
            summary=method.summary,
            name=method.name,
            response_model=schemas.Answer[method.response],  # type: ignore[name-defined]
            responses=error_responses(
                400, 403, 404, 409, 413, 415, 422, model=schemas.Answer[schemas.NoData]
            ),
            openapi_extra={"security": [{"ClientToken": []}]},
        )
    return router


def _endpoint(
    method: Method,
    db: Database,
    policy: AssemblyPolicy,
    *,
    clock: Clock,
) -> Callable[..., Awaitable[JsonResponse]]:
    async def endpoint(request: Request, body: Any) -> JsonResponse:
        request_id: str | None = body.requestId
        call = Call(
            request.headers.get("client-token", ""),
            method,
            request_id,
            body.requestData,
        )
        try:
            result = await run_in_threadpool(execute, db, call, policy, clock)
        except Forbidden as refused:  # as if refused before the body was read (RecentTokens)
            return answer_error(None, http_status(refused), refused.code)
        except AssemblyRefused as refused:
            return answer_error(request_id, http_status(refused), refused.code)
        except DatabaseUnavailable as down:
            log.warning("assembly.database_unavailable", method=method.name, error=str(down))
            return database_unavailable_response(
                {"requestId": request_id, "error": _error_body("database_unavailable")}
            )
        return AnswerResponse(
            {"requestId": request_id, "result": result.result}, status_code=result.status
        )

    envelope: Any = schemas.Envelope[method.request]  # type: ignore[name-defined]
    # FastAPI reads the body's type from the signature, and it differs per method.
    typed: Any = endpoint
    typed.__signature__ = inspect.Signature(
        [
            inspect.Parameter(
                "request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request
            ),
            inspect.Parameter(
                "body",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=envelope,
                default=Body(...),
            ),
        ]
    )
    return endpoint


def answer_json(content: Any) -> bytes:
    """A call's answer as JSON. A ``JsonAnswer``'s datetimes are written as pydantic writes
    them (ISO 8601, UTC as ``Z``): orjson does it in C, 3,000 times for a board of 500."""
    return orjson.dumps(content, default=str, option=orjson.OPT_UTC_Z)


class AnswerResponse(JsonResponse):
    def render(self, content: Any) -> bytes:
        return answer_json(content)


def _too_large(_limit: int) -> BodyTooLarge:
    return BodyTooLarge("payload_too_large")


def answer_error(request_id: str | None, status: int, code: str) -> JsonResponse:
    return JsonResponse({"requestId": request_id, "error": _error_body(code)}, status_code=status)


def _error_body(code: str) -> dict[str, str]:
    return {"code": code, "message": error_text(code)}


def install_envelope_errors(app: FastAPI) -> None:
    """Malformed and refused requests answer in the API's envelope too (400 shape, 422 data;
    403 and 413 before the body is read, so without its requestId)."""

    @app.exception_handler(AssemblyRefused)
    async def _refused(_request: Request, refused: AssemblyRefused) -> JsonResponse:
        return answer_error(None, http_status(refused), refused.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JsonResponse:
        request_id = await _request_id_of(request)
        errors = exc.errors()
        in_data = all(
            len(error["loc"]) > 2 and error["loc"][1] == "requestData" for error in errors
        )
        response = answer_error(
            request_id, 422 if in_data else 400, "invalid_data" if in_data else "bad_request"
        )
        details = [
            {"loc": ".".join(map(str, error["loc"][1:])), "msg": error["msg"]} for error in errors
        ]
        body = orjson.loads(response.body)
        body["error"]["details"] = details
        return JsonResponse(body, status_code=response.status_code)


async def _request_id_of(request: Request) -> str | None:
    try:
        document = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return None
    value = document.get("requestId") if isinstance(document, dict) else None
    try:  # echo only an id that could be one: never kilobytes or control characters
        return _REQUEST_ID.validate_python(value)
    except ValidationError:
        return None


_REQUEST_ID: TypeAdapter[str] = TypeAdapter(RequestId)
