"""Indexes for the monitoring rules: each reads one status by one time column

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 15:20:00
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_orders_status_received_at": ["status", "received_at"],
    "ix_orders_status_expected_assembly_at": ["status", "expected_assembly_at"],
    "ix_orders_status_delivery_from": ["status", "delivery_from"],
    "ix_orders_status_courier_arrived_at": ["status", "courier_arrived_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "orders", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="orders")
