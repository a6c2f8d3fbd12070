"""Monitoring: checks the quality of order processing every minute and alerts staff."""
