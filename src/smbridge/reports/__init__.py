"""Reports for operations and store managers (issue 12): SQL aggregates by period and store."""
