"""orders remember their sales document

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 14:49:55.464637
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sales_document_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_orders_undocumented",
            ["id"],
            unique=False,
            sqlite_where=sa.text("status = 'delivered' AND sales_document_id IS NULL"),
            postgresql_where=sa.text("status = 'delivered' AND sales_document_id IS NULL"),
        )
    # Orders documented before this revision: link them, or the job would try them again.
    op.execute(
        "UPDATE orders SET sales_document_id = (SELECT d.id FROM sales_documents d "
        "WHERE d.order_id = orders.id) WHERE status = 'delivered'"
    )


def downgrade() -> None:

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_orders_undocumented",
            sqlite_where=sa.text("status = 'delivered' AND sales_document_id IS NULL"),
            postgresql_where=sa.text("status = 'delivered' AND sales_document_id IS NULL"),
        )
        batch_op.drop_column("sales_document_id")
