"""``smbridge db skip-numbers`` and ``db copy``: the database commands of recovery."""

from __future__ import annotations

from typing import Annotated

import typer

# admin.py keeps the db backup/restore commands and their refusal helper (a small diff there).
from smbridge.entrypoints.cli.admin import _or_exit, print_jump
from smbridge.entrypoints.cli.context import console, print_table
from smbridge.kernel.clock import utc_now
from smbridge.kernel.database import backup
from smbridge.kernel.database.copy import copy_database
from smbridge.settings import get_settings


def db_skip_numbers(
    number_gap: Annotated[
        int, typer.Option(min=1, help="skip at least this many order numbers")
    ] = backup.DEFAULT_NUMBER_GAP,
) -> None:
    """Move the next order number past any the lost database may have issued (what `db
    restore` does; for a database restored otherwise, e.g. by pgBackRest)."""
    url = get_settings().database_url
    jump = _or_exit(
        lambda: backup.skip_numbers_at(url, number_gap, utc_now(), "smbridge db skip-numbers")
    )
    print_jump(jump)
    if jump is None:
        raise typer.Exit(2)


def db_copy(
    source: Annotated[str, typer.Option("--from", help="URL of the database to copy")],
    target: Annotated[str, typer.Option("--to", help="URL of an empty (or new) database")],
) -> None:
    """Copy every row of one database into an empty one (SQLite to PostgreSQL and back),
    then count each table's rows on both sides. Stop the services first."""
    with console.status("copying…"):
        counts = _or_exit(lambda: copy_database(source, target, utc_now()))
    print_table(
        ("table", "source rows", "target rows"),
        [(c.name, str(c.source), str(c.target)) for c in counts],
    )
    into = backup.shown(backup.parse_url(target))
    console.print(f"copied {sum(c.target for c in counts)} rows into {into}")
