"""initial schema: stores, orders, positions, webhook journal, telegram outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-28 14:03:28.518481
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import smbridge.kernel.database.column_types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "stores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sm_store_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("telegram_chat_id", sa.String(length=64), nullable=True),
        sa.Column("assembly_lead_minutes", sa.Integer(), nullable=True),
        sa.Column("import_key", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stores")),
        sa.UniqueConstraint("sm_store_id", name=op.f("uq_stores_sm_store_id")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sm_order_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=True),
        sa.Column("sm_uuid", sa.String(length=64), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("sm_state", sa.String(length=64), nullable=True),
        sa.Column("payment_state", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("customer_name", sa.String(length=200), nullable=True),
        sa.Column("customer_phone", sa.String(length=40), nullable=True),
        sa.Column(
            "customer",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "delivery_from",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "delivery_to",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("is_planned", sa.Boolean(), nullable=True),
        sa.Column(
            "total_price", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "discount_total_price",
            smbridge.kernel.database.column_types.ExactDecimal(),
            nullable=True,
        ),
        sa.Column(
            "delivery_cost", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "payment_methods",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("shipment_method", sa.String(length=64), nullable=True),
        sa.Column("replacement_policy", sa.String(length=64), nullable=True),
        sa.Column(
            "complete_before",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "expected_assembly_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("picker_id", sa.Integer(), nullable=True),
        sa.Column(
            "received_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "taken_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "assembled_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "ready_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "handed_over_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "delivered_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "cancelled_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("cancel_reason", sa.String(length=200), nullable=True),
        sa.Column("cancelled_by", sa.String(length=16), nullable=True),
        sa.Column(
            "paid_amount", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "paid_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "courier_assigned_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "courier_arrived_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("changed_by_customer", sa.Boolean(), nullable=False),
        sa.Column(
            "changed_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "updated_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_orders_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
        sa.UniqueConstraint("sm_order_id", name=op.f("uq_orders_sm_order_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_store_status", ["store_id", "status"], unique=False)

    op.create_table(
        "order_positions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column(
            "original_quantity",
            smbridge.kernel.database.column_types.ExactDecimal(),
            nullable=False,
        ),
        sa.Column("quantity", smbridge.kernel.database.column_types.ExactDecimal(), nullable=False),
        sa.Column(
            "picked_quantity", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "weight_grams", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "picked_weight_grams",
            smbridge.kernel.database.column_types.ExactDecimal(),
            nullable=True,
        ),
        sa.Column("price", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True),
        sa.Column(
            "discount_price", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "total_price", smbridge.kernel.database.column_types.ExactDecimal(), nullable=True
        ),
        sa.Column(
            "total_discount_price",
            smbridge.kernel.database.column_types.ExactDecimal(),
            nullable=True,
        ),
        sa.Column("replaced_by_sku", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "marking_codes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_positions_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_positions")),
        sa.UniqueConstraint(
            "order_id", "line_no", name=op.f("uq_order_positions_order_id_line_no")
        ),
    )
    op.create_table(
        "telegram_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "not_before",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "sent_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("telegram_message_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_telegram_outbox_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_telegram_outbox_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_outbox")),
    )
    with op.batch_alter_table("telegram_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_telegram_outbox_status_id", ["status", "id"], unique=False)

    op.create_table(
        "webhook_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("sm_order_id", sa.String(length=64), nullable=True),
        sa.Column(
            "received_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "last_received_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "headers",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "applied_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("reply_status", sa.Integer(), nullable=False),
        sa.Column(
            "reply_body",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_webhook_journal_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_journal")),
        sa.UniqueConstraint("event_key", name=op.f("uq_webhook_journal_event_key")),
    )
    with op.batch_alter_table("webhook_journal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webhook_journal_order_status", ["sm_order_id", "status"], unique=False
        )
        batch_op.create_index("ix_webhook_journal_status", ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("webhook_journal", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_journal_status")
        batch_op.drop_index("ix_webhook_journal_order_status")

    op.drop_table("webhook_journal")
    with op.batch_alter_table("telegram_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_outbox_status_id")

    op.drop_table("telegram_outbox")
    op.drop_table("order_positions")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_store_status")

    op.drop_table("orders")
    op.drop_table("stores")
