"""`dropbox purge`, `dropbox backup`, `dropbox restore`: retention and encrypted backups.

`purge` is what `deploy/systemd/dropbox-purge.timer` runs every night. The
backup file is ciphertext sealed to every responder in the keyring; restoring
it needs one responder's identity file (see `dropbox.backup`).
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from dropbox import retention
from dropbox.backup import BackupError, BackupSummary, write_backup
from dropbox.config import Config, ConfigError
from dropbox.restore import restore_backup


def _config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _print_summary(summary: BackupSummary) -> None:
    click.echo(f"{summary.reporters} reporters, {summary.envelopes} envelopes; keyring:")
    for line in summary.keyring:
        click.echo(f"  {line}")


@click.command(epilog="""\b
Example (DROPBOX_RETENTION_DAYS=90, DROPBOX_REPORTER_INACTIVE_DAYS=180):
  $ dropbox purge
  purged 12 envelopes, 1 reporters, 40 nonces, 0 orphan files, 0 temp files,
  write-ahead log truncated""")
def purge() -> None:
    """Delete what the retention policy expires.

    Rows are deleted, files overwritten with zeros and unlinked, SQLite vacuumed.
    """
    config = _config()
    try:
        result = retention.purge(config)
    except retention.RetentionError as error:
        raise click.ClickException(str(error)) from None
    except (OSError, SQLAlchemyError) as error:
        raise click.ClickException(f"the purge stopped: {type(error).__name__}: {error}. "
                                   "Run it again; what was not finished is picked up") from None
    click.echo(result.summary())


@click.command(epilog="""\b
Example:
  $ dropbox backup --to /srv/backups/drop-2026-11-24.backup
  backup written: 3 reporters, 17 envelopes; keyring:
    sam  3F2A 9C1E 0B4D 77A0 12EF""")
@click.option("--to", "destination", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="The backup file to create (it must not exist).")
def backup(destination: Path) -> None:
    """Write one encrypted backup of the database, keys and envelopes."""
    try:
        summary = write_backup(_config(), destination)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except (OSError, SQLAlchemyError) as error:
        raise click.ClickException(f"no backup was written: {type(error).__name__}: {error}"
                                   ) from None
    click.echo("backup written: ", nl=False)
    _print_summary(summary)


@click.command(epilog="""\b
Example (on a machine the responders trust; passphrase prompted,
or JOURNALIST_PASSPHRASE):
  $ DROPBOX_INSTANCE=/srv/drop/instance dropbox restore \\
      --from drop-2026-11-24.backup --identity /media/usb/identity.key
  restored: 3 reporters, 17 envelopes; keyring:
    sam  3F2A 9C1E 0B4D 77A0 12EF   <- check these fingerprints""")
@click.option("--from", "source", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The backup file written by `dropbox backup`.")
@click.option("--identity", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="A responder's identity file (from `journalist keygen`).")
def restore(source: Path, identity: Path) -> None:
    """Restore a backup into an empty instance directory and database."""
    try:
        summary = restore_backup(_config(), source, identity)
    except BackupError as error:
        raise click.ClickException(f"nothing was restored: {error}") from None
    except OSError as error:
        raise click.ClickException(f"the restore stopped: {error}") from None
    click.echo("restored: ", nl=False)
    _print_summary(summary)
    click.echo("Check that every fingerprint above is a responder you know: a backup is "
               "not signed, so a forged one could add a key.")
