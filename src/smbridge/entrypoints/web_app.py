"""What the two web services' apps share: the database that sends SM notifications promptly
after each commit, a lifespan that lets those sends finish, ``/healthz`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from smbridge import __version__
from smbridge.kernel.clock import Clock
from smbridge.kernel.database.unit_of_work import Database
from smbridge.kernel.health import ping
from smbridge.kernel.http import JsonResponse, install_error_handlers, install_request_id
from smbridge.metrics.prometheus import install_metrics, worker_exiting
from smbridge.notifications.dispatcher import Dispatcher
from smbridge.notifications.factory import dispatch_policy, sm_client
from smbridge.notifications.prompt import sending_promptly
from smbridge.settings import Settings

#: Puts a service's own routes (and their error handlers) on the app; it gets the database
#: the routes must use, the one that sends promptly.
AddRoutes = Callable[[FastAPI, Database], None]


def _nothing() -> None:
    pass


def web_app(
    settings: Settings,
    db: Database | None,
    *,
    clock: Clock,
    service: str,
    title: str,
    add_routes: AddRoutes,
    description: str = "",
    on_start: Callable[[], None] = _nothing,
) -> FastAPI:
    """A service's app; ``db`` is the caller's to close, or else made here and closed at exit."""
    plain = db or Database.from_settings(settings)
    # Notifications go to SM right after the commit that queued them (the dispatcher: fallback).
    executor = ThreadPoolExecutor(settings.dispatch_threads, thread_name_prefix="notify")
    client = sm_client(settings)
    sender = None if client is None else Dispatcher(plain, client, dispatch_policy(settings), clock)
    database = sending_promptly(plain, sender, executor)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        on_start()
        yield
        executor.shutdown(wait=True)  # let in-flight notifications finish their record
        if client is not None:
            client.close()  # its keep-alive connections to SM
        worker_exiting()
        if db is None:  # we made it, we close it
            database.dispose()

    app = FastAPI(
        title=title,
        version=__version__,
        lifespan=lifespan,
        default_response_class=JsonResponse,
        description=description,
    )
    install_error_handlers(app)
    install_request_id(app)
    add_routes(app, database)

    @app.get("/healthz", summary="Liveness and database reachability")
    async def healthz() -> dict[str, str]:
        await run_in_threadpool(ping, database)
        return {"status": "ok", "service": service}

    install_metrics(app, service, database)
    return app
