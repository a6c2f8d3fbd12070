"""The ``smbridge`` subcommands, one module per area."""
