"""The hook service's ASGI app (one worker process; nginx balances a pool of them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from smbridge import __version__
from smbridge.intake.service import intake_policy
from smbridge.intake.views import HOOK_SECURITY, hook_router
from smbridge.kernel.clock import Clock, utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.health import ping
from smbridge.kernel.http import (
    JsonResponse,
    document_security,
    install_error_handlers,
    install_request_id,
)
from smbridge.kernel.logs import configure_logging
from smbridge.metrics.prometheus import install_metrics, worker_exiting
from smbridge.notifications.factory import dispatcher
from smbridge.notifications.prompt import sending_promptly
from smbridge.settings import Settings, get_settings

log = structlog.get_logger(__name__)


def create_hook_app(settings: Settings, db: Database | None = None, *, clock: Clock) -> FastAPI:
    plain = db or Database.from_settings(settings)
    # order.accepted goes to SM right after the webhook's commit (the dispatcher: fallback).
    executor = ThreadPoolExecutor(settings.dispatch_threads, thread_name_prefix="notify")
    database = sending_promptly(plain, dispatcher(settings, plain, clock), executor)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.hook_token.get_secret_value() and settings.hook_auth_mode == "token":
            log.warning("hook.no_token_configured", hint="set SMBRIDGE_HOOK_TOKEN")
        yield
        executor.shutdown(wait=True)  # let in-flight notifications finish their record
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
    app.include_router(hook_router(settings, database, intake_policy(settings), clock))
    document_security(app, HOOK_SECURITY)

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
    return create_hook_app(settings, clock=utc_now)
