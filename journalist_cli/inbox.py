"""The air-gapped inbox: ciphertext envelopes exactly as they came, plus an index.

Plaintext never lands here: envelopes are decrypted in memory when read (or
straight to the destination by `save`). The index holds only what the server
already knew (ids, kinds, sizes, days, flags) and the workstation's own marks
(read, sent, exported). It is the commit point of an import: envelope files
that are not in the index are invisible and get replaced by the next import.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

import click

from journalist_cli.bundle_io import DirectorySink, copy_blobs, read_manifest
from journalist_cli.bundle_manifest import KIND_TRANSFER, BundleItem, KeyringEntry
from journalist_cli.errors import BadInputError, BundleError, JournalistError
from journalist_cli.server_deletions import ExportedDeletions
from journalist_cli.workstation import (
    Workstation,
    open_no_follow,
    overwrite_and_unlink,
    read_json,
    sync_to_disk,
    write_json,
)

INDEX_VERSION = 1
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class InboxItem:
    """An envelope in the inbox and the workstation's marks on it."""

    item: BundleItem
    read: bool = False
    outgoing: bool = False
    exported_day: str | None = None
    order: int = 0  # arrival order in this inbox: the server's order for what was fetched

    def to_json(self) -> dict[str, Any]:
        return {**self.item.to_json(), "read": self.read, "outgoing": self.outgoing,
                "exported_day": self.exported_day, "order": self.order}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> InboxItem:
        marks = ("read", "outgoing", "exported_day", "order")
        fields = {k: v for k, v in raw.items() if k not in marks}
        return cls(item=BundleItem(**fields), read=bool(raw.get("read")),
                   outgoing=bool(raw.get("outgoing")), exported_day=raw.get("exported_day"),
                   order=int(raw.get("order", 0)))


@dataclass
class ImportResult:
    new: list[BundleItem]
    already_had: int


class Inbox:
    """The inbox under a workstation. Every method leaves the index consistent.

    Opening it takes an exclusive lock for as long as it is open, so two
    commands in two terminals cannot overwrite each other's changes to the
    index. Close it (or use it as a context manager) when done.
    """

    def __init__(self, workstation: Workstation, *, damaged_index_ok: bool = False) -> None:
        """Lock and load the inbox. Raises JournalistError if the index cannot be read,
        unless `damaged_index_ok` (for `check`): then `index_error` says why, the
        index's contents are not loaded, and `save` refuses to run."""
        self.workstation = workstation
        self.index_error: JournalistError | None = None
        self._lock = _take_lock(workstation)
        try:
            self._load(workstation)
        except JournalistError as exc:
            if not damaged_index_ok:
                self.close()
                raise
            self.index_error = exc
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the inbox lock (idempotent)."""
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _load(self, workstation: Workstation) -> None:
        self.root = workstation.inbox_dir
        self.envelopes_dir = self.root / "envelopes"
        self.index_path = self.root / "index.json"
        doc = read_json(self.index_path, {"version": INDEX_VERSION, "items": {}})
        if not isinstance(doc, dict):
            raise JournalistError(f"{self.index_path} is damaged")
        if doc.get("version") != INDEX_VERSION:
            raise JournalistError(f"{self.index_path} was written by another version")
        try:
            self.items: dict[str, InboxItem] = {
                key: InboxItem.from_json(value) for key, value in doc["items"].items()}
            self.keyring = tuple(KeyringEntry(**e) for e in doc.get("keyring", []))
        except (TypeError, KeyError, AttributeError, ValueError):
            raise JournalistError(f"{self.index_path} is damaged") from None
        self.replies_on_server: dict[str, list[str]] = doc.get("replies_on_server", {})
        self.server_day: str | None = doc.get("server_day")
        self.cursor: int | None = doc.get("cursor")
        self.pending_deletions: list[str] = doc.get("pending_deletions", [])
        self.pending_reporter_deletions: list[str] = doc.get("pending_reporter_deletions", [])
        self.exported_deletions = ExportedDeletions.from_index(doc)
        # Replies known to have reached the server (listed by it at some fetch).
        self.seen_on_server: set[str] = set(doc.get("seen_on_server", []))

    def save(self) -> None:
        """Write the index atomically (refused when it could not be read: see __init__)."""
        if self.index_error is not None:
            raise self.index_error
        self._prepare_dirs()
        write_json(self.index_path, compact=True, value={
            "version": INDEX_VERSION, "cursor": self.cursor, "server_day": self.server_day,
            "items": {key: value.to_json() for key, value in self.items.items()},
            "keyring": [{"name": e.name, "public_key": e.public_key} for e in self.keyring],
            "replies_on_server": self.replies_on_server,
            "pending_deletions": self.pending_deletions,
            "pending_reporter_deletions": self.pending_reporter_deletions,
            **self.exported_deletions.to_index(),
            "seen_on_server": sorted(self.seen_on_server)})

    def _prepare_dirs(self) -> None:
        self.workstation.private_dir(self.root)
        self.workstation.private_dir(self.envelopes_dir)

    def leftovers(self) -> list[Path]:
        """What interrupted commands left beside the index: import staging dirs, reply
        temp files, index temp files. None is in use while this inbox holds the lock."""
        patterns = (f"{STAGING_PREFIX}*", ".reply-*", f".{self.index_path.name}.*")
        return sorted(path for pattern in patterns for path in self.root.glob(pattern))

    def get(self, item_id: str) -> InboxItem:
        """The item with `item_id` (a unique prefix of at least 4 characters works too)."""
        if item_id in self.items:
            return self.items[item_id]
        matches = [key for key in self.items if len(item_id) >= 4 and key.startswith(item_id)]
        if len(matches) == 1:
            return self.items[matches[0]]
        raise BadInputError(f"no envelope {item_id!r} in the inbox" if not matches
                            else f"{item_id!r} matches several envelopes",
                            hint="`journalist list` shows the ids")

    def open_envelope(self, item_id: str) -> BinaryIO:
        """Open an envelope's ciphertext for reading (no link followed)."""
        try:
            fd = open_no_follow(self.envelopes_dir / item_id)
        except FileNotFoundError:
            raise JournalistError(f"envelope {item_id} is in the index but its file is "
                                  "missing", hint="import the bundle again") from None
        return os.fdopen(fd, "rb")

    def mark(self, item_id: str, **changes: Any) -> None:
        self.items[item_id] = replace(self.items[item_id], **changes)

    def thread(self, reporter_id: str) -> list[InboxItem]:
        return [i for i in self.items.values() if i.item.reporter_id == reporter_id]

    def _next_order(self) -> int:
        return max((i.order for i in self.items.values()), default=0) + 1

    def add_local(self, item: InboxItem, src: Path) -> None:
        """Move the envelope file `src` (already in the inbox dir) in and index it."""
        self._prepare_dirs()
        os.replace(src, self.envelopes_dir / item.item.id)
        self.items[item.item.id] = replace(item, order=self._next_order())
        self.save()

    def resolve_reporter(self, reference: str) -> str:
        """The reporter id `reference` (a conversation or message id, or a 4+ prefix) names.
        Raises BadInputError if none, or if it could name two conversations: the server
        chooses ids, and a guess could send a reply or a deletion to the wrong reporter."""
        matches = {i.item.reporter_id for i in self.items.values() if len(reference) >= 4
                   and (i.item.reporter_id.startswith(reference)
                        or i.item.id.startswith(reference))}
        if len(matches) == 1:
            return matches.pop()
        if not matches:
            raise BadInputError(f"no conversation or message {reference!r} in the inbox",
                                hint="`journalist list` shows the ids (4 characters at least)")
        raise BadInputError(f"{reference!r} is ambiguous: it matches {len(matches)} "
                            "conversations (by conversation id or message id)",
                            hint="type more characters of the id; `journalist list` shows them")

    def delete(self, item_id: str) -> list[str]:
        """Remove an envelope (and the attachments under it); return the ids removed."""
        return self._delete([item_id] + [k for k, v in self.items.items()
                                         if v.item.parent_id == item_id])

    def delete_thread(self, reporter_id: str) -> list[str]:
        """Remove every envelope of one conversation; return the ids removed."""
        return self._delete([k for k, v in self.items.items()
                             if v.item.reporter_id == reporter_id])

    def _delete(self, doomed: list[str]) -> list[str]:
        for key in doomed:
            self.items.pop(key, None)
        self.save()
        for key in doomed:
            overwrite_and_unlink(self.envelopes_dir / key)
        return doomed

    def import_bundle(self, src: BinaryIO, progress: Callable[[int], None] | None = None,
                      on_manifest: Callable[[int], None] | None = None) -> ImportResult:
        """Validate and import a transfer bundle, all or nothing.

        Blobs go to a private staging directory, each is checked against its
        SHA-256, and only when the whole bundle verified are they moved in,
        flushed to disk in one pass, and the index rewritten. Raises
        BundleError (nothing written) on any flaw. A crash at any point leaves
        the inbox as it was (moved files are invisible until the index names
        them) or fully imported: the index is written only after every file
        it names is on disk.
        """
        manifest = read_manifest(src, KIND_TRANSFER)
        for bundle_item in manifest.items:
            known = self.items.get(bundle_item.id)
            if known is not None and known.item.sha256 != bundle_item.sha256:
                raise BundleError(f"envelope {bundle_item.id} is already in the inbox with "
                                  "different contents: the bundle may be forged")
        if on_manifest is not None:
            on_manifest(manifest.total_size)
        self._prepare_dirs()
        for stale in self.root.glob(f"{STAGING_PREFIX}*"):
            # Left by an import that was killed; we hold the lock, so none is in use.
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(dir=self.root, prefix=STAGING_PREFIX))
        try:
            with DirectorySink(staging, skip=lambda i: i.id in self.items) as sink:
                copy_blobs(src, manifest, sink, progress)
            new = [i for i in manifest.items if i.id not in self.items]
            for bundle_item in new:
                os.replace(staging / bundle_item.id, self.envelopes_dir / bundle_item.id)
            if new:
                sync_to_disk((self.envelopes_dir / i.id for i in new), self.envelopes_dir)
            first = self._next_order()
            for position, bundle_item in enumerate(new):
                self.items[bundle_item.id] = InboxItem(item=bundle_item, order=first + position)
            if manifest.cursor is not None and manifest.cursor >= (self.cursor or 0):
                # The newest view of the server wins; an older bundle imported late
                # adds its envelopes but does not roll the server's state back.
                self.exported_deletions.forget_done(self.replies_on_server,
                                                    manifest.replies_on_server)
                self.keyring = manifest.keyring
                self.replies_on_server = {k: list(v)
                                          for k, v in manifest.replies_on_server.items()}
                self.server_day = manifest.created_day
                self.cursor = manifest.cursor
            self.seen_on_server.update(i.id for i in manifest.items if i.kind == "reply")
            for ids in manifest.replies_on_server.values():
                self.seen_on_server.update(ids)
            self.save()
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return ImportResult(new=new, already_had=len(manifest.items) - len(new))


def _take_lock(workstation: Workstation) -> int | None:
    workstation.private_dir(workstation.home)
    fd = os.open(workstation.home / ".inbox.lock",
                 os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalistError("another journalist command is using this inbox",
                              hint="wait for it to finish, then run this again") from None
    return fd


def open_inbox(workstation: Workstation, *, damaged_index_ok: bool = False) -> Inbox:
    """The inbox, locked until the current click command ends (see Inbox for the flag)."""
    inbox = Inbox(workstation, damaged_index_ok=damaged_index_ok)
    click.get_current_context().call_on_close(inbox.close)
    return inbox


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()
