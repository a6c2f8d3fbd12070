"""What every repository and query object is built on: the unit of work's session."""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy.orm import Session

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
