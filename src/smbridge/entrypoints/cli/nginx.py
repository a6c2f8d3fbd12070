"""``smbridge nginx render``: the front's configuration from the SMBRIDGE_NGINX_* settings."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
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
    """Print a complete nginx.conf, or install it as OUTPUT: only if the certificate and key
    exist and have not expired and ``nginx -t`` accepts it, replacing the old file at once."""
    try:
        plan = nginx.plan_from_settings(get_settings(), state_dir=state_dir)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if output is None:
        sys.stdout.write(nginx.render(plan))
        return
    try:
        nginx.install(plan, output, datetime.now(UTC))
    except nginx.NginxRefused as refused:
        typer.echo(f"nginx render: {refused}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"nginx render: {output} installed (nginx -t passed); now: systemctl reload nginx")
