"""The assembly service's ASGI app (one worker process; nginx balances a pool of them)."""

from __future__ import annotations

from fastapi import FastAPI

from smbridge.assembly.factory import assembly_policy
from smbridge.assembly.views import assembly_router, install_envelope_errors
from smbridge.entrypoints.web_app import web_app
from smbridge.erp.views import ERP_TOKEN, erp_router
from smbridge.kernel.clock import Clock, utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.http import CLIENT_TOKEN, document_security
from smbridge.kernel.logs import configure_logging
from smbridge.settings import Settings, get_settings
from smbridge.ui.routes import install_ui
from smbridge.ui.web import UiContext


def create_assembly_app(settings: Settings, db: Database | None = None, *, clock: Clock) -> FastAPI:
    def add_routes(app: FastAPI, database: Database) -> None:
        install_envelope_errors(app)
        policy = assembly_policy(settings)
        limit = settings.api_max_body_bytes
        app.include_router(assembly_router(database, policy, clock=clock, max_body_bytes=limit))
        token = settings.erp_token.get_secret_value()
        app.include_router(erp_router(database, token, clock, limit))
        document_security(app, {**CLIENT_TOKEN, **ERP_TOKEN})
        install_ui(app, UiContext(database, clock, policy))

    return web_app(
        settings,
        db,
        clock=clock,
        service="assembly",
        title="smbridge assembly API",
        add_routes=add_routes,
        description="The API of picking apps: shifts, orders, picking, hand-over. "
        "Every call: POST with header Client-Token (a store's token) and body "
        '{"requestId": "...", "requestData": {...}}.',
    )


def app_from_environment() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_assembly_app(settings, clock=utc_now)
