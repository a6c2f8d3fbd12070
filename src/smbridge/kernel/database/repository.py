"""What every repository and query object is built on: the unit of work's session."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

EntityT = TypeVar("EntityT")


class SessionRepository:
    """A feature's repository or query object; ``uow.repo(Kind)`` builds one per transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session


class EntityRepository(SessionRepository, Generic[EntityT]):
    """The repository of one mapped entity; a subclass names it in ``entity``."""

    entity: type[EntityT]

    def get(self, entity_id: int) -> EntityT | None:
        return self._session.get(self.entity, entity_id)

    def add(self, item: EntityT) -> None:
        """Add and flush, so the entity has its id at once."""
        self._session.add(item)
        self._session.flush()


def defaults_of(entity: type[DataclassInstance], *given: str) -> dict[str, Any]:
    """The columns a new ``entity`` takes from its dataclass defaults: every field but ``id``
    and the ``given`` ones (a field without a plain default must be given).

    For the hot paths that write a new row straight from values, never building the mapped
    object (its instrumented attribute sets cost CPU, issue 11): the entity's defaults stay
    the one place that says what a new row holds.
    """
    taken = {"id", *given}
    missing = [f.name for f in fields(entity) if f.name not in taken and f.default is MISSING]
    if missing:
        raise TypeError(f"{entity.__name__}: no plain default for {missing}")
    return {f.name: f.default for f in fields(entity) if f.name not in taken}
