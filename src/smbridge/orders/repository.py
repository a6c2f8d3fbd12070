"""Finding and adding orders and stores: the aggregate every feature shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from functools import cache
from typing import Any, TypeVarTuple

from sqlalchemy import (
    BindParameter,
    Insert,
    Select,
    String,
    bindparam,
    cast,
    func,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from smbridge.domain.order import NewOrder, Order
from smbridge.domain.pick import PickRecord
from smbridge.domain.pickup import CODE_IN_USE
from smbridge.domain.sm_order import SmOrderHeader, SmOrderLine
from smbridge.domain.status import ACTIVE, OrderStatus
from smbridge.domain.store import Store
from smbridge.kernel.database.errors import AlreadyExists, WriteConflict, translating_errors
from smbridge.kernel.database.numbering import order_id_floor
from smbridge.kernel.database.repository import (
    EntityRepository,
    SessionRepository,
    defaults_of,
)
from smbridge.kernel.database.tables import (
    PICK_COLUMNS,
    order_positions,
    orders,
    stores,
)

_Ts = TypeVarTuple("_Ts")


def active_of_store(query: Select[*_Ts], store_id: int | BindParameter[int]) -> Select[*_Ts]:
    """``query`` narrowed to the store's orders still in play, the earliest deadline first:
    the board's rows and the orders behind them come in the same order (``store_id`` may be
    a parameter, for a statement built once)."""
    return query.where(orders.c.store_id == store_id, orders.c.status.in_(ACTIVE)).order_by(
        orders.c.expected_assembly_at, orders.c.id
    )


@cache
def _store_by_sm_id() -> Select[Store]:
    # Built once, when the mappers exist (start_mappers): asked for every new order (issue 11).
    return select(Store).where(stores.c.sm_store_id == bindparam("sm_store_id"))


class StoreRepository(EntityRepository[Store]):
    entity = Store

    def by_sm_id(self, sm_store_id: str) -> Store | None:
        found = self._session.scalars(_store_by_sm_id(), {"sm_store_id": sm_store_id})
        return found.one_or_none()

    def by_import_key(self, import_key: str) -> Store | None:
        return self._session.scalars(select(Store).where(stores.c.import_key == import_key)).first()

    def all(self) -> Sequence[Store]:
        return self._session.scalars(select(Store).order_by(stores.c.id)).all()


class OrderRepository(SessionRepository):
    def by_sm_id(self, sm_order_id: str, *, for_update: bool = False) -> Order | None:
        query = select(Order).where(orders.c.sm_order_id == sm_order_id)
        if for_update:  # the assembly API may be changing the same order right now
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).one_or_none()

    def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        query = select(Order).where(orders.c.id == order_id)
        if for_update:
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).one_or_none()

    def awaiting_store(self, *, for_update: bool = False) -> Sequence[Order]:
        """New orders whose SM store is not mapped to ours yet, oldest first."""
        query = (
            select(Order)
            .where(orders.c.store_id.is_(None), orders.c.status == OrderStatus.NEW)
            .order_by(orders.c.id)
        )
        if for_update:
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).all()

    def by_number(self, store_id: int, number: str, *, for_update: bool = False) -> Order | None:
        """An order of this store by our number, with its positions in the same statement
        (every caller works on them); other stores' orders do not exist here."""
        query = (
            select(Order)
            .options(joinedload(Order.positions))  # type: ignore[arg-type]  # mapped
            .where(orders.c.store_id == store_id, orders.c.number == number)
        )
        if for_update:  # row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes
            query = query.with_for_update(of=orders)
        return self._session.scalars(query).unique().one_or_none()

    def by_ids(self, order_ids: list[int]) -> Sequence[Order]:
        return self._session.scalars(
            select(Order).where(orders.c.id.in_(order_ids)).order_by(orders.c.id)
        ).all()

    def active_for_store(self, store_id: int) -> Sequence[Order]:
        return self._session.scalars(active_of_store(select(Order), store_id)).all()

    def handout_codes_in_use(self, store_id: int) -> set[str]:
        """The handout codes of the store's pickup orders not yet collected or cancelled."""
        query = select(orders.c.handout_code).where(
            orders.c.store_id == store_id,
            orders.c.status.in_(CODE_IN_USE),
            orders.c.handout_code.is_not(None),
        )
        return {code for code in self._session.scalars(query) if code is not None}

    def save_handout_code(self) -> None:
        """Write an order's new handout code now. A concurrent call that took the same code
        first (both read the codes in use before either wrote) makes it a ``WriteConflict``:
        the call runs again, sees that code taken and draws another."""
        try:
            with translating_errors():
                self._session.flush()
        except AlreadyExists as taken:
            raise WriteConflict(f"handout code taken concurrently: {taken}") from taken

    def add(self, order: Order) -> None:
        """Add and flush, so the order has its id (our order number is made from it)."""
        self._session.add(order)
        self._session.flush()

    def insert_new(self, new: NewOrder, number_prefix: str) -> int | None:
        """Write a new order and its positions with plain statements, no flush: ``new`` gets
        its id and our number (``number_prefix`` + the id in 8 digits), or None when an order
        with its SM id exists already (nothing was written then).

        The hook's hot path (issue 11): one INSERT ... RETURNING for the order, its number
        set in the same statement, the positions in one executemany, all from
        plain values (no mapped object is built). The order is not in the session; load it
        (``get``) to change it in this transaction.
        """
        connection = self._session.connection()
        row = _new_order_row(new)
        insert = (
            _INSERT_NUMBERED_PG
            if connection.dialect.name == "postgresql"
            else _INSERT_NUMBERED_SQLITE
        )
        order_id = connection.execute(insert, {**row, "prefix": number_prefix}).scalar()
        if order_id is None:
            return None
        new.id, new.number = int(order_id), _number(number_prefix, order_id)
        if new.lines:
            rows = [_new_position_row(new.id, *numbered) for numbered in new.numbered_lines()]
            connection.execute(order_positions.insert(), rows)
        return new.id


_HEADER_FIELDS = tuple(f.name for f in fields(SmOrderHeader))
_LINE_FIELDS = tuple(f.name for f in fields(SmOrderLine))
_ORDER_COLUMNS = tuple(
    c.name for c in orders.columns if c.name not in {"id", "number", "version", *_HEADER_FIELDS}
)


def _insert_numbered(insert: Any, drawn: Any, number: Any) -> Insert:
    """INSERT the order with the id ``drawn`` and the ``number`` made of it, unless its SM id
    exists already: the number goes into the same row, no UPDATE after the INSERT."""
    values = [bindparam(name, type_=orders.c[name].type) for name in _ROW_COLUMNS]
    # WHERE: SQLite cannot otherwise tell an upsert's ON CONFLICT from a join's ON.
    numbered = select(drawn.c.id, number, *values).where(true())
    statement: Insert = (
        insert(orders)
        .from_select(["id", "number", *_ROW_COLUMNS], numbered)
        .on_conflict_do_nothing(index_elements=[orders.c.sm_order_id])
        .returning(orders.c.id)
    )
    return statement


def _insert_numbered_postgresql() -> Insert:
    # The id is drawn from the sequence in the statement itself.
    new_id = select(func.nextval(func.pg_get_serial_sequence("orders", "id")).label("id"))
    drawn = new_id.cte("new_id")
    text_id = cast(drawn.c.id, String)
    zeros = func.repeat("0", func.greatest(0, 8 - func.length(text_id)))
    return _insert_numbered(postgresql.insert, drawn, _PREFIX + zeros + text_id)


def _insert_numbered_sqlite() -> Insert:
    # The id SQLite would give the row itself (INTEGER PRIMARY KEY without AUTOINCREMENT:
    # the largest plus one), or past the floor a restore set (numbering.py); writers are
    # serialized (BEGIN IMMEDIATE), so none takes it first.
    highest = func.max(func.coalesce(func.max(orders.c.id), 0), order_id_floor())
    new_id = select((highest + 1).label("id"))
    drawn = new_id.subquery("new_id")
    return _insert_numbered(sqlite.insert, drawn, _PREFIX + func.printf("%08d", drawn.c.id))


_PREFIX = bindparam("prefix", type_=String)
_ROW_COLUMNS = (*_ORDER_COLUMNS, *_HEADER_FIELDS, "version")
_INSERT_NUMBERED_PG = _insert_numbered_postgresql()
_INSERT_NUMBERED_SQLITE = _insert_numbered_sqlite()


def _number(prefix: str, order_id: int) -> str:
    return f"{prefix}{order_id:08d}"


#: What a new order holds beside what ``NewOrder`` says: the Order's defaults.
_NEW_ORDER_SAYS = tuple(name for name in _ORDER_COLUMNS if hasattr(NewOrder, name))
_NEW_ORDER_DEFAULTS = {
    **defaults_of(Order, *_NEW_ORDER_SAYS, "number", "header", "positions"),
    "version": 1,  # the mapper's version counter starts at 1
}
#: A new position's pick columns: not picked yet (a blank PickRecord).
_NEW_PICK = {
    column.name: getattr(PickRecord(), pick_field.name)
    for column, pick_field in zip(PICK_COLUMNS, fields(PickRecord), strict=True)
}


def _new_order_row(new: NewOrder) -> dict[str, Any]:
    """The new order's columns, as the mapping in kernel/database/tables.py writes them."""
    row = dict(_NEW_ORDER_DEFAULTS)
    row.update((name, getattr(new, name)) for name in _NEW_ORDER_SAYS)
    header = new.header
    row.update((name, getattr(header, name)) for name in _HEADER_FIELDS)
    return row


def _new_position_row(order_id: int, line_no: int, line: SmOrderLine) -> dict[str, Any]:
    row = {name: getattr(line, name) for name in _LINE_FIELDS}
    row.update(_NEW_PICK, order_id=order_id, line_no=line_no)
    return row
