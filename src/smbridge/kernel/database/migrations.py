"""Running the Alembic migrations that ship inside the package."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from smbridge.kernel.database.engine import READ_ONLY, is_sqlite


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("smbridge") / "migrations"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Back to ``revision`` (the tests prove each migration can be undone)."""
    _run(engine, command.downgrade, revision)


def _run(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    with engine.connect() as connection, _foreign_keys_off(connection), connection.begin():
        config = _config()
        config.attributes["connection"] = connection
        step(config, revision)
        if is_sqlite(engine):
            _require_foreign_keys_hold(connection)


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite's own recipe for rebuilding a table (ALTER TABLE, "other kinds of changes"):
    keys off outside the transaction, checked before commit. With them on, dropping the old
    orders table would delete every order's positions (ON DELETE CASCADE)."""
    if not is_sqlite(connection.engine):
        yield
        return
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: none is open yet
    try:
        yield
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


def _require_foreign_keys_hold(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration broke {len(broken)} foreign keys, e.g. {tuple(broken[0])}")


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        return MigrationContext.configure(connection).get_current_revision()


def autogenerate(engine: Engine, message: str) -> None:
    """For developers: write a new revision from the difference to ``tables.py``."""
    with engine.begin() as connection:
        config = _config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def head_revision() -> str:
    """The newest revision shipped with this code."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head
