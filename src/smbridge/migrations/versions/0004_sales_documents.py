"""sales documents and an orders status index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:42:33.023318
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smbridge.kernel.database.column_types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "sales_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("order_number", sa.String(length=32), nullable=False),
        sa.Column("sm_order_id", sa.String(length=64), nullable=False),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("customer_inn", sa.String(length=20), nullable=True),
        sa.Column("total", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False),
        sa.Column("discount", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False),
        sa.Column(
            "paid_amount", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "difference", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "exported_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "files_written_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_sales_documents_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_sales_documents_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_documents")),
        sa.UniqueConstraint("number", name=op.f("uq_sales_documents_number")),
        sa.UniqueConstraint("order_id", name=op.f("uq_sales_documents_order_id")),
    )
    with op.batch_alter_table("sales_documents", schema=None) as batch_op:
        batch_op.create_index("ix_sales_documents_exported_at", ["exported_at"], unique=False)
        batch_op.create_index(
            "ix_sales_documents_files_written_at", ["files_written_at"], unique=False
        )

    op.create_table(
        "sales_document_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("quantity", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False),
        sa.Column(
            "weight_grams", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column("price", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False),
        sa.Column(
            "discount_price", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False
        ),
        sa.Column("amount", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False),
        sa.Column("discount", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False),
        sa.Column("replaces_sku", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["sales_documents.id"],
            name=op.f("fk_sales_document_lines_document_id_sales_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_document_lines")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_status", ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status")

    op.drop_table("sales_document_lines")
    with op.batch_alter_table("sales_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_documents_files_written_at")
        batch_op.drop_index("ix_sales_documents_exported_at")

    op.drop_table("sales_documents")
