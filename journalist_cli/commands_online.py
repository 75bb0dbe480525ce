"""Networked: `fetch`, `push` (`status` is in commands_status). Ciphertext only.

The identity is never loaded. Every answer from the server is checked
(`api_answers`) before use, and its words are escaped before they are printed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from journalist_cli.bundle_io import DirectorySink, copy_blobs, read_manifest, write_bundle
from journalist_cli.bundle_manifest import (
    KIND_REPLY,
    KIND_TRANSFER,
    MAX_ITEMS,
    BundleItem,
    KeyringEntry,
    Manifest,
)
from journalist_cli.commands_status import status
from journalist_cli.errors import BadInputError, JournalistError, NetworkError
from journalist_cli.inbox import today
from journalist_cli.online_context import OnlineState, open_client, server_options
from journalist_cli.progress import byte_progress
from journalist_cli.safe_text import escape_terminal
from journalist_cli.workstation import Workstation
from keys.atomic_file import publish

if TYPE_CHECKING:
    from journalist_cli.api_answers import ListedItem
    from journalist_cli.online_client import ApiClient

PAGE = 500


def _list_new(client: ApiClient, after: int, limit: int) -> tuple[list[ListedItem], int]:
    """Up to `limit` envelopes listed after cursor `after`, and the cursor they reach.

    Stops at an empty page or a cursor that does not move, whatever `more`
    says, so a server cannot keep fetch paging forever. Raises NetworkError
    when the cursor goes backwards or an envelope is listed twice.
    """
    items: list[ListedItem] = []
    seen: set[str] = set()
    while len(items) < limit:
        page = client.list_items(after, min(PAGE, limit - len(items)))
        if page.next_after < after:
            raise NetworkError(f"the server's cursor went backwards ({after} to "
                               f"{page.next_after})", hint="try again later; if it persists, "
                               "tell the server's operator")
        for listed in page.items:
            if listed.id in seen:
                raise NetworkError(f"the server listed envelope {listed.id} twice")
            seen.add(listed.id)
        items.extend(page.items)
        advanced, after = page.next_after > after, page.next_after
        if not page.more or not page.items or not advanced:
            break
    return items, after


@click.command(epilog="""\b
Example:
  $ export JOURNALIST_ONLINE_KEY_FILE=~/online-key
  $ journalist fetch --to /media/usb/in.drop --socks 127.0.0.1:9050
  wrote /media/usb/in.drop: 7 envelopes, 1 EMERGENCY""")
@click.option("--to", "target", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The transfer bundle to write (must not exist).")
@click.option("--limit", type=click.IntRange(1, MAX_ITEMS), default=MAX_ITEMS,
              help="At most this many envelopes in this bundle (the rest next time).")
@server_options
@click.pass_obj
def fetch(workstation: Workstation, target: Path, limit: int, server: str, socks: str | None,
          online_key_file: str | None) -> None:
    """Download everything new since the last fetch into a transfer bundle.

    Resumable: envelopes already downloaded are kept in a staging directory
    and skipped when you run it again. The cursor moves only once the bundle
    is written.
    """
    if target.exists():
        raise BadInputError(f"{target} already exists; not overwriting it")
    client = open_client(server, socks, online_key_file)
    state = OnlineState(workstation)
    for leftover in state.staging.glob("*.part"):
        leftover.unlink()  # a download cut off by a crash; started again below
    listed, cursor = _list_new(client, state.cursor, limit)
    console = Console(stderr=True)
    items: list[BundleItem] = []
    with byte_progress(console) as progress:
        task = progress.add_task("downloading", total=sum(i.size for i in listed))
        for entry in listed:
            item = _download(client, state.staging, entry, lambda n: progress.advance(task, n))
            if item is not None:
                items.append(item)
                if item.kind == "reply":
                    state.reply_reporters.add(item.reporter_id)
    keyring = tuple(KeyringEntry(name, key) for name, key in client.keyring())
    on_server = {}
    for reporter_id in sorted(state.reply_reporters):
        replies = client.replies_on_server(reporter_id)
        if replies is None:
            state.reply_reporters.discard(reporter_id)
        else:
            on_server[reporter_id] = replies
    manifest = Manifest(kind=KIND_TRANSFER, created_day=today(), items=tuple(items),
                        cursor=cursor, keyring=keyring, replies_on_server=on_server)
    _write_new_file(target, manifest, lambda i: (state.staging / i.id).open("rb"))
    state.cursor = cursor
    state.save()
    for item in items:
        (state.staging / item.id).unlink(missing_ok=True)
    emergencies = sum(1 for i in items if i.emergency)
    click.echo(f"wrote {target}: {len(items)} envelopes"
               + (f", {emergencies} EMERGENCY" if emergencies else ""))


def _download(client: ApiClient, staging: Path, listed: ListedItem,
              progress: Any) -> BundleItem | None:
    """Envelope `listed` in `staging` (downloaded unless a whole copy is there already);
    None when the server no longer has it."""
    final = staging / listed.id
    if final.exists() and final.stat().st_size == listed.size:
        progress(listed.size)
        return listed.in_bundle(_sha256_file(final))
    with tempfile.NamedTemporaryFile(dir=staging, delete=False, suffix=".part") as dst:
        try:
            digest = client.download(listed.id, listed.size, cast(BinaryIO, dst), progress)
        except BaseException:
            Path(dst.name).unlink(missing_ok=True)
            raise
    if digest is None:
        Path(dst.name).unlink(missing_ok=True)
        return None
    os.replace(dst.name, final)
    return listed.in_bundle(digest)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def _write_new_file(target: Path, manifest: Manifest, open_blob: Any) -> None:
    """Write the bundle to `target`, which must not exist, durably: file and directory
    are fsynced before this returns, so the cursor may move on afterwards.

    Works on FAT/exFAT USB sticks (no hard links, no permissions). Raises
    BadInputError if `target` appeared meanwhile; nothing partial is left.
    """
    # mkstemp creates the file 0600 itself: FAT would refuse a later chmod.
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as dst:
            write_bundle(dst, manifest, open_blob)
            dst.flush()
            os.fsync(dst.fileno())
        publish(Path(temp), target, overwrite=False)
    except FileExistsError:
        raise BadInputError(f"{target} already exists; not overwriting it") from None
    finally:
        Path(temp).unlink(missing_ok=True)


@click.command(epilog="""\b
Example:
  $ journalist push /media/usb/replies.drop
  (a table: each reply accepted or rejected, with the reason)""")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@server_options
@click.pass_obj
def push(workstation: Workstation, bundle: Path, server: str, socks: str | None,
         online_key_file: str | None) -> None:
    """Upload the replies (and deletion requests) of a reply bundle from `export`."""
    client = open_client(server, socks, online_key_file)
    state = OnlineState(workstation)
    table = Table("what", "reporter", "result", title="push")
    failures = 0
    try:
        with tempfile.TemporaryDirectory(dir=state.dir) as staging, bundle.open("rb") as src:
            manifest = read_manifest(src, KIND_REPLY)
            with DirectorySink(Path(staging)) as sink:
                copy_blobs(src, manifest, sink)
            for item in manifest.items:
                status, reason = client.upload_reply(
                    {"reporter_id": item.reporter_id, "id": item.id,
                     "signature": item.signature or "", "responder": item.responder or ""},
                    (Path(staging) / item.id).read_bytes())
                if status in (201, 409):
                    state.reply_reporters.add(item.reporter_id)
                    result = Text("accepted" if status == 201 else "already there",
                                  style="green")
                else:
                    failures += 1
                    result = _refused("REJECTED", status, reason)
                table.add_row(f"reply {item.id[:8]}", item.reporter_id[:8], result)
            for path, what, reporter in (
                    *((f"/api/v1/items/{i}/delete", f"delete {i[:8]}", "")
                      for i in manifest.deletions),
                    *((f"/api/v1/reporters/{r}/delete", f"delete conversation {r[:8]}", r[:8])
                      for r in manifest.reporter_deletions)):
                status, reason = client.delete(path)
                failures += status not in (200, 404)
                table.add_row(what, reporter, "deleted" if status == 200 else "already gone"
                              if status == 404 else _refused("failed", status, reason))
    finally:
        # Whatever stopped the push, say what was done and remember whose replies to watch.
        state.save()
        if table.row_count:
            Console().print(table)
    if failures:
        total = len(manifest.items) + len(manifest.deletions) + len(manifest.reporter_deletions)
        raise JournalistError(f"{failures} of {total} could not be pushed",
                              hint="see the table above")


def _refused(label: str, status: int, reason: str | None) -> Text:
    # The reason is the server's own words: never let them drive the terminal.
    shown = escape_terminal(reason or f"no reason given ({status})", keep_newlines=False)
    return Text(f"{label}: {shown}", style="bold red")


COMMANDS = (fetch, push, status)
