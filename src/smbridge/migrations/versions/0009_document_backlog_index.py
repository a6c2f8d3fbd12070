"""Find undocumented deliveries through (status, sales_document_id, id)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 15:25:00

The partial index could not serve a query whose status is a bound parameter, and the
planner preferred (status, delivered_at), reading all delivered history; measured at
1,000,000 orders the sales-document job and the monitoring rule slowed down with history.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_orders_undocumented", table_name="orders")
    op.drop_index("ix_orders_status_delivered_at", table_name="orders")
    op.create_index("ix_orders_status_document", "orders", ["status", "sales_document_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_document", table_name="orders")
    op.create_index("ix_orders_status_delivered_at", "orders", ["status", "delivered_at"])
    op.create_index(
        "ix_orders_undocumented",
        "orders",
        ["id"],
        sqlite_where="status = 'delivered' AND sales_document_id IS NULL",
        postgresql_where="status = 'delivered' AND sales_document_id IS NULL",
    )
