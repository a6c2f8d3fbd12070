"""Number floors: a restore never reissues an order number

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 04:30:00

Expand only: one new table, written by `smbridge db restore` (and `db skip-numbers`).
Old code never reads it: an old release after a restore would draw numbers from the
highest order again, so restore with the release that took the backup or a newer one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import smbridge.kernel.database.column_types

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "number_floors",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("floor", sa.BigInteger(), nullable=False),
        sa.Column(
            "set_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_number_floors")),
    )


def downgrade() -> None:
    op.drop_table("number_floors")
