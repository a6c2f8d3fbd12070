"""What every command shares: the console, a database for the command's duration."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from smbridge.kernel.database.unit_of_work import Database
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
