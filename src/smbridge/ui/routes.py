"""The UI on an app: its areas' routers, the sign-in pages, static files, error pages."""

from __future__ import annotations

from fastapi import FastAPI

from smbridge.ui.operations.views import router as operations_router
from smbridge.ui.picker.views import router as picker_router
from smbridge.ui.reports.views import router as reports_router
from smbridge.ui.signin import signin_router
from smbridge.ui.store.views import router as store_router
from smbridge.ui.web import UiContext, install_ui_errors, mount_static


def install_ui(app: FastAPI, ctx: UiContext) -> None:
    app.state.ui = ctx
    install_ui_errors(app)
    mount_static(app)
    app.include_router(signin_router(ctx))
    for area in (picker_router, store_router, operations_router, reports_router):
        app.include_router(area(ctx))
