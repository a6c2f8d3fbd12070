"""Purge old idempotency keys through an index on created_at

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 17:30:00

The housekeeping job deletes the keys older than the retention by ``created_at``; without
an index each run read the whole table (every assembly call of the retention period) to
find the few that aged out since the last run. Only the unique (store_id, request_id)
index existed. Old code is unaffected. Building the index holds writes to this one table
while it runs (a plain CREATE INDEX inside the migration's transaction); the table holds
only the retention period's calls, so that is short.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", table_name="idempotency_keys")
