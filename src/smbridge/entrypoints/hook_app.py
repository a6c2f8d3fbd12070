"""The hook service's ASGI app (one worker process; nginx balances a pool of them)."""

from __future__ import annotations

from functools import partial

import structlog
from fastapi import FastAPI

from smbridge.entrypoints.web_app import web_app
from smbridge.intake.service import intake_policy
from smbridge.intake.views import HOOK_SECURITY, hook_router
from smbridge.kernel.clock import Clock, utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.http import document_security
from smbridge.kernel.logs import configure_logging
from smbridge.settings import Settings, get_settings

log = structlog.get_logger(__name__)


def create_hook_app(settings: Settings, db: Database | None = None, *, clock: Clock) -> FastAPI:
    def add_routes(app: FastAPI, database: Database) -> None:
        app.include_router(hook_router(settings, database, intake_policy(settings), clock))
        document_security(app, HOOK_SECURITY)

    return web_app(
        settings,
        db,
        clock=clock,
        service="hook",
        title="smbridge hook service",
        add_routes=add_routes,
        on_start=partial(_warn_without_token, settings),
    )


def app_from_environment() -> FastAPI:
    """The factory ``uvicorn`` calls in each worker process."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_hook_app(settings, clock=utc_now)


def _warn_without_token(settings: Settings) -> None:
    if not settings.hook_token.get_secret_value() and settings.hook_auth_mode == "token":
        log.warning("hook.no_token_configured", hint="set SMBRIDGE_HOOK_TOKEN")
