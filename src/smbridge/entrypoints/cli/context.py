"""What every command shares: the console, a database for the command's duration."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.table import Table

from smbridge.kernel.database.unit_of_work import Database, UnitOfWork
from smbridge.kernel.logs import configure_logging
from smbridge.orders.repository import StoreRepository
from smbridge.settings import get_settings

console = Console()


@contextmanager
def database() -> Iterator[Database]:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    db = Database.from_settings(settings)
    try:
        yield db
    finally:
        db.dispose()


def find_store_id(db: Database, sm_store_id: str) -> int:
    with db.unit_of_work() as uow:
        store = uow.repo(StoreRepository).by_sm_id(sm_store_id)
        if store is None or store.id is None:
            raise typer.BadParameter(f"no store with SM storeID {sm_store_id}")
        return store.id


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def require_one_or_all(one: int | None, every: bool, every_flag: str) -> None:
    """Commands that act on one row (``--id N``) or on every row of a kind take exactly one."""
    if (one is None) == (not every):
        raise typer.BadParameter(f"give either --id N or {every_flag}")


def chosen_ids(
    db: Database, one: int | None, every: Callable[[UnitOfWork], Iterable[int | None]]
) -> list[int]:
    """The one id given, or else the ids of all the rows ``every`` lists."""
    if one is not None:
        return [one]
    with db.unit_of_work() as uow:
        return [found for found in every(uow) if found is not None]
