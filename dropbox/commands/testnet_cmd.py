"""`dropbox testnet up|down|status` (placeholder; owned by the onion work)."""

import click


@click.group()
def testnet() -> None:
    """A private Tor network on 127.0.0.1 for tests and the demo."""
