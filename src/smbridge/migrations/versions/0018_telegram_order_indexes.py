"""Index Telegram messages and audit entries by order, for the store workstation's timeline

Revision ID: 0018
Revises: 0014
Create Date: 2026-11-30 21:30:00

An order card (/ui/store/orders/<number>) shows the Telegram messages about the order from
the outbox and the archive; without an index on ``order_id`` each card read the whole
archive (every message ever sent). The audit log is read by its target ("order:<number>":
who did what to the order from the workstation) the same way. Old code is unaffected.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_telegram_outbox_order_id", "telegram_outbox", ["order_id"])
    op.create_index("ix_telegram_archive_order_id", "telegram_archive", ["order_id"])
    op.create_index("ix_audit_log_target", "audit_log", ["target"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_target", table_name="audit_log")
    op.drop_index("ix_telegram_archive_order_id", table_name="telegram_archive")
    op.drop_index("ix_telegram_outbox_order_id", table_name="telegram_outbox")
