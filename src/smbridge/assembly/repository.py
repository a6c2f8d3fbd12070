"""Pickers, their shifts, stores' API tokens and the assembly API's idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Row,
    Select,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from smbridge.domain.picker import Picker, Shift
from smbridge.domain.status import OrderStatus
from smbridge.kernel.database.repository import EntityRepository, SessionRepository
from smbridge.kernel.database.tables import (
    api_tokens,
    idempotency_keys,
    orders,
    picker_shifts,
    pickers,
    stores,
)
from smbridge.orders.repository import active_of_store


class BoardLine(NamedTuple):
    """An active order as the store's board (``getActiveOrders``) shows it."""

    number: str
    sm_order_id: str
    status: OrderStatus
    picker_id: int | None
    received_at: datetime
    taken_at: datetime | None
    assembled_at: datetime | None
    expected_assembly_at: datetime
    delivery_from: datetime | None
    delivery_to: datetime | None
    changed_by_customer: bool
    courier_arrived_at: datetime | None


#: The board's columns, in the order of ``BoardLine``'s fields, read without the ORM.
BOARD_COLUMNS = [orders.c[name] for name in BoardLine._fields]


class AssemblyOrders(SessionRepository):
    """The assembly API's board of orders: one statement per call (the orders it works on
    come from ``OrderRepository.by_number``)."""

    def board(self, store_id: int) -> list[BoardLine]:
        """The store's active orders, deadline first: plain rows, no entities, no positions
        (a read-only listing needs neither)."""
        rows = self._session.execute(active_of_store(select(*BOARD_COLUMNS), store_id))
        return [BoardLine._make(row) for row in rows]


class PickerRepository(EntityRepository[Picker]):
    entity = Picker

    def of_store(self, store_id: int) -> Sequence[Picker]:
        return self._session.scalars(
            select(Picker).where(pickers.c.store_id == store_id).order_by(pickers.c.id)
        ).all()

    def open_shift(self, picker_id: int) -> Shift | None:
        return self._session.scalars(
            select(Shift).where(
                picker_shifts.c.picker_id == picker_id, picker_shifts.c.closed_at.is_(None)
            )
        ).one_or_none()

    def with_open_shift(self, picker_id: int) -> tuple[Picker | None, Shift | None]:
        """A picker and their open shift (if any), in one statement."""
        row = self._session.execute(
            _picker_with_open_shift(), {"picker_id": picker_id}
        ).one_or_none()
        return (None, None) if row is None else (row[0], row[1])

    def add_shift(self, shift: Shift) -> None:
        self._session.add(shift)
        self._session.flush()


class ApiTokenRepository(SessionRepository):
    """Store-bound tokens of the assembly API; only their SHA-256 is kept."""

    def store_of(self, token_sha256: str) -> int | None:
        """The store of an unrevoked token, if that store is active (a closed store's
        devices lose access without revoking each token)."""
        return self._session.execute(
            _STORE_OF_TOKEN, {"token_sha256": token_sha256}
        ).scalar_one_or_none()

    def store_and_answer(
        self, token_sha256: str, request_id: str
    ) -> tuple[int | None, StoredAnswer | None]:
        """``store_of`` the token and the store's kept answer to ``request_id`` (see
        ``IdempotencyKeys.get``), in one statement: a keyed call's first round trip."""
        row = self._session.execute(
            _STORE_AND_ANSWER, {"token_sha256": token_sha256, "request_id": request_id}
        ).one_or_none()
        if row is None:
            return None, None
        if row.method is None:
            return row.store_id, None
        answer = StoredAnswer(row.method, row.request_sha256, row.status_code, row.response)
        return row.store_id, answer

    def add(self, store_id: int, token_sha256: str, label: str, now: datetime) -> int:
        statement = insert(api_tokens).values(
            store_id=store_id, token_sha256=token_sha256, label=label, created_at=now
        )
        return int(self._session.execute(statement.returning(api_tokens.c.id)).scalar_one())

    def revoke(self, token_id: int, now: datetime) -> bool:
        result = self._session.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def revoke_labelled(self, store_id: int, label: str, now: datetime) -> int:
        """Revoke the store's live tokens issued under ``label``; how many there were."""
        result = self._session.execute(
            update(api_tokens)
            .where(
                api_tokens.c.store_id == store_id,
                api_tokens.c.label == label,
                api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def all(self) -> Sequence[Row[Any, Any, Any, Any, Any]]:
        return self._session.execute(
            select(
                api_tokens.c.id,
                api_tokens.c.store_id,
                api_tokens.c.label,
                api_tokens.c.created_at,
                api_tokens.c.revoked_at,
            ).order_by(api_tokens.c.id)
        ).all()


@dataclass(frozen=True)
class StoredAnswer:
    method: str
    request_sha256: str
    status_code: int
    response: dict[str, Any]


class IdempotencyKeys(SessionRepository):
    """The first answer to each (store, requestId), kept in the same transaction as its effect."""

    def get(self, store_id: int, request_id: str) -> StoredAnswer | None:
        key = idempotency_keys.c
        row = self._session.execute(
            select(key.method, key.request_sha256, key.status_code, key.response).where(
                key.store_id == store_id, key.request_id == request_id
            )
        ).one_or_none()
        return (
            None
            if row is None
            else StoredAnswer(row.method, row.request_sha256, row.status_code, row.response)
        )

    def purge(self, created_before: datetime) -> int:
        """Forget answers older than the retention; returns how many were removed."""
        removed = self._session.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < created_before)
        )
        return int(removed.rowcount)  # type: ignore[attr-defined]

    def add(self, store_id: int, request_id: str, answer: StoredAnswer, now: datetime) -> None:
        self._session.execute(
            _INSERT_KEY,
            {
                "store_id": store_id,
                "request_id": request_id,
                "method": answer.method,
                "request_sha256": answer.request_sha256,
                "status_code": answer.status_code,
                "response": answer.response,
                "created_at": now,
            },
        )


# The hot calls' statements, built once: SQLAlchemy keeps a statement object's cache key, so
# each call only binds its values (building and keying a new one cost more than running it).


@cache
def _picker_with_open_shift() -> Select[Picker, Shift]:
    """Built on first use: the entities are mapped when the database is set up."""
    return (
        select(Picker, Shift)
        .outerjoin(
            picker_shifts,
            and_(picker_shifts.c.picker_id == pickers.c.id, picker_shifts.c.closed_at.is_(None)),
        )
        .where(pickers.c.id == bindparam("picker_id"))
    )


_LIVE_TOKEN = and_(
    api_tokens.c.token_sha256 == bindparam("token_sha256"),
    api_tokens.c.revoked_at.is_(None),
    stores.c.active.is_(True),
)

_STORE_OF_TOKEN = (
    select(api_tokens.c.store_id)
    .join(stores, stores.c.id == api_tokens.c.store_id)
    .where(_LIVE_TOKEN)
)

_STORE_AND_ANSWER = (
    select(
        api_tokens.c.store_id,
        idempotency_keys.c.method,
        idempotency_keys.c.request_sha256,
        idempotency_keys.c.status_code,
        idempotency_keys.c.response,
    )
    .select_from(api_tokens)
    .join(stores, stores.c.id == api_tokens.c.store_id)
    .outerjoin(
        idempotency_keys,
        and_(
            idempotency_keys.c.store_id == api_tokens.c.store_id,
            idempotency_keys.c.request_id == bindparam("request_id"),
        ),
    )
    .where(_LIVE_TOKEN)
)

_INSERT_KEY = insert(idempotency_keys)
