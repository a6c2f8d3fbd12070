"""The hook service's ASGI app (one worker process; nginx balances a pool of them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from smbridge import __version__
from smbridge.config import Settings, get_settings
from smbridge.entrypoints.health import ping
from smbridge.entrypoints.http_common import (
    JsonResponse,
    install_error_handlers,
    install_request_id,
)
from smbridge.logs import configure_logging
from smbridge.metrics import install_metrics, worker_exiting
from smbridge.orders.service import IntakePolicy
from smbridge.orders.views import hook_router
from smbridge.service_layer.unit_of_work import Database

log = structlog.get_logger(__name__)


def intake_policy(settings: Settings) -> IntakePolicy:
    return IntakePolicy(
        order_number_prefix=settings.order_number_prefix,
        default_lead=timedelta(minutes=settings.default_assembly_lead_minutes),
        handover_buffer=timedelta(minutes=settings.handover_buffer_minutes),
        operations_chat_id=settings.operations_chat_id or None,
        notify_accepted=settings.notify_accepted,
        default_timezone=settings.default_timezone,
        store_wait=timedelta(minutes=settings.store_wait_minutes),
    )


def create_hook_app(settings: Settings, db: Database | None = None) -> FastAPI:
    database = db or Database.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.hook_token.get_secret_value() and settings.hook_auth_mode == "token":
            log.warning("hook.no_token_configured", hint="set SMBRIDGE_HOOK_TOKEN")
        yield
        worker_exiting()
        if db is None:  # we made it, we close it
            database.dispose()

    app = FastAPI(
        title="smbridge hook service",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JsonResponse,
    )
    install_error_handlers(app)
    install_request_id(app)
    app.include_router(hook_router(settings, database, intake_policy(settings)))

    @app.get("/healthz", summary="Liveness and database reachability")
    async def healthz() -> dict[str, str]:
        await run_in_threadpool(ping, database)
        return {"status": "ok", "service": "hook"}

    install_metrics(app, "hook", database)

    return app


def app_from_environment() -> FastAPI:
    """The factory ``uvicorn`` calls in each worker process."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_hook_app(settings)
