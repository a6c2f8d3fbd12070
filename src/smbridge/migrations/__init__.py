"""Versioned database migrations (Alembic), run by ``smbridge db upgrade``."""
