"""scheduler jobs and the telegram archive

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 14:40:47.814363
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import smbridge.kernel.database.column_types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column(
            "lease_until",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_leases")),
    )
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column(
            "started_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column(
            "finished_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_job_started", ["job", "started_at"], unique=False)

    op.create_table(
        "telegram_archive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
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
            "archived_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "message_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_archive")),
    )
    with op.batch_alter_table("telegram_archive", schema=None) as batch_op:
        batch_op.create_index("ix_telegram_archive_archived_at", ["archived_at"], unique=False)

    with op.batch_alter_table("telegram_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("telegram_outbox", schema=None) as batch_op:
        batch_op.drop_column("parts_sent")

    with op.batch_alter_table("telegram_archive", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_archive_archived_at")

    op.drop_table("telegram_archive")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_job_started")

    op.drop_table("job_runs")
    op.drop_table("job_leases")
