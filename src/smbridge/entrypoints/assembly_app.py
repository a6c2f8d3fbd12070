"""The assembly service's ASGI app (one worker process; nginx balances a pool of them)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from smbridge import __version__
from smbridge.assembly.factory import assembly_policy
from smbridge.assembly.views import assembly_router, install_envelope_errors
from smbridge.erp.views import ERP_TOKEN, erp_router
from smbridge.kernel.clock import Clock, utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.health import ping
from smbridge.kernel.http import (
    CLIENT_TOKEN,
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


def create_assembly_app(settings: Settings, db: Database | None = None, *, clock: Clock) -> FastAPI:
    plain = db or Database.from_settings(settings)
    executor = ThreadPoolExecutor(settings.dispatch_threads, thread_name_prefix="notify")
    database = sending_promptly(plain, dispatcher(settings, plain, clock), executor)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        executor.shutdown(wait=True)  # let in-flight notifications finish their record
        worker_exiting()
        if db is None:
            database.dispose()

    app = FastAPI(
        title="smbridge assembly API",
        version=__version__,
        lifespan=lifespan,
        default_response_class=JsonResponse,
        description="The API of picking apps: shifts, orders, picking, hand-over. "
        "Every call: POST with header Client-Token (a store's token) and body "
        '{"requestId": "...", "requestData": {...}}.',
    )
    install_error_handlers(app)
    install_request_id(app)
    install_envelope_errors(app)
    policy = assembly_policy(settings)
    limit = settings.api_max_body_bytes
    app.include_router(assembly_router(database, policy, clock=clock, max_body_bytes=limit))
    app.include_router(erp_router(database, settings.erp_token.get_secret_value(), clock, limit))
    document_security(app, {**CLIENT_TOKEN, **ERP_TOKEN})

    @app.get("/healthz", summary="Liveness and database reachability")
    async def healthz() -> dict[str, str]:
        await run_in_threadpool(ping, database)
        return {"status": "ok", "service": "assembly"}

    install_metrics(app, "assembly", database)

    return app


def app_from_environment() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_assembly_app(settings, clock=utc_now)
