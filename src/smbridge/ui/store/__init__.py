"""The UI's store area."""
