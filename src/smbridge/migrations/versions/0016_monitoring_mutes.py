"""Monitoring rules muted for a period, and thresholds set by operations

Revision ID: 0016
Revises: 0013
Create Date: 2026-11-30 21:05:00

Expand only: two new tables. Old code never reads them (its monitoring ignores mutes and
uses the thresholds of its settings).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smbridge.kernel.database.column_types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column(
            "muted_from",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "muted_until",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_mutes")),
    )
    op.create_index(
        "ix_monitoring_mutes_muted_until", "monitoring_mutes", ["muted_until"], unique=False
    )
    op.create_table(
        "monitoring_thresholds",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(32), nullable=False),
        sa.Column(
            "updated_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitoring_thresholds")),
    )


def downgrade() -> None:
    op.drop_table("monitoring_thresholds")
    op.drop_index("ix_monitoring_mutes_muted_until", table_name="monitoring_mutes")
    op.drop_table("monitoring_mutes")
