"""The all-stores reports' daily roll-up

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 00:50:00

Expand only: one new table, written by the report roll-up job. Old code never reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import smbridge.kernel.database.column_types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(200), nullable=False),
        sa.Column(
            "figures",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "computed_at",
            smbridge.kernel.database.column_types.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_report_days")),
    )


def downgrade() -> None:
    op.drop_table("report_days")
