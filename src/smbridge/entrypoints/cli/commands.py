"""Every command of ``smbridge``: the one command that starts every process and runs admin
tasks (``main`` loads this for all but ``smbridge serve``)."""

from __future__ import annotations

from typing import Annotated

import typer

from smbridge.entrypoints.cli import admin, database, serve, start
from smbridge.entrypoints.cli.events import events_app
from smbridge.entrypoints.cli.jobs import jobs_app
from smbridge.entrypoints.cli.main import version
from smbridge.entrypoints.cli.nginx import nginx_app
from smbridge.entrypoints.cli.notifications import notifications_app
from smbridge.entrypoints.cli.orders import orders_app
from smbridge.entrypoints.cli.picker_emulator import emulate_pickers
from smbridge.entrypoints.cli.settings import settings_app
from smbridge.entrypoints.cli.sm_emulator import emulate_sm
from smbridge.entrypoints.cli.staff import staff_app
from smbridge.entrypoints.cli.telegram_emulator import emulate_telegram

app = typer.Typer(
    help="smbridge: SberMarket (Kuper) integration for the retailer.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
for command in (
    serve.serve,
    start.openapi,
    start.run,
    start.scheduler,
    start.dispatcher,
):
    app.command()(command)
admin.db_app.command("skip-numbers")(database.db_skip_numbers)
admin.db_app.command("copy")(database.db_copy)


def _show_version(shown: bool) -> None:
    if shown:
        typer.echo(f"smbridge {version()}")
        raise typer.Exit


@app.callback()
def _options(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the installed version and exit.", callback=_show_version
        ),
    ] = False,
) -> None:
    """smbridge: SberMarket (Kuper) integration for the retailer."""


app.add_typer(admin.db_app, name="db")
app.add_typer(admin.stores_app, name="stores")
app.add_typer(admin.pickers_app, name="pickers")
app.add_typer(admin.tokens_app, name="tokens")
app.add_typer(admin.chats_app, name="chats")
app.add_typer(staff_app, name="staff")
app.add_typer(events_app, name="events")
app.add_typer(notifications_app, name="notifications")
app.add_typer(orders_app, name="orders")
app.add_typer(jobs_app, name="jobs")
app.add_typer(nginx_app, name="nginx")
app.add_typer(settings_app, name="settings")

emulate_app = typer.Typer(
    help="Stand-ins for SM, Telegram and pickers («тестовый контур»).", no_args_is_help=True
)
emulate_app.command("pickers")(emulate_pickers)
emulate_app.command("sm")(emulate_sm)
emulate_app.command("telegram")(emulate_telegram)
app.add_typer(emulate_app, name="emulate")
