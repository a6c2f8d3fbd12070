"""The hook endpoint SM posts to: ``POST /sbermarket/orders/hook/``."""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from smbridge.intake.events import BadWebhook, parse_webhook
from smbridge.intake.schemas import HookAnswer, webhook_body_schema
from smbridge.intake.service import IntakePolicy, ingest_webhook
from smbridge.intake.settings import HookAuthMode, IntakeSettings
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.http import (
    CLIENT_TOKEN,
    ApiError,
    JsonResponse,
    RawRoute,
    error_responses,
    read_limited,
)

HOOK_PATH = "/sbermarket/orders/hook"
# SM authenticates with a Client-Token, or with HTTP Basic in some setups (a setting).
HOOK_SECURITY = {**CLIENT_TOKEN, "HTTPBasic": {"type": "http", "scheme": "basic"}}


def hook_router(
    settings: IntakeSettings, db: Database, policy: IntakePolicy, clock: Clock
) -> APIRouter:
    router = APIRouter(route_class=RawRoute)
    authorize = _authorizer(settings)

    async def receive_webhook(request: Request) -> JsonResponse:
        authorize(request)
        _require_json(request)
        body = await read_limited(request, settings.hook_max_body_bytes)
        try:
            hook = parse_webhook(body)
        except BadWebhook as bad:
            raise ApiError(400, bad.code, bad.message, bad.details) from None
        reply = await run_in_threadpool(ingest_webhook, db, hook, policy, clock)
        return JsonResponse(reply.body, status_code=reply.status_code)

    # SM's documents show the path with a trailing slash; some setups drop it. A redirect
    # would make clients re-send the POST, so both paths are served directly.
    for path in (HOOK_PATH + "/", HOOK_PATH):
        router.add_api_route(
            path,
            receive_webhook,
            methods=["POST"],
            summary="SM order webhook",
            include_in_schema=path.endswith("/"),
            responses={
                200: {"model": HookAnswer, "description": "Stored and applied"},
                202: {"model": HookAnswer, "description": "Stored; applied when its order comes"},
                **error_responses(400, 403, 413, 415),
            },
            openapi_extra={
                "security": [{"ClientToken": []}, {"HTTPBasic": []}],
                "requestBody": webhook_body_schema(),
            },
        )
    return router


def _authorizer(settings: IntakeSettings) -> _Authorizer:
    if settings.hook_auth_mode is HookAuthMode.BASIC:
        return _BasicAuth(settings)
    return _TokenAuth(settings)


class _Authorizer:
    def __call__(self, request: Request) -> None:
        if not self.accepts(request):
            raise ApiError(403, "forbidden", "missing or wrong credentials")

    def accepts(self, request: Request) -> bool:
        raise NotImplementedError


class _TokenAuth(_Authorizer):
    def __init__(self, settings: IntakeSettings) -> None:
        tokens = (settings.hook_token, settings.hook_token_previous)
        self._tokens = [
            token.get_secret_value().encode() for token in tokens if token.get_secret_value()
        ]

    def accepts(self, request: Request) -> bool:
        given = request.headers.get("client-token", "").encode()  # header names: any case
        # Compare against every token so timing says nothing about which one matched.
        matches = [hmac.compare_digest(given, token) for token in self._tokens]
        return bool(given) and any(matches)


class _BasicAuth(_Authorizer):
    def __init__(self, settings: IntakeSettings) -> None:
        self._user = settings.hook_basic_user.encode()
        self._password = settings.hook_basic_password.get_secret_value().encode()

    def accepts(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or not self._password:
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).partition(b":")
        except (binascii.Error, ValueError):
            return False
        user_ok = hmac.compare_digest(user, self._user)
        return hmac.compare_digest(password, self._password) and user_ok


def _require_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"expected application/json, got {media_type or 'no content type'}",
        )
