"""The UI's reports area."""
