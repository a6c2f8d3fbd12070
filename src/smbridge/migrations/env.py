"""Alembic environment: the URL and connection come from smbridge, not from alembic.ini."""

from __future__ import annotations

from alembic import context

from smbridge.kernel.database.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `smbridge db upgrade`")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
