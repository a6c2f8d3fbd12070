"""The scheduler: runs each periodic job at its interval, at most once at a time overall."""
