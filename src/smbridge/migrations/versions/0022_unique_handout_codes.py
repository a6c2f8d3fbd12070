"""Unique handout codes: the database keeps a code to one open pickup order of a store

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 02:30:00

Expand only: one partial unique index. Two pickers finishing pickup orders of one store at
once each read the codes in use before either wrote; without the index both could draw the
same code (one chance in a million a pair). Old code writes codes as before and meets the
index only in that race, where it now fails the call instead of writing a duplicate.
Should the table already hold a duplicate among open orders, the upgrade stops and says
which store: a code a customer holds is not ours to change silently.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_OPEN = "handout_code IS NOT NULL AND status IN ('assembled', 'ready_for_delivery')"
_DUPLICATES = sa.text(
    "SELECT store_id, COUNT(*) - COUNT(DISTINCT handout_code) FROM orders"
    " WHERE handout_code IS NOT NULL AND status IN ('assembled', 'ready_for_delivery')"
    " GROUP BY store_id HAVING COUNT(*) > COUNT(DISTINCT handout_code)"
)


def upgrade() -> None:
    duplicates = op.get_bind().execute(_DUPLICATES).all()
    if duplicates:
        stores = ", ".join(f"store {store}: {extra}" for store, extra in duplicates)
        raise RuntimeError(
            f"open pickup orders share a handout code ({stores}); hand them over or cancel "
            "them, then upgrade again"
        )
    op.create_index(
        "uq_orders_store_handout_code",
        "orders",
        ["store_id", "handout_code"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )


def downgrade() -> None:
    op.drop_index("uq_orders_store_handout_code", table_name="orders")
