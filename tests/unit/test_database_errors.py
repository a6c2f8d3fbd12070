"""Which database errors mean "run the transaction again", which "come back later", and
which "it is there already"."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, insert
from sqlalchemy import exc as sa
from sqlalchemy.orm.exc import StaleDataError

from smbridge.kernel.database.errors import (
    AlreadyExists,
    DatabaseUnavailable,
    WriteConflict,
    translate,
    translating_errors,
)


def wrapped(kind: type[sa.DBAPIError], orig: Exception) -> sa.DBAPIError:
    return kind("UPDATE orders ...", None, orig)


@pytest.mark.parametrize(
    "error",
    [
        StaleDataError("UPDATE statement on table 'orders' expected to update 1 row(s)"),
        wrapped(sa.OperationalError, psycopg.errors.SerializationFailure("could not serialize")),
        wrapped(sa.OperationalError, psycopg.errors.DeadlockDetected("deadlock detected")),
        wrapped(sa.OperationalError, psycopg.errors.LockNotAvailable("could not obtain lock")),
    ],
)
def test_contention_is_a_conflict_to_retry(error: Exception) -> None:
    assert isinstance(translate(error), WriteConflict)


@pytest.mark.parametrize(
    "error",
    [
        wrapped(sa.OperationalError, psycopg.OperationalError("connection refused")),
        wrapped(sa.OperationalError, psycopg.errors.AdminShutdown("terminating connection")),
        wrapped(sa.InterfaceError, psycopg.InterfaceError("the connection is closed")),
        wrapped(sa.OperationalError, sqlite3.OperationalError("database is locked")),
        wrapped(sa.OperationalError, sqlite3.OperationalError("database or disk is full")),
        wrapped(sa.OperationalError, sqlite3.OperationalError("disk I/O error")),
        sa.TimeoutError("QueuePool limit of size 5 overflow 5 reached"),
    ],
)
def test_outages_mean_come_back_later(error: Exception) -> None:
    meaning = translate(error)
    assert isinstance(meaning, DatabaseUnavailable)
    assert "UPDATE" not in str(meaning)  # the statement (and its data) stay out of the text


@pytest.mark.parametrize(
    "error",
    [
        wrapped(sa.IntegrityError, psycopg.errors.ForeignKeyViolation("no such order")),
        wrapped(sa.IntegrityError, psycopg.errors.NotNullViolation("null value")),
        wrapped(sa.IntegrityError, sqlite3.IntegrityError("NOT NULL constraint failed: t.n")),
        wrapped(sa.IntegrityError, sqlite3.IntegrityError("FOREIGN KEY constraint failed")),
        wrapped(sa.DataError, psycopg.errors.NumericValueOutOfRange("out of range")),
        wrapped(sa.ProgrammingError, psycopg.errors.UndefinedColumn("no such column")),
        ValueError("a bug"),
    ],
)
def test_bugs_and_bad_data_are_not_the_databases_state(error: Exception) -> None:
    assert translate(error) is None


@pytest.mark.parametrize(
    "error",
    [
        wrapped(sa.IntegrityError, psycopg.errors.UniqueViolation("duplicate key value")),
        wrapped(sa.IntegrityError, sqlite3.IntegrityError("UNIQUE constraint failed: t.key")),
    ],
)
def test_a_duplicate_key_means_the_row_already_exists(error: Exception) -> None:
    meaning = translate(error)
    assert isinstance(meaning, AlreadyExists)
    assert "UPDATE" not in str(meaning)  # the statement (and its data) stay out of the text


def sqlite_error(key: Column[int], *rows: dict[str, int | None]) -> sa.IntegrityError:
    """What SQLite itself raises when the last of ``rows`` breaks a constraint."""
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), key)
    engine = create_engine("sqlite://")
    table.create(engine)
    *earlier, last = rows
    with engine.connect() as connection:
        for row in earlier:
            connection.execute(insert(table).values(**row))
        with pytest.raises(sa.IntegrityError) as raised:
            connection.execute(insert(table).values(**last))
    return raised.value


@pytest.mark.parametrize(
    ("unique", "second_row"),
    [(False, {"id": 1, "key": 2}), (True, {"id": 2, "key": 1})],
    ids=["same primary key", "same unique column"],
)
def test_sqlite_duplicate_keys_mean_the_row_already_exists(
    unique: bool, second_row: dict[str, int | None]
) -> None:
    error = sqlite_error(Column("key", Integer, unique=unique), {"id": 1, "key": 1}, second_row)
    assert isinstance(translate(error), AlreadyExists)


def test_sqlite_other_constraint_failures_are_no_duplicates() -> None:
    key = Column("key", Integer, nullable=False)
    assert translate(sqlite_error(key, {"id": 1, "key": None})) is None


def test_writes_raise_the_meaning_with_the_database_error_as_its_cause() -> None:
    duplicate = wrapped(sa.IntegrityError, psycopg.errors.UniqueViolation("duplicate key"))
    with pytest.raises(AlreadyExists) as raised, translating_errors():
        raise duplicate
    assert raised.value.__cause__ is duplicate


def test_writes_let_other_errors_pass_as_they_are() -> None:
    bug = ValueError("a bug")
    with pytest.raises(ValueError, match="a bug") as raised, translating_errors():
        raise bug
    assert raised.value is bug
