"""Subcommands of the `dropbox` CLI, one module per area."""
