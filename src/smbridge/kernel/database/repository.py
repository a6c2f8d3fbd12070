"""What every repository and query object is built on: the unit of work's session."""

from __future__ import annotations

from sqlalchemy.orm import Session


class SessionRepository:
    """A feature's repository or query object; ``uow.repo(Kind)`` builds one per transaction."""

    def __init__(self, session: Session) -> None:
        self._session = session
