"""What the picker's app reads beside the assembly API: substitutes to offer.

There is no product catalogue: a substitute is looked for among the products of the store's
orders still in play (a few hundred at most, through ``ix_orders_store_status``), never
over the whole history of positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select

from smbridge.kernel.database.repository import SessionRepository
from smbridge.kernel.database.tables import order_positions, orders
from smbridge.orders.repository import active_of_store

MAX_RESULTS = 10


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal | None
    weighed: bool


class SubstituteSearch(SessionRepository):
    def products(self, store_id: int, text: str) -> list[Product]:
        """Products of the store's active orders whose SKU is ``text`` or whose name holds it."""
        needle = text.strip()
        if not needle:
            return []
        # SQLite's lower() and LIKE fold ASCII only: try the Cyrillic text as typed, in lower
        # case and capitalised too.
        variants = {needle, needle.lower(), needle.capitalize()}
        query = active_of_store(
            select(
                order_positions.c.sku,
                order_positions.c.name,
                order_positions.c.price,
                order_positions.c.weight_grams,
            ).join(orders, orders.c.id == order_positions.c.order_id),
            store_id,
        ).where(
            or_(
                order_positions.c.sku == needle,
                *(order_positions.c.name.like(_contains(v), escape="\\") for v in variants),
                func.lower(order_positions.c.name).like(_contains(needle.lower()), escape="\\"),
            )
        )
        found: dict[str, Product] = {}
        for sku, name, price, weight in self._session.execute(query.limit(200)):
            if sku not in found:
                found[sku] = Product(sku, name, price, weight is not None)
            if len(found) == MAX_RESULTS:
                break
        return list(found.values())


def _contains(text: str) -> str:
    """A LIKE pattern for ``text`` anywhere, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
