"""Link Telegram messages to their monitoring problem; incidents keep their count

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 16:00:00

Expand only: nullable columns and an index. Problems opened before this release have no
``announced_at``, so the sender drops their «Решено» messages rather than guess whether
anybody heard of them (after an outage that could be hundreds of them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smbridge.kernel.database.column_types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("telegram_outbox", sa.Column("problem_id", sa.Integer(), nullable=True))
    op.add_column("telegram_outbox", sa.Column("alert_event", sa.String(16), nullable=True))
    op.create_index("ix_telegram_outbox_problem_id", "telegram_outbox", ["problem_id"])
    op.add_column("telegram_archive", sa.Column("problem_id", sa.Integer(), nullable=True))
    op.add_column("monitoring_problems", sa.Column("affected", sa.Integer(), nullable=True))
    op.add_column(
        "monitoring_problems",
        sa.Column(
            "announced_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("monitoring_problems", schema=None) as batch_op:
        batch_op.drop_column("announced_at")
        batch_op.drop_column("affected")
    with op.batch_alter_table("telegram_archive", schema=None) as batch_op:
        batch_op.drop_column("problem_id")
    with op.batch_alter_table("telegram_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_telegram_outbox_problem_id")
        batch_op.drop_column("alert_event")
        batch_op.drop_column("problem_id")
