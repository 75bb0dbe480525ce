"""Networked: `fetch`, `push`, `status`. Ciphertext only; the identity is never loaded."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from journalist_cli.alerting import EmergencyAlert, NotifyCommandError, parse_notify_command
from journalist_cli.bundle_io import DirectorySink, copy_blobs, read_manifest, write_bundle
from journalist_cli.bundle_manifest import (
    KIND_REPLY,
    KIND_TRANSFER,
    MAX_ITEM_BYTES,
    MAX_ITEMS,
    BundleItem,
    KeyringEntry,
    Manifest,
)
from journalist_cli.errors import BadInputError, JournalistError, NetworkError
from journalist_cli.inbox import today
from journalist_cli.progress import byte_progress
from journalist_cli.workstation import Workstation, read_json, write_json

if TYPE_CHECKING:
    from journalist_cli.online_client import ApiClient

PAGE = 500


def server_options(function: Any) -> Any:
    for option in reversed((
        click.option("--server", envvar="JOURNALIST_SERVER", default="http://127.0.0.1:8081",
                     show_default=True, help="The responder API [env JOURNALIST_SERVER]."),
        click.option("--socks", envvar="JOURNALIST_SOCKS", metavar="HOST:PORT",
                     help="Go through Tor's SOCKS port, e.g. 127.0.0.1:9050."),
        click.option("--online-key-file", envvar="JOURNALIST_ONLINE_KEY_FILE",
                     type=click.Path(dir_okay=False, exists=True),
                     help="File holding DROP-ONLINE-SECRET-... [else env JOURNALIST_ONLINE_KEY]."),
    )):
        function = option(function)
    return function


def _client(server: str, socks: str | None, key_file: str | None) -> ApiClient:
    """A client whose connections are closed when the command ends.

    The HTTP stack is imported here, not at module level, so that the
    air-gapped install (no `requests`, no `PySocks`) runs every offline command.
    """
    try:
        from journalist_cli.online_client import ApiClient, load_online_key
    except ModuleNotFoundError as missing:
        raise JournalistError(
            f"this is an offline install: the online commands need {missing.name!r}",
            hint="run fetch/push/status on the networked workstation "
                 "(pip install 'drop[online]')") from None
    client = ApiClient(server, load_online_key(key_file), socks)
    click.get_current_context().call_on_close(client.close)
    return client


class OnlineState:
    """The networked workstation's memory: the cursor and whose replies to watch."""

    def __init__(self, workstation: Workstation) -> None:
        self.dir = workstation.private_dir(workstation.online_dir)
        self.path = self.dir / "state.json"
        doc = read_json(self.path, {})
        self.cursor: int = int(doc.get("cursor", 0))
        self.reply_reporters: set[str] = set(doc.get("reply_reporters", []))
        self.staging = workstation.private_dir(self.dir / "staging")

    def save(self) -> None:
        write_json(self.path, {"cursor": self.cursor,
                               "reply_reporters": sorted(self.reply_reporters)})


def _list_new(client: ApiClient, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    while len(items) < limit:
        page = client.get_json("/api/v1/items", {"after": after,
                                                 "limit": min(PAGE, limit - len(items))})
        items.extend(page["items"])
        after = int(page["next_after"])
        if not page["more"]:
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
    client = _client(server, socks, online_key_file)
    state = OnlineState(workstation)
    for leftover in state.staging.glob("*.part"):
        leftover.unlink()  # a download cut off by a crash; started again below
    listed, cursor = _list_new(client, state.cursor, limit)
    console = Console(stderr=True)
    items: list[BundleItem] = []
    with byte_progress(console) as progress:
        task = progress.add_task("downloading", total=sum(int(i["size"]) for i in listed))
        for raw in listed:
            item = _download(client, state.staging, raw, lambda n: progress.advance(task, n))
            if item is not None:
                items.append(item)
                if item.kind == "reply":
                    state.reply_reporters.add(item.reporter_id)
    keyring = client.get_json("/api/v1/keyring")["keyring"]
    on_server = {}
    for reporter_id in sorted(state.reply_reporters):
        response = client.request("GET", f"/api/v1/replies/{reporter_id}")
        if response.status_code == 404:
            state.reply_reporters.discard(reporter_id)
            continue
        on_server[reporter_id] = tuple(r["id"] for r in client.json_of(response)["replies"])
    manifest = Manifest(kind=KIND_TRANSFER, created_day=today(), items=tuple(items),
                        cursor=cursor, keyring=tuple(KeyringEntry(e["name"], e["public_key"])
                                                     for e in keyring),
                        replies_on_server=on_server)
    _write_new_file(target, manifest, lambda i: (state.staging / i.id).open("rb"))
    state.cursor = cursor
    state.save()
    for item in items:
        (state.staging / item.id).unlink(missing_ok=True)
    emergencies = sum(1 for i in items if i.emergency)
    click.echo(f"wrote {target}: {len(items)} envelopes"
               + (f", {emergencies} EMERGENCY" if emergencies else ""))


def _download(client: ApiClient, staging: Path, raw: dict[str, Any],
              progress: Any) -> BundleItem | None:
    try:
        item_id, size = str(raw["id"]), int(raw["size"])
    except (KeyError, TypeError, ValueError):
        raise NetworkError("the server listed an envelope without id or size") from None
    final = staging / item_id
    if not 0 <= size <= MAX_ITEM_BYTES:
        raise NetworkError(f"the server lists envelope {item_id[:32]!r} as {size} bytes, "
                           "more than a bundle may carry")
    if len(item_id) != 32 or not all(c in "0123456789abcdef" for c in item_id):
        raise JournalistError("the server listed a malformed envelope id")
    if final.exists() and final.stat().st_size == size:
        progress(size)
        digest = _sha256_file(final)
    else:
        with tempfile.NamedTemporaryFile(dir=staging, delete=False, suffix=".part") as dst:
            try:
                maybe = client.download(item_id, size, cast(BinaryIO, dst), progress)
            except BaseException:
                Path(dst.name).unlink(missing_ok=True)
                raise
        if maybe is None:
            Path(dst.name).unlink(missing_ok=True)
            return None
        digest = maybe
        os.replace(dst.name, final)
    try:
        return BundleItem(id=item_id, kind=raw["kind"], reporter_id=raw["reporter_id"],
                          size=size, sha256=digest, day=raw["day"], parent_id=raw["parent_id"],
                          emergency=raw["emergency"], reply_key=raw.get("reply_key"),
                          signature=raw.get("signature"), responder=raw.get("responder"))
    except KeyError as exc:
        raise NetworkError(f"the server listed an envelope without {exc}") from None


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def _write_new_file(target: Path, manifest: Manifest, open_blob: Any) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as dst:
            write_bundle(dst, manifest, open_blob)
            dst.flush()
            os.fsync(dst.fileno())
        os.link(temp, target)
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
    client = _client(server, socks, online_key_file)
    state = OnlineState(workstation)
    with tempfile.TemporaryDirectory(dir=state.dir) as staging, bundle.open("rb") as src:
        manifest = read_manifest(src, KIND_REPLY)
        with DirectorySink(Path(staging)) as sink:
            copy_blobs(src, manifest, sink)
        table = Table("what", "reporter", "result", title="push")
        failures = 0
        for item in manifest.items:
            status, answer = client.upload_reply(
                {"reporter_id": item.reporter_id, "id": item.id,
                 "signature": item.signature or "", "responder": item.responder or ""},
                (Path(staging) / item.id).read_bytes())
            if status == 201 or status == 409:
                state.reply_reporters.add(item.reporter_id)
                result = Text("accepted" if status == 201 else "already there", style="green")
            else:
                failures += 1
                result = Text(f"REJECTED: {answer.get('error', status)}", style="bold red")
            table.add_row(f"reply {item.id[:8]}", item.reporter_id[:8], result)
        for item_id in manifest.deletions:
            status, _ = client.post_json(f"/api/v1/items/{item_id}/delete")
            table.add_row(f"delete {item_id[:8]}", "", "deleted" if status == 200
                          else "already gone" if status == 404 else f"failed ({status})")
            failures += status not in (200, 404)
        for reporter_id in manifest.reporter_deletions:
            status, _ = client.post_json(f"/api/v1/reporters/{reporter_id}/delete")
            table.add_row(f"delete conversation {reporter_id[:8]}", reporter_id[:8],
                          "deleted" if status == 200
                          else "already gone" if status == 404 else f"failed ({status})")
            failures += status not in (200, 404)
    state.save()
    Console().print(table)
    if failures:
        total = len(manifest.items) + len(manifest.deletions) + len(manifest.reporter_deletions)
        raise JournalistError(f"{failures} of {total} could not be pushed",
                              hint="see the table above")


@click.command(epilog="""\b
Example:
  $ journalist status
  3 new messages since the last fetch
  !! 1 EMERGENCY: fetch and read now
  $ journalist status --watch 120      # check every 2 minutes; Ctrl-C to stop
  $ journalist status --watch 60 --notify-command 'notify-send drop'""")
@click.option("--watch", type=click.IntRange(30, 3600), default=None, metavar="SECONDS",
              help="Keep checking every SECONDS (30-3600) and ring the bell on emergencies.")
@click.option("--notify-command", envvar="JOURNALIST_NOTIFY_COMMAND", metavar="CMD",
              help="Run CMD on new emergencies; it gets only 'N new emergency reports' "
                   "(argument and stdin) [env JOURNALIST_NOTIFY_COMMAND].")
@server_options
@click.pass_obj
def status(workstation: Workstation, watch: int | None, notify_command: str | None,
           server: str, socks: str | None, online_key_file: str | None) -> None:
    """How many new messages (and emergencies) wait on the server since the last fetch."""
    try:
        alert = EmergencyAlert(Console(), parse_notify_command(notify_command))
    except NotifyCommandError as error:
        raise BadInputError(str(error), hint="quote it as you would in a shell") from None
    client = _client(server, socks, online_key_file)
    console = Console()
    last: tuple[int, int] | None = None
    while True:
        counts = client.get_json("/api/v1/counts", {"after": OnlineState(workstation).cursor})
        current = (int(counts["new"]), int(counts["emergency"]))
        if current != last:
            console.print(f"{current[0]} new messages since the last fetch")
            last = current
        alert.observe(current[1])
        if not watch:
            return
        try:
            time.sleep(watch)
        except KeyboardInterrupt:
            return


COMMANDS = (fetch, push, status)
