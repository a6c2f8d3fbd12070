"""The edges that touch the outside world: database, (later) SM and Telegram clients."""
