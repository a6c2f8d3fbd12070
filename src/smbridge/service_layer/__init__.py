"""Use cases run inside a unit of work: the one place where orders change."""
