"""Air-gapped: `save ID --to DIR [--strip-metadata]`: attachments out to files, safely.

All or nothing: every attachment is decrypted and verified under a hidden name
before the first appears under its own. "metadata removed" is claimed only
when the content's type agrees with the name mat2 picks its cleaner from.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess  # nosec B404 - fixed argv (mat2 and a path we chose), never a shell
from dataclasses import dataclass
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

import keys
from journalist_cli.commands_identity import open_identity
from journalist_cli.content_type import SNIFF_BYTES, Verdict, check_type, extension
from journalist_cli.errors import BadInputError, CryptoError, JournalistError, as_journalist_error
from journalist_cli.inbox import Inbox, InboxItem, open_inbox
from journalist_cli.inbox_view import decrypt_message
from journalist_cli.offline_guard import offline
from journalist_cli.safe_text import escape_terminal, safe_file_name, unused_path
from journalist_cli.workstation import Workstation, overwrite_and_unlink
from keys.atomic_file import publish

METADATA_REMOVED = "metadata removed"


def _attachments(inbox: Inbox, entry: InboxItem,
                 identity: keys.ResponderIdentity) -> list[tuple[InboxItem, str, str]]:
    """(attachment envelope, name and media type the reporter gave) for a message or
    one attachment."""
    if entry.item.kind == "attachment":
        parent = inbox.items.get(entry.item.parent_id or "")
        name, media_type = f"attachment-{entry.item.id[:8]}", ""
        if parent is not None:
            message = decrypt_message(inbox, parent, identity)
            for ref in getattr(message, "attachments", ()):
                if ref.envelope_sha256 == entry.item.sha256:
                    name, media_type = ref.name, ref.media_type
        return [(entry, name, media_type)]
    message = decrypt_message(inbox, entry, identity)
    # Only attachments filed under this message: a report must not be able to
    # claim (and rename) an attachment envelope that arrived with another one.
    by_hash = {e.item.sha256: e for e in inbox.items.values()
               if e.item.kind == "attachment" and e.item.parent_id == entry.item.id}
    found = []
    for ref in getattr(message, "attachments", ()):
        if ref.envelope_sha256 in by_hash:
            found.append((by_hash[ref.envelope_sha256], ref.name, ref.media_type))
    return found


@dataclass
class _Staged:
    """An attachment decrypted (and verified) to a hidden file in DIR, not yet published."""

    attachment: InboxItem
    name: str            # the safe name it will be saved under
    media_type: str      # what the reporter's message says it is
    path: Path
    note: str = "kept"


def _stage(inbox: Inbox, attachment: InboxItem, name: str, directory: Path,
           identity: keys.ResponderIdentity) -> Path:
    """Decrypt one attachment to a hidden file in `directory`, named to keep its
    extension (mat2 picks its cleaner from it). Raises CryptoError when the
    envelope does not verify, JournalistError when it cannot be written; nothing
    is left behind then."""
    ext = extension(name)
    path = directory / f".journalist-save-{secrets.token_hex(8)}{'.' + ext if ext else ''}"
    try:
        with inbox.open_envelope(attachment.item.id) as src:
            keys.decrypt_to_path(src, path, identity)
    except keys.KeysError as exc:
        mapped = as_journalist_error(exc)
        raise CryptoError(f"attachment {name} ({attachment.item.id[:8]}) did not decrypt: "
                          f"{exc}. Nothing was saved.",
                          hint=mapped.hint if mapped is not None else None) from exc
    except OSError as exc:
        raise JournalistError(f"could not write {name} into {directory}: "
                              f"{exc.strerror or exc}. Nothing was saved.") from exc
    return path


def _strip_metadata(staged: _Staged) -> str:
    """Run mat2 on the staged file if its type allows; the note for the table."""
    with staged.path.open("rb") as handle:
        check = check_type(staged.name, staged.media_type, handle.read(SNIFF_BYTES))
    if check.verdict is Verdict.WRONG_NAME:
        # mat2 would clean it as the wrong type and still exit 0: do not run it.
        return f"NOT removed: {check.reason}"
    mat2 = shutil.which("mat2")
    if mat2 is None:
        raise JournalistError("mat2 disappeared while saving")
    result = subprocess.run([mat2, "--inplace", "--", str(staged.path)],  # noqa: S603  # nosec B603
                            capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        return "NOT removed: mat2 could not clean this type"
    if check.verdict is Verdict.UNVERIFIED:
        return f"mat2 ran, not verified: {check.reason}"
    return METADATA_REMOVED


def _publish_all(staged: list[_Staged], directory: Path) -> list[tuple[_Staged, Path]]:
    """Move every staged file to its final name (never overwriting). Raises
    JournalistError naming what was already saved if one cannot be moved."""
    saved: list[tuple[_Staged, Path]] = []
    for entry in staged:
        try:
            saved.append((entry, _publish_one(entry.path, directory, entry.name)))
        except OSError as exc:
            done = ", ".join(target.name for _, target in saved) or "nothing"
            raise JournalistError(
                f"could not save {entry.name}: {exc.strerror or exc}. Already saved in "
                f"{directory}: {done}; the others were not saved",
                hint="free some space or pick another --to, then save again") from exc
    return saved


def _publish_one(path: Path, directory: Path, name: str) -> Path:
    for _attempt in range(100):
        target = unused_path(directory, name)
        try:
            publish(path, target, overwrite=False)
        except FileExistsError:
            continue  # another program took that name meanwhile: take the next one
        return target
    raise FileExistsError(f"no free name for {name} in {directory}")


def _save_all(inbox: Inbox, attachments: list[tuple[InboxItem, str, str]], directory: Path,
              identity: keys.ResponderIdentity,
              strip_metadata: bool) -> list[tuple[_Staged, Path]]:
    """Save every attachment into `directory`, all or nothing: each one is decrypted,
    verified (and cleaned) under a hidden name before the first appears under its
    own. Returns (attachment, where it was saved). Raises CryptoError when one does
    not decrypt (nothing saved); JournalistError naming what was saved when
    publishing fails half-way. Hidden files are removed in every case."""
    staged: list[_Staged] = []
    try:
        for attachment, name, media_type in attachments:
            safe = safe_file_name(name, f"attachment-{attachment.item.id[:8]}")
            path = _stage(inbox, attachment, safe, directory, identity)
            staged.append(_Staged(attachment, safe, media_type, path))
        if strip_metadata:
            for one in staged:
                one.note = _strip_metadata(one)
        return _publish_all(staged, directory)
    finally:
        for one in staged:
            if os.path.lexists(one.path):
                overwrite_and_unlink(one.path)


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
              help="Remove metadata (EXIF, authors...) with mat2 before saving; exit 1 "
                   "if it could not be removed or verified for every file.")
@click.pass_obj
@offline
def save(workstation: Workstation, item_id: str, directory: Path, strip_metadata: bool) -> None:
    """Decrypt a message's attachments (or one attachment) into DIR.

    Names are made safe: no paths, no leading dots, no device names like CON,
    and an existing file is never overwritten (" (1)" is added instead).
    All or nothing: if one attachment fails to decrypt, none is saved.
    "metadata removed" means the content's type (from its first bytes), the
    name's extension and the media type agree, and mat2 cleaned it.
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
    saved = _save_all(inbox, attachments, directory, identity, strip_metadata)
    table = Table("saved as", "from", "metadata", title=f"saved to {directory}")
    for done, target in saved:
        table.add_row(Text(escape_terminal(target.name)), done.attachment.item.id[:8],
                      Text(escape_terminal(done.note, keep_newlines=False)))
    Console().print(table)
    unclean = sum(1 for done, _ in saved if done.note != METADATA_REMOVED)
    if strip_metadata and unclean:
        raise JournalistError(f"all files were saved, but the metadata of {unclean} of them "
                              "was not removed or could not be verified (see the table)",
                              hint="copy such a file under the extension of its real type "
                                   "and run `mat2` on the copy, or treat it as still "
                                   "carrying metadata")


COMMANDS = (save,)
