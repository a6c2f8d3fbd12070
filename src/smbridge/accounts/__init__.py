"""Staff accounts of the web UI: sign-in with throttling, sessions that expire, the audit log."""
