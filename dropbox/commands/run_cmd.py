"""`dropbox run` and `dropbox demo` (placeholder; owned by the onion work)."""

import click


@click.command()
def run() -> None:
    """Set up the instance, start tor and gunicorn, publish the onions."""
    raise click.ClickException("not built yet")


@click.command()
def demo() -> None:
    """The drop on a private Tor network on this machine."""
    raise click.ClickException("not built yet")
