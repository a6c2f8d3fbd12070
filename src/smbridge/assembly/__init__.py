"""The assembly service: the API picking apps use to work orders through a store's day."""
