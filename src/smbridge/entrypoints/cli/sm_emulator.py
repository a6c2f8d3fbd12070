"""``smbridge emulate sm``: run the SM emulator as its own process."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer
import uvicorn

from smbridge.emulators.sm.app import MarketConfig, Marketplace, create_app
from smbridge.kernel.logs import configure_logging
from smbridge.settings import get_settings


def emulate_sm(  # noqa: PLR0917 - one parameter per CLI option
    hook_url: Annotated[list[str], typer.Option(help="our hook URL (repeatable)")],
    hook_token: Annotated[
        str, typer.Option(help="Client-Token for our hook", envvar="SMBRIDGE_HOOK_TOKEN")
    ],
    notify_token: Annotated[
        str, typer.Option(help="Client-Token we must send SM", envvar="SMBRIDGE_SM_TOKEN")
    ],
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(help="where SM's API listens")] = 9000,
    store: Annotated[list[str] | None, typer.Option(help="SM storeID (repeatable)")] = None,
    rate: Annotated[float, typer.Option(help="new orders per second")] = 1.0,
    orders: Annotated[int, typer.Option(help="stop generating after N (0: never)")] = 0,
    speed: Annotated[float, typer.Option(help="courier speed-up factor")] = 60.0,
    chaos: Annotated[bool, typer.Option(help="duplicates, reordering, cancels, changes")] = False,
    client_id: str = "smbridge",
    client_secret: str = "secret",  # noqa: S107 - the test stand's default credential
    pickup_share: Annotated[
        float, typer.Option(help="share of self-pickup orders (customers come to the counter)")
    ] = 0.0,
    no_show_share: Annotated[
        float, typer.Option(help="share of pickup customers who never come")
    ] = 0.1,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    duration: Annotated[float, typer.Option(help="stop after N seconds (0: never)")] = 0,
    ca_file: Annotated[str | None, typer.Option(help="trust this certificate (nginx's)")] = None,
) -> None:
    """Behave like SberMarket: orders in, notifications checked, couriers, a report."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    market = Marketplace(
        MarketConfig(
            hook_urls=tuple(hook_url),
            hook_token=hook_token,
            notify_token=notify_token,
            stores=tuple(store or ["101"]),
            ca_file=ca_file,
            client_id=client_id,
            client_secret=client_secret,
            rate=rate,
            orders=orders,
            speed=speed,
            chaos=chaos,
            pickup_share=pickup_share,
            no_show_share=no_show_share,
            seed=seed,
        )
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(market), host=host, port=port, log_level="warning", access_log=False
        )
    )
    asyncio.run(_serve(server, duration))
    typer.echo(json.dumps(market.summary(), ensure_ascii=False, indent=2))


async def _serve(server: uvicorn.Server, duration: float) -> None:
    if duration:
        asyncio.get_running_loop().call_later(duration, setattr, server, "should_exit", True)
    await server.serve()
