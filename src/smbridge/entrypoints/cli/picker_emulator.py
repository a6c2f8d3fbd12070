"""``smbridge emulate pickers``: simulated pickers of one store working the assembly API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from smbridge.deploy.certificate import trusting
from smbridge.emulators.pickers.crew import (
    PickerHabits,
    PickerTeam,
    counter_of,
    run_team_until_signalled,
)
from smbridge.kernel.logs import configure_logging
from smbridge.settings import get_settings

#: Where ``smbridge run --demo`` hands the pickers their token (not the command line).
PICKERS_TOKEN_ENV = "SMBRIDGE_PICKERS_TOKEN"  # noqa: S105 - the name of a variable


def emulate_pickers(  # noqa: PLR0917 - one parameter per CLI option
    api_url: Annotated[list[str], typer.Option(help="assembly worker URL (repeatable)")],
    token: Annotated[
        str, typer.Option(help="the store's assembly API token", envvar=PICKERS_TOKEN_ENV)
    ],
    picker_id: Annotated[list[int], typer.Option(help="a picker of the store (repeatable)")],
    shortage: Annotated[float, typer.Option(help="share of lines picked short")] = 0.08,
    replacement: Annotated[float, typer.Option(help="share of lines replaced")] = 0.05,
    seconds_per_line: Annotated[float, typer.Option(help="time to pick a line")] = 0.0,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    ca_file: Annotated[str | None, typer.Option(help="trust this certificate (nginx's)")] = None,
    counter_url: Annotated[
        str | None,
        typer.Option(help="the SM emulator's pickup counter of this store: <sm>/counter/<storeID>"),
    ] = None,
) -> None:
    """Pickers that take, pick (shortages, replacements, weights, marking codes) and finish."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    habits = PickerHabits(
        shortage=shortage, replacement=replacement, seconds_per_line=seconds_per_line
    )
    verify = trusting(ca_file)
    counter = counter_of(counter_url, verify) if counter_url else None
    team = PickerTeam(api_url, token, picker_id, habits, seed, verify=verify, counter=counter)
    stats = run_team_until_signalled(team)
    Console(stderr=True).print(f"pickers: {stats}")
