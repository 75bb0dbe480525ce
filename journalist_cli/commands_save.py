"""Air-gapped: `save ID --to DIR [--strip-metadata]`: attachments out to files, safely."""

from __future__ import annotations

import shutil
import subprocess  # nosec B404 - fixed argv (mat2 and a path we chose), never a shell
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

import keys
from journalist_cli.commands_identity import open_identity
from journalist_cli.errors import BadInputError, JournalistError
from journalist_cli.inbox import Inbox, InboxItem, open_inbox
from journalist_cli.inbox_view import decrypt_message
from journalist_cli.offline_guard import offline
from journalist_cli.safe_text import escape_terminal, safe_file_name, unused_path
from journalist_cli.workstation import Workstation


def _attachments(inbox: Inbox, entry: InboxItem,
                 identity: keys.ResponderIdentity) -> list[tuple[InboxItem, str]]:
    """(attachment envelope, name the reporter gave) for a message or one attachment."""
    if entry.item.kind == "attachment":
        parent = inbox.items.get(entry.item.parent_id or "")
        name = f"attachment-{entry.item.id[:8]}"
        if parent is not None:
            message = decrypt_message(inbox, parent, identity)
            for ref in getattr(message, "attachments", ()):
                if ref.envelope_sha256 == entry.item.sha256:
                    name = ref.name
        return [(entry, name)]
    message = decrypt_message(inbox, entry, identity)
    # Only attachments filed under this message: a report must not be able to
    # claim (and rename) an attachment envelope that arrived with another one.
    by_hash = {e.item.sha256: e for e in inbox.items.values()
               if e.item.kind == "attachment" and e.item.parent_id == entry.item.id}
    found = []
    for ref in getattr(message, "attachments", ()):
        if ref.envelope_sha256 in by_hash:
            found.append((by_hash[ref.envelope_sha256], ref.name))
    return found


def _strip_metadata(path: Path) -> str:
    mat2 = shutil.which("mat2")
    if mat2 is None:
        raise JournalistError("mat2 disappeared while saving")
    result = subprocess.run([mat2, "--inplace", "--", str(path)],  # noqa: S603  # nosec B603
                            capture_output=True, text=True, check=False, timeout=600)
    return "metadata removed" if result.returncode == 0 else "mat2 could not clean this type"


@click.command(epilog="""\b
Example:
  $ journalist save 3f2a9c1e --to ~/cases/3f2a --strip-metadata
  saved photo.jpg (metadata removed)
  saved notes (1).pdf (metadata removed)""")
@click.argument("item_id")
@click.option("--to", "directory", required=True,
              type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="An existing directory to save into.")
@click.option("--strip-metadata", is_flag=True,
              help="Remove metadata (EXIF, authors...) with mat2 after saving.")
@click.pass_obj
@offline
def save(workstation: Workstation, item_id: str, directory: Path, strip_metadata: bool) -> None:
    """Decrypt a message's attachments (or one attachment) into DIR.

    Names are made safe: no paths, no leading dots, no device names like CON,
    and an existing file is never overwritten (" (1)" is added instead).
    Open attachments on this air-gapped machine only: they may be hostile.
    """
    if strip_metadata and shutil.which("mat2") is None:
        raise JournalistError("--strip-metadata needs mat2, which is not installed",
                              hint="install it (Debian: apt install mat2) or save without "
                                   "--strip-metadata")
    inbox = open_inbox(workstation)
    entry = inbox.get(item_id)
    if entry.item.kind == "reply":
        raise BadInputError("replies have no attachments")
    identity = open_identity(workstation)
    attachments = _attachments(inbox, entry, identity)
    if not attachments:
        raise BadInputError("no attachments of this message are in the inbox")
    table = Table("saved as", "from", "metadata", title=f"saved to {directory}")
    for attachment, name in attachments:
        fallback = f"attachment-{attachment.item.id[:8]}"
        target = unused_path(directory, safe_file_name(name, fallback))
        with inbox.open_envelope(attachment.item.id) as src:
            keys.decrypt_to_path(src, target, identity)
        note = _strip_metadata(target) if strip_metadata else "kept"
        table.add_row(Text(escape_terminal(target.name)), attachment.item.id[:8], note)
    Console().print(table)


COMMANDS = (save,)
