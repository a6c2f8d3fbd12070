"""Data lifecycle: rows past their retention purged, customers' personal data removed from
finished orders (issue 15)."""
