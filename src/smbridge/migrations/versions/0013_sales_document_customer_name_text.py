"""Sales documents keep the customer's name as unbounded text, as orders do

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 17:40:00

0004 made sales_documents.customer_name VARCHAR(200) and 0007 widened the orders' free
texts (customer_name among them) to TEXT, but not this copy of it; tables.py declares it
Text. On PostgreSQL a name longer than 200 characters, which the order keeps, would fail
the sales-document job for that order. The drift test (compare_metadata after upgrade)
found it. As in 0007, SQLite never enforced VARCHAR lengths: nothing to do there. Widening
to TEXT does not rewrite the table, and old code keeps working.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "sales_documents", "customer_name", type_=sa.Text(), existing_type=sa.String(200)
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "sales_documents",
        "customer_name",
        type_=sa.String(200),
        existing_type=sa.Text(),
        postgresql_using="left(customer_name, 200)",
    )
