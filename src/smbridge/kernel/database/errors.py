"""What a database failure means for a use case: retry, come back later, or it is there.

Every unit of work turns the drivers' errors into one of these, so use cases and views
decide on meaning, not on SQLAlchemy's or a driver's exception classes:
- ``WriteConflict``: another transaction changed the same rows (a stale row, a
  serialization failure, a deadlock). Ours was rolled back whole; running it again is safe.
- ``DatabaseUnavailable``: the database cannot be reached or cannot write right now (a
  restart, a network cut, a full disk, SQLite locked for longer than the busy timeout).
  Nothing was written; the caller answers "try again later" (HTTP 503 with Retry-After).
- ``AlreadyExists``: a row with the same unique key is there already, usually because a
  concurrent writer got there first. The transaction failed; the use case decides what
  that means (answer as the first writer did, skip the row).
Other errors (other integrity violations, data, programming) are bugs or bad data and pass
through as they are.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import structlog
from sqlalchemy import exc as sa
from sqlalchemy.orm.exc import StaleDataError

log = structlog.get_logger(__name__)
Result = TypeVar("Result")

#: SQLSTATEs of PostgreSQL that mean "the same rows were contended": retry at once.
_CONFLICT_STATES = frozenset({"40001", "40P01", "55P03"})
#: PostgreSQL's unique_violation (psycopg raises it as ``UniqueViolation``).
_UNIQUE_VIOLATION_STATE = "23505"
#: SQLite's extended result codes for a duplicate key (Python 3.11 names them).
_SQLITE_DUPLICATE_KEY = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


class DatabaseUnavailable(Exception):
    """The database did not take the transaction; nothing was written. Retry later."""


class WriteConflict(Exception):
    """A concurrent transaction won; this one was rolled back and may simply run again."""


class AlreadyExists(Exception):
    """A row with the same unique key exists; the transaction must be rolled back."""


def translate(error: BaseException) -> Exception | None:
    """The meaning of a database error, or None when it is not about the database's state."""
    if isinstance(error, StaleDataError):
        return WriteConflict(f"stale row: {error}")
    if isinstance(error, sa.TimeoutError):  # no pooled connection came free in time
        return DatabaseUnavailable("no database connection available")
    if not isinstance(error, sa.DBAPIError):
        return None
    if isinstance(error, sa.IntegrityError) and _is_duplicate_key(error.orig):
        return AlreadyExists(_describe(error))
    state = getattr(error.orig, "sqlstate", None)
    if state in _CONFLICT_STATES:
        return WriteConflict(f"concurrent write (SQLSTATE {state})")
    if error.connection_invalidated or isinstance(error, sa.OperationalError | sa.InterfaceError):
        return DatabaseUnavailable(_describe(error))
    return None


@contextmanager
def translating_errors() -> Iterator[None]:
    """Raise what a database error means (see ``translate``) instead of the error itself;
    for the places that write: a commit, a repository's flush."""
    try:
        yield
    except Exception as error:
        meaning = translate(error)
        if meaning is None:
            raise
        raise meaning from error


def _is_duplicate_key(driver_error: BaseException | None) -> bool:
    if getattr(driver_error, "sqlstate", None) == _UNIQUE_VIOLATION_STATE:
        return True
    sqlite_name = getattr(driver_error, "sqlite_errorname", None)
    if sqlite_name is not None:
        return sqlite_name in _SQLITE_DUPLICATE_KEY
    # SQLite's message when the extended code is not at hand (a primary key says the same).
    return str(driver_error).startswith("UNIQUE constraint failed")


def _describe(error: sa.DBAPIError) -> str:
    # The driver's first line says what happened (never the parameters: hide_parameters).
    first_line = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
    return f"{type(error.orig).__name__}: {first_line}"[:300]


_CONFLICT_ATTEMPTS = 4
_CONFLICT_BACKOFF = 0.005  # seconds; doubled per attempt, jittered so rivals drift apart


def retrying_conflicts(work: Callable[[], Result], what: str) -> Result:
    """Run a transaction again while it loses to concurrent writers, a few times with a
    short jittered backoff; a conflict that will not settle means "come back later"."""
    for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
        try:
            return work()
        except WriteConflict as conflict:
            log.warning("database.conflict_retry", what=what, attempt=attempt, error=str(conflict))
            time.sleep(random.uniform(0, _CONFLICT_BACKOFF * 2**attempt))
    raise DatabaseUnavailable(f"{what}: write conflicts went on for {_CONFLICT_ATTEMPTS} attempts")
