"""Orders from SM: the hook service that takes SM's webhooks and keeps the order store."""
