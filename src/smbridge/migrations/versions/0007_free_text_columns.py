"""SM's free texts as unbounded text (states, names, reasons)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 15:10:00

PostgreSQL enforced VARCHAR lengths, so a long cancellation description or position state
failed to apply. SQLite never enforced them: nothing to do there (and a batch rebuild of
the orders table would cost time for nothing). Widening a VARCHAR to TEXT on PostgreSQL
does not rewrite the table, and old code keeps working with the new columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WIDENED = {
    "orders": {
        "sm_state": 64,
        "payment_state": 64,
        "customer_name": 200,
        "customer_phone": 40,
        "shipment_method": 64,
        "replacement_policy": 64,
        "cancel_reason": 200,
    },
    "order_positions": {"name": 500, "state": 32},
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in WIDENED.items():
        for column, length in columns.items():
            op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in WIDENED.items():
        for column, length in columns.items():
            op.alter_column(
                table,
                column,
                type_=sa.String(length),
                existing_type=sa.Text(),
                postgresql_using=f"left({column}, {length})",
            )
