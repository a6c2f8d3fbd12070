"""Orders may wait for their store: orders.store_id nullable, SM's store reference kept

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 10:00:00

SM's rule is to answer order.created with "created" and a number, then cancel what cannot
be fulfilled. An order for a store not mapped yet is therefore kept without a store, with
the storeID and storeImportKey SM sent, until an admin maps the store or the wait runs out.
The references are text: SM promises no length, and one that fits no store simply never
matches. Old code never reads the new columns and never sees a store-less order by store.

SQLite cannot drop NOT NULL in place, so the orders table is rebuilt (batch mode); the
migration runner turns foreign keys off around it (adapters/migrations.py), or dropping
the old table would cascade to the order's positions. PostgreSQL alters in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("sm_store_id", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sm_store_import_key", sa.Text(), nullable=True))
        batch.alter_column("store_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("store_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("sm_store_import_key")
        batch.drop_column("sm_store_id")
