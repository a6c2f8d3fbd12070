"""Self-pickup orders: the handout code and its guard against guessing (issue 14)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 04:30:00

Expand only: three new columns of orders, nullable or with a server default. Old code never
reads them; a pickup order it assembles just gets no code (as before this release).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smbridge.kernel.database.column_types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("handout_code", sa.String(16), nullable=True))
    op.add_column(
        "orders",
        sa.Column("handout_wrong_tries", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "orders",
        sa.Column(
            "handout_locked_until",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("handout_locked_until")
        batch_op.drop_column("handout_wrong_tries")
        batch_op.drop_column("handout_code")
