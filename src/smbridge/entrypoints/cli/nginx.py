"""``smbridge nginx render``: the front's configuration from the SMBRIDGE_NGINX_* settings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from smbridge.deploy import nginx
from smbridge.settings import get_settings

nginx_app = typer.Typer(help="The nginx front (TLS, allow-lists, limits, pools).")


@nginx_app.command("render")
def render(
    output: Annotated[
        Path | None, typer.Option(help="write here (e.g. /etc/nginx/nginx.conf); default stdout")
    ] = None,
    state_dir: Annotated[
        str | None,
        typer.Option(help="private directory for pid, logs, temp files (overrides the setting)"),
    ] = None,
) -> None:
    """Write a complete nginx.conf; check it with ``nginx -t -c FILE``."""
    try:
        plan = nginx.plan_from_settings(get_settings(), state_dir=state_dir)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if output is None:
        sys.stdout.write(nginx.render(plan))
    else:
        nginx.write(plan, output)
