"""``smbridge serve``: one web worker process, importing only the service it serves."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from starlette.types import ASGIApp

from smbridge.entrypoints.draining import (
    CloseConnectionsWhileDraining,
    DrainingServer,
    DrainState,
)
from smbridge.entrypoints.worker import raise_open_file_limit, worker_config
from smbridge.settings import get_settings


class Service(StrEnum):
    HOOK = "hook"
    ASSEMBLY = "assembly"


#: The module of each service's app: a worker imports its own only.
_APP_MODULES: dict[Service, str] = {
    Service.HOOK: "smbridge.entrypoints.hook_app",
    Service.ASSEMBLY: "smbridge.entrypoints.assembly_app",
}


def app_factory(service: Service) -> Callable[[], ASGIApp]:
    factory: Callable[[], ASGIApp] = importlib.import_module(
        _APP_MODULES[service]
    ).app_from_environment
    return factory


def serve(
    service: Annotated[Service, typer.Argument(help="which web service")],
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8001,
) -> None:
    """One worker process of a web service; nginx balances a pool of them.

    SIGTERM drains it (see ``draining``): nothing sent to it is lost. A request that does
    not arrive in time gets 408 (see ``worker``).
    """
    settings = get_settings()
    state = DrainState()
    factory = app_factory(service)

    def app() -> ASGIApp:
        return CloseConnectionsWhileDraining(factory(), state)

    raise_open_file_limit()
    config = worker_config(app, settings, host, port, factory=True)
    DrainingServer(config, state, settings.drain_seconds).run()


def serve_command(args: list[str]) -> None:
    """``smbridge serve ARGS`` without loading every other command."""
    command = typer.Typer(pretty_exceptions_show_locals=False, add_completion=False)
    command.command()(serve)
    command(args=args, prog_name="smbridge serve")
