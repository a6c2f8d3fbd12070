"""assembly: pickers, shifts, api tokens, idempotency keys, SM notification outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 14:17:45.034066
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import smbridge.kernel.database.column_types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "revoked_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_api_tokens_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_api_tokens_token_sha256")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_idempotency_keys_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "store_id", "request_id", name=op.f("uq_idempotency_keys_store_id_request_id")
        ),
    )
    op.create_table(
        "pickers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("telegram_chat_id", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_pickers_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pickers")),
    )
    op.create_table(
        "picker_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("picker_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column(
            "opened_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "closed_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["picker_id"], ["pickers.id"], name=op.f("fk_picker_shifts_picker_id_pickers")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_picker_shifts_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_picker_shifts")),
    )
    with op.batch_alter_table("picker_shifts", schema=None) as batch_op:
        batch_op.create_index(
            "uq_picker_shifts_open",
            ["picker_id"],
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )

    op.create_table(
        "sm_notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sm_order_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column(
            "lease_until",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "delivered_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_sm_notifications_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sm_notifications")),
    )
    with op.batch_alter_table("sm_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_sm_notifications_order_id", ["order_id", "id"], unique=False)
        batch_op.create_index(
            "ix_sm_notifications_state_next", ["state", "next_attempt_at"], unique=False
        )

    with op.batch_alter_table("order_positions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaces_line_no", sa.Integer(), nullable=True))

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bags", sa.Integer(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("bags")

    with op.batch_alter_table("order_positions", schema=None) as batch_op:
        batch_op.drop_column("replaces_line_no")

    with op.batch_alter_table("sm_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_sm_notifications_state_next")
        batch_op.drop_index("ix_sm_notifications_order_id")

    op.drop_table("sm_notifications")
    with op.batch_alter_table("picker_shifts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_picker_shifts_open",
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        )

    op.drop_table("picker_shifts")
    op.drop_table("pickers")
    op.drop_table("idempotency_keys")
    op.drop_table("api_tokens")
