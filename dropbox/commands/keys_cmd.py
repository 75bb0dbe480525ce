"""`dropbox keys add|list|remove`: the responders' public keys (instance/keyring.json).

Every report is sealed to every key listed here, and every responder listed
can delegate an online key that the responder API accepts. Removing a
responder takes effect at once (the API reads the keyring on each request).
"""

from __future__ import annotations

import click

from dropbox.config import Config, ConfigError
from dropbox.keyring import Keyring, KeyringError


def _keyring() -> Keyring:
    try:
        return Keyring.load(Config.from_env().keyring_path)
    except (ConfigError, KeyringError) as error:
        raise click.ClickException(str(error)) from None


@click.group()
def keys() -> None:
    """Manage the responders' public keys that reports are encrypted to."""


@keys.command("add", epilog="""\b
Example (the responder ran `journalist keygen` and read you the key):
  $ dropbox keys add sam drop-pub-...
  added sam, fingerprint 3F2A 9C1E 0B4D 77A0 12EF: compare it with sam aloud""")
@click.argument("name")
@click.argument("public_key")
def add(name: str, public_key: str) -> None:
    """Add responder NAME with their drop-pub-... key."""
    try:
        entry = _keyring().add(name, public_key)
    except KeyringError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"added {entry.name}, fingerprint {entry.fingerprint}: "
               f"compare it with {entry.name} in person or by voice")


@keys.command("list", epilog="""\b
Example:
  $ dropbox keys list
  sam    3F2A 9C1E 0B4D 77A0 12EF  drop-pub-...""")
def list_keys() -> None:
    """List the responders: name, fingerprint, key."""
    entries = _keyring().entries
    if not entries:
        click.echo("the keyring is empty: no report can be encrypted until you `dropbox keys add`")
        return
    width = max(len(e.name) for e in entries)
    for entry in entries:
        click.echo(f"{entry.name:<{width}}  {entry.fingerprint}  {entry.key}")


@keys.command("remove", epilog="""\b
Example:
  $ dropbox keys remove sam
  $ dropbox keys remove "3F2A 9C1E 0B4D 77A0 12EF\"""")
@click.argument("name_or_fingerprint")
def remove(name_or_fingerprint: str) -> None:
    """Remove a responder by name or fingerprint (their online keys stop working at once)."""
    try:
        entry = _keyring().remove(name_or_fingerprint)
    except KeyringError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"removed {entry.name} ({entry.fingerprint})")
