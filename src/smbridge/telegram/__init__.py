"""Telegram: messages for store staff, queued in the database and sent by the scheduler."""
