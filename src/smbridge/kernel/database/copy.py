"""Copying every row of one database into another of either kind (SQLite to PostgreSQL and
back): ``smbridge db copy``.

The target gets the schema of this release (migrated here if it has none) and must hold no
row. Tables are copied parents first, each streamed in batches through the schema's own
column types (times, money, JSON read and written as the services do), into one
transaction of the target: a failed copy leaves it empty. The services are stopped
meanwhile: what they wrote after a table was read would be lost (PostgreSQL as the source
is read in one snapshot anyway; SQLite's reads are not one transaction). Then PostgreSQL's
sequences are set past the copied ids, and the next order's number past any the source
could have issued (numbering.py); each table's rows are counted on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, Integer, create_engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from smbridge.kernel.database import migrations, numbering
from smbridge.kernel.database.backup import BackupError, parse_url, shown
from smbridge.kernel.database.tables import metadata

BATCH = 2_000
#: A serial column's sequence at its highest value (nothing for columns without one).
_SETVAL = text(
    "SELECT setval(seq, :value, :called) FROM pg_get_serial_sequence(:t, :c) AS seq "
    "WHERE seq IS NOT NULL"
)


@dataclass(frozen=True)
class TableCount:
    name: str
    source: int
    target: int


def copy_database(
    source_url: str, target_url: str, now: datetime, batch: int = BATCH
) -> list[TableCount]:
    """Copy every row from ``source_url`` into the empty database ``target_url``; the rows
    counted in each table on both sides (equal, else BackupError)."""
    source, target = parse_url(source_url), parse_url(target_url)
    if shown(source) == shown(target):
        raise BackupError("the source and the target are the same database")
    if source.get_backend_name() == "sqlite" and not Path(source.database or "").is_file():
        raise BackupError(f"no database file {source.database}")  # never create an empty one
    reading, writing = create_engine(source), create_engine(target)
    try:
        _require_same_schema(reading, writing)
        with reading.connect() as src, writing.begin() as dst:
            if src.dialect.name == "postgresql":  # one snapshot of the source
                src.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            _require_empty(dst)
            for table in metadata.sorted_tables:
                _copy_table(src, dst, table.name, batch)
            _fix_numbering(src, dst, now)
            if (
                dst.dialect.name == "sqlite"
                and dst.exec_driver_sql("PRAGMA foreign_key_check").first()
            ):
                raise BackupError("the copy has broken foreign keys")
            counts = [_counted(src, dst, table.name) for table in metadata.sorted_tables]
            wrong = [c.name for c in counts if c.source != c.target]
            if wrong:  # rolled back: the target stays empty
                raise BackupError(f"row counts differ after the copy: {', '.join(wrong)}")
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        raise BackupError(f"copy failed: {reason[0] if reason else type(error).__name__}") from None
    finally:
        reading.dispose()
        writing.dispose()
    return counts


def _require_same_schema(reading: Engine, writing: Engine) -> None:
    head = migrations.head_revision()
    found = migrations.current_revision(reading)
    if found != head:
        raise BackupError(f"the source is at revision {found}, not {head}: `db upgrade` it")
    if migrations.current_revision(writing) is None:
        migrations.upgrade(writing)  # a new, empty database: this release's schema
    elif migrations.current_revision(writing) != head:
        raise BackupError(f"the target is at revision {migrations.current_revision(writing)}")


def _require_empty(dst: Connection) -> None:
    for table in metadata.sorted_tables:
        if dst.execute(select(table).limit(1)).first() is not None:
            raise BackupError(f"the target is not empty (table {table.name} has rows)")


def _copy_table(src: Connection, dst: Connection, name: str, batch: int) -> None:
    table = metadata.tables[name]
    rows = src.execution_options(stream_results=True, yield_per=batch).execute(
        select(table).order_by(*table.primary_key.columns)
    )
    for part in rows.mappings().partitions(batch):
        dst.execute(table.insert(), [dict(row) for row in part])


def _fix_numbering(src: Connection, dst: Connection, now: datetime) -> None:
    """PostgreSQL's sequences past the copied ids; the next order past any number the
    source could have issued (its own floor or sequence may be beyond its highest id)."""
    if dst.dialect.name == "postgresql":
        for table in metadata.sorted_tables:
            for column in table.primary_key.columns:
                if not isinstance(column.type, Integer):
                    continue
                highest = dst.execute(select(func.max(column))).scalar()
                dst.execute(
                    _SETVAL,
                    {
                        "t": table.name,
                        "c": column.name,
                        "value": highest or 1,
                        "called": highest is not None,
                    },
                )
    issued = numbering.highest_issued(src)
    if issued and dst.dialect.name == "postgresql":  # the floor row alone would not do
        numbering.move_sequence(dst, max(issued, numbering.highest_issued(dst)))
    if issued > numbering.highest_issued(dst):
        numbering.set_floor(dst, issued, now, "smbridge db copy")


def _counted(src: Connection, dst: Connection, name: str) -> TableCount:
    table = metadata.tables[name]
    count = select(func.count()).select_from(table)
    return TableCount(name, src.execute(count).scalar_one(), dst.execute(count).scalar_one())
