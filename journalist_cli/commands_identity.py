"""Air-gapped: `keygen`, `export-pubkey`, `export-online-key`, `team add|list|remove`."""

from __future__ import annotations

import os

import click
from rich.console import Console
from rich.table import Table

import keys
from journalist_cli.errors import BadInputError, JournalistError
from journalist_cli.offline_guard import offline
from journalist_cli.workstation import Workstation, read_json, write_atomically, write_json
from keys.identity_file import load_identity, save_identity

MIN_PASSPHRASE_CHARS = 12


def ask_passphrase(confirm: bool = False) -> str:
    """The passphrase from $JOURNALIST_PASSPHRASE (tests, scripts) or a hidden prompt."""
    from_env = os.environ.get("JOURNALIST_PASSPHRASE")
    if from_env is not None:
        return from_env
    passphrase: str = click.prompt("Passphrase", hide_input=True,
                                   confirmation_prompt=confirm, err=True)
    return passphrase


def open_identity(workstation: Workstation) -> keys.ResponderIdentity:
    """Load this workstation's identity, asking for its passphrase.

    Raises JournalistError when there is none, keys.PassphraseError when it won't open.
    """
    if not workstation.identity_path.exists():
        raise JournalistError(f"no identity in {workstation.home}",
                              hint="run `journalist keygen` first, or pass --home")
    return load_identity(workstation.identity_path, ask_passphrase())


@click.command(epilog="""\b
Example:
  $ journalist keygen
  Passphrase: ********
  Your public key (give it to the drop's operator):
  drop-pub-...
  Fingerprint: 3F2A 9C1E ...""")
@click.pass_obj
@offline
def keygen(workstation: Workstation) -> None:
    """Create your identity, protected by a passphrase (air-gapped workstation)."""
    workstation.private_dir(workstation.home)
    if workstation.identity_path.exists():
        raise BadInputError(f"{workstation.identity_path} already exists",
                            hint="an identity is never overwritten: move it away first")
    passphrase = ask_passphrase(confirm=True)
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise BadInputError(f"the passphrase must have at least {MIN_PASSPHRASE_CHARS} "
                            "characters", hint="several unrelated words make a good one")
    identity = keys.ResponderIdentity.generate()
    save_identity(identity, workstation.identity_path, passphrase)
    write_atomically(workstation.public_key_path, (str(identity.public) + "\n").encode())
    click.echo("Your public key (give it to the drop's operator for `dropbox keys add`):")
    click.echo(str(identity.public))
    click.echo(f"Fingerprint: {identity.public.fingerprint}")


@click.command("export-pubkey", epilog="""\b
Example:
  $ journalist export-pubkey
  drop-pub-...
  fingerprint: 3F2A 9C1E 0B4D 77A0 12EF""")
@click.pass_obj
@offline
def export_pubkey(workstation: Workstation) -> None:
    """Print your public key and its fingerprint (read them out to compare)."""
    identity = open_identity(workstation)
    click.echo(str(identity.public))
    click.echo(f"fingerprint: {identity.public.fingerprint}", err=True)


@click.command("export-online-key", epilog="""\b
Example (carry the file to the networked workstation, then delete it here):
  $ journalist export-online-key --days 30 > /media/usb/online-key
  (networked) $ export JOURNALIST_ONLINE_KEY_FILE=/media/usb/online-key""")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True,
              help="How long the online key works.")
@click.pass_obj
@offline
def export_online_key(workstation: Workstation, days: int) -> None:
    """Print a DROP-ONLINE-SECRET-... key for the networked workstation.

    It can only sign requests to the drop until it expires; it cannot decrypt
    anything. Treat it as a secret all the same.
    """
    identity = open_identity(workstation)
    online = keys.OnlineSigningKey.delegate(identity, days)
    click.echo(online.to_secret_string())
    click.echo(f"valid through {online.certificate.expiry.isoformat()} (UTC)", err=True)


def load_team(workstation: Workstation) -> list[dict[str, str]]:
    """The local team keyring: [{name, public_key}], each key parsed (KeysError if bad)."""
    entries = read_json(workstation.team_path, [])
    if not isinstance(entries, list):
        raise JournalistError(f"{workstation.team_path} is damaged")
    for entry in entries:
        keys.ResponderPublicKey.parse(entry["public_key"])
    return [dict(e) for e in entries]


@click.group(epilog="""\b
Example:
  $ journalist team add alice drop-pub-...
  $ journalist team list""")
def team() -> None:
    """The team's public keys your replies are also encrypted to.

    Kept on this workstation and changed only by you: a key the server
    offers is never trusted for this (`import` warns when they differ).
    """


@team.command("add", epilog="""\b
Example:
  $ journalist team add robin drop-pub-...
  added robin (5B1E 0C9A 7F33 2D10 AA41)""")
@click.argument("name")
@click.argument("public_key")
@click.pass_obj
@offline
def team_add(workstation: Workstation, name: str, public_key: str) -> None:
    """Add a colleague's public key (check its fingerprint with them first)."""
    key = keys.ResponderPublicKey.parse(public_key.strip())
    entries = load_team(workstation)
    if any(e["name"] == name or e["public_key"] == str(key) for e in entries):
        raise BadInputError(f"{name!r} or this key is already in the team")
    entries.append({"name": name, "public_key": str(key)})
    workstation.private_dir(workstation.home)
    write_json(workstation.team_path, entries)
    click.echo(f"added {name} ({key.fingerprint})")


@team.command("list", epilog="""\b
Example:
  $ journalist team list
  (a table: name, fingerprint)""")
@click.pass_obj
@offline
def team_list(workstation: Workstation) -> None:
    """Show the team keys with their fingerprints."""
    table = Table("name", "fingerprint", title="team keys")
    for entry in load_team(workstation):
        table.add_row(entry["name"], keys.ResponderPublicKey.parse(entry["public_key"])
                      .fingerprint)
    Console().print(table)


@team.command("remove", epilog="""\b
Example:
  $ journalist team remove robin
  removed robin""")
@click.argument("name")
@click.pass_obj
@offline
def team_remove(workstation: Workstation, name: str) -> None:
    """Remove a colleague by name."""
    entries = load_team(workstation)
    kept = [e for e in entries if e["name"] != name]
    if len(kept) == len(entries):
        raise BadInputError(f"no team member named {name!r}")
    write_json(workstation.team_path, kept)
    click.echo(f"removed {name}")


COMMANDS = (keygen, export_pubkey, export_online_key, team)
