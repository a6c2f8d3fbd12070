"""Which database errors mean "run the transaction again" and which "come back later"."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from sqlalchemy import exc as sa
from sqlalchemy.orm.exc import StaleDataError

from smbridge.kernel.database.errors import DatabaseUnavailable, WriteConflict, translate


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
        wrapped(sa.IntegrityError, psycopg.errors.UniqueViolation("duplicate key")),
        wrapped(sa.DataError, psycopg.errors.NumericValueOutOfRange("out of range")),
        wrapped(sa.ProgrammingError, psycopg.errors.UndefinedColumn("no such column")),
        ValueError("a bug"),
    ],
)
def test_bugs_and_bad_data_are_not_the_databases_state(error: Exception) -> None:
    assert translate(error) is None
