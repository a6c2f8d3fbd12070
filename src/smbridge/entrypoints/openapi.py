"""The OpenAPI schema of each web service, as served and as kept in docs/."""

from __future__ import annotations

import orjson
from fastapi import FastAPI

from smbridge.entrypoints.assembly_app import create_assembly_app
from smbridge.entrypoints.hook_app import create_hook_app
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database.unit_of_work import Database
from smbridge.settings import Settings


def openapi_json(service: str) -> str:
    # The schema does not depend on the database; an in-memory one keeps this side-effect free.
    settings = Settings(database_url="sqlite://")
    db = Database.from_settings(settings)
    factories = {"hook": create_hook_app, "assembly": create_assembly_app}
    app: FastAPI = factories[service](settings, db, clock=utc_now)
    try:
        return orjson.dumps(
            app.openapi(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
        ).decode()
    finally:
        db.dispose()
