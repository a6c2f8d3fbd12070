"""Numbers never issued twice: after a restore, the next order's id jumps past anything the
lost database may have issued since the backup.

Our order number (``SM`` + the id) and the sales document's (``Р-`` + the order id) are both
made of ``orders.id``. A restored database only knows the ids up to its backup; the ones
given after it were acknowledged to SM and may be in the ERP. So the restore sets a floor:
the highest id known, plus a gap for what may have been issued since the backup (the rate of
orders before the backup times the time since, twice over, and at least the configured
minimum). SQLite's insert draws max(max(id), floor) + 1; PostgreSQL's sequence is moved.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.sql.elements import ColumnElement

from smbridge.kernel.database.tables import number_floors, orders

#: The numbered table whose ids make order and sales-document numbers.
ORDERS = "orders"
#: How far back the rate of orders before the backup is measured.
RATE_WINDOW = timedelta(days=7)
#: Times the estimate of what was issued since the backup, for safety.
SAFETY = 2


@dataclass(frozen=True)
class NumberJump:
    highest: int  # the highest id the restored database knew
    floor: int  # the next order gets floor + 1
    gap: int


def order_id_floor() -> ColumnElement[int]:
    """The floor of ``orders.id`` as a scalar subquery (0 when none is set)."""
    return (
        select(func.coalesce(func.max(number_floors.c.floor), 0))
        .where(number_floors.c.name == ORDERS)
        .scalar_subquery()
    )


def can_skip(connection: Connection) -> bool:
    """PostgreSQL can always move its sequence; SQLite needs the floors table (0021)."""
    if connection.dialect.name == "postgresql":
        return True
    return inspect(connection).has_table(number_floors.name)


def skip_numbers(connection: Connection, now: datetime, min_gap: int, reason: str) -> NumberJump:
    """Move the next order id past whatever may have been issued since the newest order."""
    highest = highest_issued(connection)
    gap = max(min_gap, _estimated_since(connection, now))
    set_floor(connection, highest + gap, now, reason)
    return NumberJump(highest, highest + gap, gap)


def set_floor(connection: Connection, floor: int, now: datetime, reason: str) -> None:
    """The next order gets an id above ``floor``."""
    if inspect(connection).has_table(number_floors.name):
        connection.execute(number_floors.delete().where(number_floors.c.name == ORDERS))
        connection.execute(
            number_floors.insert().values(name=ORDERS, floor=floor, set_at=now, reason=reason)
        )
    if connection.dialect.name == "postgresql":
        move_sequence(connection, floor)


def move_sequence(connection: Connection, floor: int) -> None:
    """PostgreSQL: the orders' sequence at ``floor`` (the next id is floor + 1)."""
    connection.execute(
        text("SELECT setval(pg_get_serial_sequence('orders', 'id'), :floor, true)"),
        {"floor": floor},
    )


def highest_issued(connection: Connection) -> int:
    """The highest order id this database may have issued: its orders', its floor's, and
    on PostgreSQL its sequence's (ids of rolled-back inserts are gone too)."""
    found = [connection.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one()]
    if inspect(connection).has_table(number_floors.name):
        found.append(connection.execute(select(order_id_floor())).scalar_one())
    if connection.dialect.name == "postgresql":
        found.append(
            connection.execute(
                text("SELECT pg_sequence_last_value(pg_get_serial_sequence('orders', 'id'))")
            ).scalar()
            or 0
        )
    return max(int(value) for value in found)


def _estimated_since(connection: Connection, now: datetime) -> int:
    """What the lost database may have issued: the orders' rate in the week before the
    newest one, over the time from it to now, twice."""
    newest: datetime | None = connection.execute(select(func.max(orders.c.received_at))).scalar()
    if newest is None:
        return 0
    recent: int = connection.execute(
        select(func.count()).where(orders.c.received_at > newest - RATE_WINDOW)
    ).scalar_one()
    per_second = recent / RATE_WINDOW.total_seconds()
    elapsed = max(0.0, (now - newest).total_seconds())
    return math.ceil(SAFETY * per_second * elapsed)
