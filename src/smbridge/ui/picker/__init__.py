"""The UI's picker area."""
