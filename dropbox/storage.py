"""Ciphertext files on disk: `instance/envelopes/<id>`, written through `instance/tmp/`.

Only ciphertext is ever handed to this module. A file appears under
`envelopes/` complete or not at all: it is written in `tmp/`, fsynced, renamed
into place and the directory fsynced. Deletion overwrites the file with zeros
before unlinking it (on copy-on-write or flash storage this is best effort,
which is why nothing but ciphertext is stored here in the first place).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path
from typing import BinaryIO

_ID_RE = re.compile(r"\A[0-9a-f]{32}\Z")
_WIPE_BLOCK = 1 << 20


class StorageError(Exception):
    """An envelope file could not be written, found or removed."""


class UnknownEnvelope(StorageError):
    """No envelope file has this id (it never existed or was deleted)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EnvelopeStore:
    """The envelope files of one instance directory."""

    def __init__(self, instance_dir: Path) -> None:
        self.envelopes_dir = Path(instance_dir) / "envelopes"
        self.tmp_dir = Path(instance_dir) / "tmp"
        for directory in (self.envelopes_dir, self.tmp_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, envelope_id: str) -> Path:
        """Where envelope `envelope_id` lives; raises UnknownEnvelope for a malformed id."""
        if not _ID_RE.match(envelope_id):
            raise UnknownEnvelope("envelope ids are 32 lowercase hex digits")
        return self.envelopes_dir / envelope_id

    def new_temp(self) -> tuple[Path, BinaryIO]:
        """A fresh private (0600) temp file in `tmp/`, open for binary writing."""
        path = self.tmp_dir / secrets.token_hex(16)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return path, os.fdopen(fd, "wb")

    def commit(self, temp_path: Path, envelope_id: str) -> Path:
        """Make the finished temp file the envelope `envelope_id`, durably.

        The temp file must be closed by the caller. Raises StorageError if an
        envelope with that id exists, OSError if the disk refuses.
        """
        target = self.path(envelope_id)
        if target.exists():
            raise StorageError(f"envelope {envelope_id} already exists")
        fd = os.open(temp_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(temp_path, target)
        _fsync_dir(self.envelopes_dir)
        return target

    def open(self, envelope_id: str) -> BinaryIO:
        """The envelope's bytes, for reading; raises UnknownEnvelope if absent."""
        try:
            return open(self.path(envelope_id), "rb")
        except FileNotFoundError:
            raise UnknownEnvelope(f"no envelope {envelope_id}") from None

    def exists(self, envelope_id: str) -> bool:
        try:
            return self.path(envelope_id).is_file()
        except UnknownEnvelope:
            return False

    def secure_delete(self, envelope_id: str) -> None:
        """Overwrite the envelope with zeros, fsync, unlink. Absent files are not an error."""
        wipe_file(self.path(envelope_id))

    def discard_temp(self, temp_path: Path) -> None:
        """Remove an unfinished temp file (it holds ciphertext only, but no half-files stay)."""
        wipe_file(temp_path)

    def cleanup_temp(self, older_than_seconds: float = 0.0) -> int:
        """Remove leftover temp files not written to for `older_than_seconds`; returns the count.

        A gunicorn worker that (re)starts while others are mid-upload passes an
        age, so that only abandoned files go; `dropbox run`, before any worker
        exists, may pass 0.
        """
        removed = 0
        cutoff = time.time() - older_than_seconds
        for leftover in self.tmp_dir.iterdir():
            try:
                if leftover.is_file() and leftover.stat().st_mtime <= cutoff:
                    wipe_file(leftover)
                    removed += 1
            except FileNotFoundError:
                continue  # committed or discarded meanwhile by its own request
        return removed


def wipe_file(path: Path) -> None:
    """Overwrite `path` with zeros, fsync and unlink it; a missing file is fine."""
    try:
        fd = os.open(path, os.O_WRONLY)
    except FileNotFoundError:
        return
    try:
        remaining = os.fstat(fd).st_size
        zeros = bytes(_WIPE_BLOCK)
        while remaining > 0:
            step = min(remaining, _WIPE_BLOCK)
            os.write(fd, zeros[:step])
            remaining -= step
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    _fsync_dir(path.parent)
