"""Notifications to SM: the outbox written with each change, and the dispatcher draining it."""
