"""monitoring problems, snapshots and indexes for bounded checks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:44:28.757284
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import smbridge.kernel.database.column_types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "monitoring_problems",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "first_seen_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "last_reported_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column(
            "resolved_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_problems")),
    )
    with op.batch_alter_table("monitoring_problems", schema=None) as batch_op:
        batch_op.create_index("ix_monitoring_problems_resolved_at", ["resolved_at"], unique=False)
        batch_op.create_index(
            "uq_monitoring_problems_open",
            ["rule", "subject"],
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )

    op.create_table(
        "monitoring_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "taken_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "orders_by_status",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("late_orders", sa.Integer(), nullable=False),
        sa.Column("notification_backlog", sa.Integer(), nullable=False),
        sa.Column("telegram_backlog", sa.Integer(), nullable=False),
        sa.Column("open_problems", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_snapshots")),
    )
    with op.batch_alter_table("monitoring_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_monitoring_snapshots_taken_at", ["taken_at"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_status_delivered_at", ["status", "delivered_at"], unique=False
        )

    with op.batch_alter_table("sales_documents", schema=None) as batch_op:
        batch_op.create_index("ix_sales_documents_created_at", ["created_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("sales_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_documents_created_at")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status_delivered_at")

    with op.batch_alter_table("monitoring_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_snapshots_taken_at")

    op.drop_table("monitoring_snapshots")
    with op.batch_alter_table("monitoring_problems", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_monitoring_problems_open",
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )
        batch_op.drop_index("ix_monitoring_problems_resolved_at")

    op.drop_table("monitoring_problems")
