"""Pickers, their shifts, stores' API tokens and the assembly API's idempotency keys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Row,
    Select,
    Update,
    and_,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.orm.exc import StaleDataError

from smbridge.assembly.cards import BoardLine, CardPosition, CardState
from smbridge.domain.pick import PickRecord
from smbridge.domain.picker import Picker, Shift
from smbridge.domain.sm_order import SmOrderLine
from smbridge.domain.status import OrderStatus
from smbridge.kernel.database.repository import EntityRepository, SessionRepository
from smbridge.kernel.database.tables import (
    api_tokens,
    idempotency_keys,
    order_positions,
    orders,
    picker_shifts,
    pickers,
    stores,
)
from smbridge.orders.repository import active_of_store

#: The board's columns, in the order of ``BoardLine``'s fields, read without the ORM.
BOARD_COLUMNS = [orders.c[name] for name in BoardLine._fields]
_BOARD_END = len(BOARD_COLUMNS)


def board_select(
    store_id: int | BindParameter[int], *more: ColumnElement[Any]
) -> Select[*tuple[Any, ...]]:
    """The board's statement: the store's active orders, deadline first, as ``BoardLine``'s
    columns followed by ``more`` (what another view of the board shows beside them; a row
    splits back with ``board_line`` and ``beside_line``)."""
    return active_of_store(select(*BOARD_COLUMNS, *more), store_id)


def board_line(row: Sequence[Any]) -> BoardLine:
    """The ``BoardLine`` at the head of a row of ``board_select`` (or of an order's card)."""
    return BoardLine._make(row[:_BOARD_END])


def beside_line(row: Sequence[Any]) -> Sequence[Any]:
    """The columns a row of ``board_select`` has after its ``BoardLine``: its ``more``."""
    return row[_BOARD_END:]


# Built once: SQLAlchemy keeps its cache key, so each call only binds the store.
_BOARD = board_select(bindparam("store_id", type_=Integer))


class AssemblyOrders(SessionRepository):
    """The assembly API's board of orders: one statement per call (the orders it works on
    come from ``OrderRepository.by_number``)."""

    def board(self, store_id: int) -> list[BoardLine]:
        """The store's active orders, deadline first: plain rows, no entities, no positions
        (a read-only listing needs neither)."""
        rows = self._session.connection().execute(_BOARD, {"store_id": store_id})
        return [BoardLine._make(row) for row in rows]


class OrderCards(SessionRepository):
    """An order's card read and written with Core statements, not the ORM's graph: the hot
    calls' reads and writes (issue 11). The pure decisions of ``domain.order`` say what
    changes; the writes check the row's version as the mapper's would."""

    def card(self, store_id: int, number: str, *, for_update: bool) -> CardState | None:
        """The store's order by our number with its positions, in one statement (locked on
        PostgreSQL when ``for_update``; SQLite's BEGIN IMMEDIATE already excludes)."""
        statement = _CARD_LOCKED if for_update else _CARD
        rows = (
            self._session.connection()
            .execute(statement, {"store_id": store_id, "number": number})
            .all()
        )
        if not rows:
            return None
        positions = [
            CardPosition(
                row[_ORDER_END],
                row[_ORDER_END + 1],
                SmOrderLine(*row[_ORDER_END + 2 : _LINE_END]),
                PickRecord(*row[_LINE_END:]),
            )
            for row in rows
            if row[_ORDER_END] is not None
        ]
        first = rows[0]
        return CardState._make((board_line(first), *first[_BOARD_END:_ORDER_END], positions))

    def take(self, card: CardState, picker_id: int, now: datetime) -> CardState:
        """The order goes «В сборке» with the picker (what ``Order.take`` sets)."""
        status = OrderStatus.IN_ASSEMBLY
        values = {"status": status, "picker_id": picker_id, "taken_at": now, "updated_at": now}
        self._update_order(_TAKE, card, values)
        summary = card.summary._replace(status=status, picker_id=picker_id, taken_at=now)
        return card._replace(summary=summary)

    def record_pick(
        self, card: CardState, position: CardPosition, pick: PickRecord, now: datetime
    ) -> CardState:
        """The line's new pick record (what ``Order.record_pick`` sets)."""
        values = {key: getattr(pick, name) for key, name in _PICK_FIELDS}
        values["position_key"] = position.id
        if self._session.connection().dialect.name == "postgresql":
            # One statement: the position's UPDATE rides along in the order's as a CTE.
            self._update_order(_PICK_AND_TOUCH, card, {"updated_at": now}, values)
        else:
            self._session.connection().execute(_SET_PICK, values)
            if card.updated_at != now:  # else the row would not change (nor did the mapper's)
                self._update_order(_TOUCH, card, {"updated_at": now})
        positions = [p._replace(pick=pick) if p is position else p for p in card.positions]
        return card._replace(positions=positions)

    def _update_order(
        self,
        statement: Update,
        card: CardState,
        values: dict[str, Any],
        more: dict[str, Any] | None = None,
    ) -> None:
        """The order's UPDATE, only of the version read (as the mapper's version check);
        ``more``: the parameters of other statements in the same one."""
        assert card.version is not None, "a card read by ``card`` has its version"
        params = {f"new_{name}": value for name, value in values.items()} | (more or {})
        params |= {"order_key": card.id, "old_version": card.version}
        result = self._session.connection().execute(
            statement, params | {"new_version": card.version + 1}
        )
        if result.rowcount != 1:
            raise StaleDataError(f"order {card.id} changed since it was read")


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

    def with_open_shift(self, picker_id: int) -> tuple[Picker | None, int | None]:
        """A picker and the store of their open shift (None: no shift open), in one Core
        statement: the picker is made of its columns, not loaded into the session (a
        takeOrder's check, issue 11); nothing written to it would be saved."""
        row = (
            self._session.connection()
            .execute(_PICKER_WITH_OPEN_SHIFT, {"picker_id": picker_id})
            .one_or_none()
        )
        if row is None:
            return None, None
        *columns, shift_store_id = row
        return Picker(**dict(zip(_PICKER_FIELDS, columns, strict=True))), shift_store_id

    def add_shift(self, shift: Shift) -> None:
        self._session.add(shift)
        self._session.flush()


class ApiTokenRepository(SessionRepository):
    """Store-bound tokens of the assembly API; only their SHA-256 is kept."""

    def store_of(self, token_sha256: str) -> int | None:
        """The store of an unrevoked token, if that store is active (a closed store's
        devices lose access without revoking each token)."""
        return (
            self._session.connection()
            .execute(_STORE_OF_TOKEN, {"token_sha256": token_sha256})
            .scalar_one_or_none()
        )

    def store_and_answer(
        self, token_sha256: str, request_id: str
    ) -> tuple[int | None, StoredAnswer | None]:
        """``store_of`` the token and the store's kept answer to ``request_id`` (see
        ``IdempotencyKeys.get``), in one statement: a keyed call's first round trip."""
        row = (
            self._session.connection()
            .execute(_STORE_AND_ANSWER, {"token_sha256": token_sha256, "request_id": request_id})
            .one_or_none()
        )
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
        self._session.connection().execute(
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


_PICKER_FIELDS = ("id", "store_id", "name", "telegram_chat_id", "active")
_PICKER_WITH_OPEN_SHIFT = (
    select(*(pickers.c[name] for name in _PICKER_FIELDS), picker_shifts.c.store_id)
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


_CARD_ORDER_COLUMNS = [
    *BOARD_COLUMNS,
    orders.c.comment,
    orders.c.replacement_policy,
    orders.c.bags,
    orders.c.id,
    orders.c.version,
    orders.c.updated_at,
]
_LINE_COLUMNS = [order_positions.c[name] for name in SmOrderLine.__dataclass_fields__]
_PICK_COLUMNS = [
    order_positions.c.picked_quantity,  # in the order of PickRecord's fields, as the mapping
    order_positions.c.picked_weight_grams,
    order_positions.c.marking_codes,
    order_positions.c.source,
    order_positions.c.replaces_line_no,
]
_PICK_KEYS = [f"new_{column.name}" for column in _PICK_COLUMNS]
_PICK_FIELDS = list(zip(_PICK_KEYS, PickRecord.__dataclass_fields__, strict=True))
_ORDER_END = len(_CARD_ORDER_COLUMNS)
_LINE_END = _ORDER_END + 2 + len(_LINE_COLUMNS)

_CARD = (
    select(
        *_CARD_ORDER_COLUMNS,
        order_positions.c.id,
        order_positions.c.line_no,
        *_LINE_COLUMNS,
        *_PICK_COLUMNS,
    )
    .select_from(orders)
    .outerjoin(order_positions, order_positions.c.order_id == orders.c.id)
    .where(orders.c.store_id == bindparam("store_id"), orders.c.number == bindparam("number"))
    .order_by(order_positions.c.line_no)
)
_CARD_LOCKED = _CARD.with_for_update(of=orders)


def _order_update(*names: str) -> Update:
    """UPDATE orders SET each named column (and the next version) WHERE the version read."""
    columns = [*names, "version"]
    return (
        update(orders)
        .where(orders.c.id == bindparam("order_key"))
        .where(orders.c.version == bindparam("old_version"))
        .values({name: bindparam(f"new_{name}", type_=orders.c[name].type) for name in columns})
    )


_TAKE = _order_update("status", "picker_id", "taken_at", "updated_at")
_TOUCH = _order_update("updated_at")
_SET_PICK = (
    update(order_positions)
    .where(order_positions.c.id == bindparam("position_key"))
    .values(
        {
            column.name: bindparam(key, type_=column.type)
            for column, key in zip(_PICK_COLUMNS, _PICK_KEYS, strict=True)
        }
    )
)
_PICK_AND_TOUCH = _TOUCH.add_cte(_SET_PICK.returning(order_positions.c.id).cte("picked"))
