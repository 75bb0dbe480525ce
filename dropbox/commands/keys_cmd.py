"""`dropbox keys add|list|remove`: the responders' keyring (placeholder; owned by the responder-API work)."""

import click


@click.group()
def keys() -> None:
    """Manage the responders' public keys that reports are encrypted to."""
